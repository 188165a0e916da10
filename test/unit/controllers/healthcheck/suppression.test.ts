import { describe, expect, it } from "vitest";
import { applyReport, type Status } from "../../../../src/controllers/healthcheck/status.ts";
import {
  affectedChecks,
  suppressingRun,
  type SuppressingTask,
} from "../../../../src/controllers/healthcheck/suppression.ts";
import type { HealthStatusFields } from "../../../../src/health/check.ts";

const T0 = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;
const at = (ms: number) => new Date(ms).toISOString();

const task = (
  name: string,
  over: {
    namespace?: string;
    names?: string[];
    timeout?: string;
    active?: { job: string; startTime: string }[];
  } = {},
): SuppressingTask => ({
  metadata: { namespace: over.namespace ?? "prod", name },
  spec: { suppressIncidentsFor: over.names ?? ["db"], timeout: over.timeout ?? "10m" },
  status: over.active ? { active: over.active } : {},
});

const running = (name: string, startMs: number, over: Parameters<typeof task>[1] = {}) =>
  task(name, { active: [{ job: `${name}-1`, startTime: at(startMs) }], ...over });

const db = { namespace: "prod", name: "db" };

describe("Given MaintenanceTasks in the informer's cache", () => {
  it.each([
    { when: "no task names the check", tasks: [running("upgrade", T0, { names: ["web"] })] },
    { when: "the naming task has no active run", tasks: [task("upgrade")] },
    {
      when: "the naming task is in another namespace",
      tasks: [running("upgrade", T0, { namespace: "staging" })],
    },
    {
      when: "the run started longer ago than the task's timeout",
      tasks: [running("upgrade", T0 - 10 * MIN)],
    },
  ])("When $when, then nothing suppresses the check", ({ tasks }) => {
    expect(suppressingRun(tasks, db, T0 + MIN)).toBeUndefined();
  });

  it("When a naming task's run is active, then it suppresses until its start plus timeout, named in the status text", () => {
    const run = suppressingRun([running("upgrade", T0)], db, T0 + MIN);
    expect(run).toEqual({
      task: "upgrade",
      job: "upgrade-1",
      start: T0,
      until: T0 + 10 * MIN,
      text: "MaintenanceTask upgrade (Job upgrade-1)",
    });
    expect(suppressingRun([running("upgrade", T0)], db, T0 + 10 * MIN)).toBeUndefined();
  });

  it("When two runs suppress the check, then the older one is named (stable while it lasts)", () => {
    const tasks = [running("vacuum", T0 + 2 * MIN, { timeout: "1h" }), running("upgrade", T0)];
    expect(suppressingRun(tasks, db, T0 + 3 * MIN)?.task).toBe("upgrade");
  });
});

describe("Given a BackupPolicy that names the check", () => {
  const policy = (status: SuppressingTask["status"]): SuppressingTask => ({
    kind: "BackupPolicy",
    metadata: { namespace: "prod", name: "nightly" },
    spec: { suppressIncidentsFor: ["db"], timeout: "1h", verify: { timeout: "20m" } },
    status,
  });

  it.each([
    {
      when: "a backup runs",
      status: { active: [{ job: "nightly-1", startTime: at(T0) }] },
      until: T0 + 60 * MIN,
      text: "BackupPolicy nightly (Job nightly-1)",
    },
    {
      when: "a verification runs",
      status: { verifying: [{ job: "nightly-verify-1", startTime: at(T0) }] },
      until: T0 + 20 * MIN,
      text: "BackupPolicy nightly (Job nightly-verify-1)",
    },
  ])(
    "When $when, then it suppresses until its start plus its own timeout",
    ({ status, until, text }) => {
      const run = suppressingRun([policy(status)], db, T0 + MIN);
      expect(run).toMatchObject({ until, text });
      expect(suppressingRun([policy(status)], db, until)).toBeUndefined();
    },
  );

  it("When its verification starts or ends, then the check is re-evaluated", () => {
    const idle = policy({});
    const verifying = policy({ verifying: [{ job: "nightly-verify-1", startTime: at(T0) }] });
    expect(affectedChecks(idle, verifying)).toEqual(["db"]);
    expect(affectedChecks(verifying, idle)).toEqual(["db"]);
  });
});

describe("Given a MaintenanceTask that changed", () => {
  const before = running("upgrade", T0, { names: ["db", "cache"] });

  it.each([
    { what: "a run started", old: task("upgrade", { names: ["db", "cache"] }), next: before },
    { what: "its runs ended", old: before, next: task("upgrade", { names: ["db", "cache"] }) },
    { what: "the task was created with a run", old: undefined, next: before },
    { what: "the task was deleted", old: before, next: undefined },
  ])("When $what, then the checks it names are re-evaluated", ({ old, next }) => {
    expect(affectedChecks(old, next).sort()).toEqual(["cache", "db"]);
  });

  it("When the list of checks changed, then old and new names are re-evaluated", () => {
    const next = running("upgrade", T0, { names: ["db", "web"] });
    expect(affectedChecks(before, next).sort()).toEqual(["cache", "db", "web"]);
  });

  it("When only its status conditions changed, then no check is re-evaluated", () => {
    expect(affectedChecks(before, structuredClone(before))).toEqual([]);
    expect(affectedChecks(undefined, task("idle"))).toEqual([]);
  });
});

describe("Given a probe report of a suppressed check", () => {
  const fields: HealthStatusFields = {
    state: "Critical",
    message: "connection refused",
    lastProbeTime: at(T0),
    consecutiveFailures: 3,
    consecutiveSuccesses: 0,
  } as HealthStatusFields;

  it.each([
    {
      input: "MaintenanceTask upgrade (Job upgrade-1)",
      before: undefined,
      after: "MaintenanceTask upgrade (Job upgrade-1)",
    },
    { input: null, before: "MaintenanceTask upgrade (Job upgrade-1)", after: undefined },
    {
      input: undefined,
      before: "MaintenanceTask upgrade (Job upgrade-1)",
      after: "MaintenanceTask upgrade (Job upgrade-1)",
    },
  ])(
    "When suppressedBy is $input, then status.suppressedBy goes from $before to $after",
    ({ input, before, after }) => {
      const status: Status = before ? { suppressedBy: before } : {};
      applyReport(status, { fields, now: T0, suppressedBy: input });
      expect(status.suppressedBy).toBe(after);
    },
  );
});
