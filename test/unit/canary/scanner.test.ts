// The secret canary scanner (test/env/canary.ts) must be able to fail: a
// planted canary in a log file or an Event is found, located and masked.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  CANARY_MARKER,
  canaryValue,
  describeScan,
  scanObjectList,
  scanRunFiles,
} from "../../env/canary.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function runDirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "pake-canary-"));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const list = (...items: unknown[]): string => JSON.stringify({ kind: "List", items });

describe("Given a canary value", () => {
  it("When it is made, then it starts with the marker and each one differs", () => {
    expect(canaryValue()).toMatch(new RegExp(`^${CANARY_MARKER}[0-9a-f]{16}$`));
    expect(canaryValue()).not.toBe(canaryValue());
  });
});

describe("Given a run directory", () => {
  const canary = canaryValue();

  it.each([
    ["an operator log", "operator-a.log"],
    ["a runner log", "pod-runner-ns/ns-job-x.log"],
    ["a runner termination file", "pod-runner-ns/ns-job-x.termination-log"],
    ["a final /metrics snapshot", "operator-a.final-metrics.txt"],
    ["a final /health/detailed snapshot", "operator-a.final-health.txt"],
  ])("When %s holds a canary, then the scan reports the file, masked", (_, path) => {
    const dir = runDirWith({
      [path]: `{"msg":"Connected","uri":"postgresql://postgres:${canary}@127.0.0.1/x"}\n`,
    });
    const scan = scanRunFiles(dir);
    expect(scan.hits).toHaveLength(1);
    expect(scan.hits[0]!.location).toBe(path);
    expect(scan.hits[0]!.context).toContain("postgresql://postgres:<canary>@127.0.0.1");
    expect(describeScan(scan)).not.toContain(canary);
    expect(describeScan(scan)).toContain("1 hits");
  });

  it("When only clean logs and infrastructure logs (which hold credentials) are there, then the scan finds nothing and counts what it read", () => {
    const clean = '{"msg":"Reconciled","uri":"postgresql://postgres:***@127.0.0.1/x"}\n';
    const dir = runDirWith({
      "operator-a.log": clean,
      "cp-1/kube-apiserver.log": `password ${canary}\n`,
      "pg-1/postgres.log": `password ${canary}\n`,
      "kubeconfig.yaml": `token: ${canary}\n`,
    });
    const scan = scanRunFiles(dir);
    expect(scan).toEqual({ places: 1, bytes: clean.length, hits: [] });
  });
});

describe("Given objects listed from the API server", () => {
  const canary = canaryValue();

  it("When an Event's message holds a canary, then the scan reports the Event, masked", () => {
    const event = {
      kind: "Event",
      metadata: { namespace: "ns", name: "hc.1" },
      reason: "ProbeFailed",
      message: `connect to redis://:${canary}@127.0.0.1 failed`,
    };
    const scan = scanObjectList(list(event));
    expect(scan.hits.map((h) => h.location)).toEqual(["Event ns/hc.1"]);
    expect(scan.hits[0]!.context).toContain("redis://:<canary>@127.0.0.1");
    expect(JSON.stringify(scan)).not.toContain(canary);
  });

  it.each([
    [
      "a HealthCheck's status",
      {
        kind: "HealthCheck",
        metadata: { namespace: "ns", name: "hc" },
        status: { lastError: canary },
      },
      "HealthCheck ns/hc.status",
    ],
    [
      "a Job pod's termination message",
      {
        kind: "Pod",
        metadata: { namespace: "ns", name: "job-x" },
        status: {
          containerStatuses: [{ state: { terminated: { message: `{"err":"${canary}"}` } } }],
        },
      },
      "Pod ns/job-x.status.containerStatuses[0].state.terminated.message",
    ],
  ])("When %s holds a canary, then the scan reports that field", (_, item, location) => {
    expect(scanObjectList(list(item)).hits.map((h) => h.location)).toEqual([location]);
  });

  it("When the canary is only in a PAKE object's spec (which may reference it), then the status scan finds nothing", () => {
    const task = {
      kind: "MaintenanceTask",
      metadata: { namespace: "ns", name: "t" },
      spec: { note: canary },
      status: { phase: "Succeeded" },
    };
    expect(scanObjectList(list(task))).toMatchObject({ places: 1, hits: [] });
  });
});
