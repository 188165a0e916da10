// The Job runs of one reconcile against an in-memory API: each finished run
// keeps its own payload (a backup needs its manifest, not any manifest), a
// Job that already exists is the same run, and the wake-up is the earliest
// of the next schedule time and the watchdog deadlines.
import { describe, expect, it } from "vitest";
import {
  activeRuns,
  collectFinished,
  openRunSession,
  sessionPayloads,
  startRun,
  wakeAfter,
  type Job,
  type JobObject,
  type JobRunClient,
  type PodObject,
} from "../../../../src/controllers/jobrun/index.ts";
import { KubeApiError } from "../../../../src/runtime/errors.ts";
import type { KindDescriptor, KubeClient } from "../../../../src/runtime/kube.ts";
import { createLogger } from "../../../../src/runtime/log.ts";

const owner = { namespace: "ns", name: "nightly", uid: "u-1", label: "pake.dev/owner" };
const ownerRef = { apiVersion: "v", kind: "K", name: "nightly", uid: "u-1", controller: true };

function finishedJob(name: string): JobObject {
  return {
    metadata: { name, namespace: "ns", ownerReferences: [ownerRef] },
    status: {
      startTime: "2026-01-01T00:00:00Z",
      conditions: [
        { type: "Complete", status: "True", lastTransitionTime: "2026-01-01T00:01:00Z" },
      ],
    },
  };
}

const podOf = (job: string, data: unknown): PodObject => ({
  metadata: { name: `${job}-pod`, labels: { "job-name": job } },
  status: {
    containerStatuses: [
      { name: "task", state: { terminated: { message: JSON.stringify({ data }) } } },
    ],
  },
});

/** An in-memory API: Jobs and Pods by name; create answers AlreadyExists for a known Job. */
function fakeApi(jobs: JobObject[], pods: PodObject[]): JobRunClient {
  const byName = new Map(jobs.map((j) => [j.metadata.name!, j]));
  const client = {
    list: (kind: KindDescriptor, opts: { labelSelector?: string }) => {
      if (kind.kind === "Job")
        return Promise.resolve({ metadata: {}, items: [...byName.values()] });
      const job = opts.labelSelector?.split("=")[1];
      return Promise.resolve({
        metadata: {},
        items: pods.filter((p) => p.metadata.labels?.["job-name"] === job),
      });
    },
    create: (_kind: KindDescriptor, obj: JobObject) => {
      if (byName.has(obj.metadata.name!))
        return Promise.reject(new KubeApiError(409, { reason: "AlreadyExists" }));
      const created = {
        ...obj,
        metadata: { ...obj.metadata, creationTimestamp: "2026-01-01T00:02:00Z" },
      };
      byName.set(obj.metadata.name!, created);
      return Promise.resolve(created);
    },
    get: (_kind: KindDescriptor, ref: { name: string }) => Promise.resolve(byName.get(ref.name)),
  };
  return { client: client as unknown as KubeClient, log: createLogger({ level: "silent" }) };
}

describe("Given two finished Jobs whose runners report different data", () => {
  it("When they are collected, then each record keeps its own payload", async () => {
    const api = fakeApi(
      [finishedJob("a"), finishedJob("b")],
      [podOf("a", { id: "backup-a" }), podOf("b", { id: "backup-b" })],
    );
    const session = await openRunSession<string>(api, owner, new Date("2026-01-01T00:05:00Z"));
    await collectFinished(
      session,
      new Set(),
      (_record, runner) => (runner?.data as { id: string }).id,
    );
    expect(session.finished.map((f) => [f.record.job, f.payload])).toEqual([
      ["a", "backup-a"],
      ["b", "backup-b"],
    ]);
    expect(sessionPayloads(session)).toEqual(["backup-a", "backup-b"]);
  });

  it("When one is already recorded, then only the other is read", async () => {
    const api = fakeApi([finishedJob("a"), finishedJob("b")], []);
    const session = await openRunSession<never>(api, owner, new Date("2026-01-01T00:05:00Z"));
    await collectFinished(session, new Set(["a"]));
    expect(session.records.map((r) => r.job)).toEqual(["b"]);
  });
});

describe("Given a run to start", () => {
  const manifest = (name: string): Job =>
    ({
      metadata: { name, namespace: "ns", annotations: { "pake.dev/trigger": "RunNow" } },
    }) as unknown as Job;

  it.each([
    ["does not exist yet", []],
    ["already exists (an earlier reconcile created it)", ["run-1"]],
  ])("When its Job %s, then the run is active once", async (_name, existing) => {
    const unfinished = existing.map((name) => ({
      ...manifest(name),
      metadata: { ...manifest(name).metadata, ownerReferences: [ownerRef] },
      status: { active: 1 },
    }));
    const session = await openRunSession<never>(
      fakeApi(unfinished, []),
      owner,
      new Date("2026-01-01T00:02:00Z"),
    );
    await startRun(session, manifest("run-1"), "RunNow");
    expect(activeRuns(session).map((r) => [r.job, r.trigger])).toEqual([["run-1", "RunNow"]]);
  });

  it("When the schedule's next time is later than the watchdog deadline, then it wakes at the deadline", async () => {
    const session = await openRunSession<never>(fakeApi([], []), owner, new Date(0));
    await startRun(session, manifest("run-2"), "RunNow");
    const created = Date.parse("2026-01-01T00:02:00Z");
    const wake = wakeAfter(session, {
      timeoutMs: 60_000,
      graceMs: 30_000,
      next: new Date(created + 10 * 60_000),
      nowMs: created,
    });
    expect(wake).toBe(90_000);
  });
});
