// capacityCheck samples carried from run to run: which runs contribute one,
// how status.capacitySamples is merged (dedupe by time, newest 30 kept), and
// that the status write of a reconcile applies them.
import { describe, expect, it } from "vitest";
import {
  capacitySampleOf,
  mergeCapacitySamples,
  sampleFromData,
} from "../../../../src/controllers/maintenancetask/samples.ts";
import { statusMutator } from "../../../../src/controllers/maintenancetask/status.ts";
import {
  CapacitySample as CapacitySampleSchema,
  MAX_CAPACITY_SAMPLES,
  MaintenanceTaskSpec,
  type CapacitySample,
  type MaintenanceTaskStatus,
  type RunRecord,
} from "../../../../src/crds/maintenancetask.ts";

const at = (minute: number): string => new Date(Date.UTC(2026, 2, 1, 2, minute)).toISOString();
const sample = (minute: number, used = minute * 1000): CapacitySample => ({
  time: at(minute),
  volumes: { data: used },
});

describe("Given a finished run and its runner result", () => {
  const data = { sample: { time: at(0), volumes: { data: 100 }, databases: { app: 7 } } };

  it("When a capacityCheck run succeeded with data.sample, then that sample is taken", () => {
    expect(
      capacitySampleOf("capacityCheck", { result: "Succeeded" }, { task: "capacityCheck", data }),
    ).toEqual({ time: at(0), volumes: { data: 100 }, databases: { app: 7 } });
  });

  it("When the run failed, timed out or was cancelled, then no sample is taken", () => {
    for (const result of ["Failed", "TimedOut", "Cancelled"] as const)
      expect(capacitySampleOf("capacityCheck", { result }, { data })).toBeUndefined();
  });

  it("When the task is not a capacityCheck, or the result has no sample, then none is taken", () => {
    expect(capacitySampleOf("logCleanup", { result: "Succeeded" }, { data })).toBeUndefined();
    expect(
      capacitySampleOf("capacityCheck", { result: "Succeeded" }, { task: "logCleanup", data }),
    ).toBeUndefined();
    expect(capacitySampleOf("capacityCheck", { result: "Succeeded" }, undefined)).toBeUndefined();
    expect(
      capacitySampleOf("capacityCheck", { result: "Succeeded" }, { data: { findings: [] } }),
    ).toBeUndefined();
  });

  it("When the sample is malformed or oversized, then it is dropped or bounded to what status accepts", () => {
    expect(sampleFromData({ sample: { time: "yesterday", volumes: { a: 1 } } })).toBeUndefined();
    const databases = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`db${i}`, i]));
    const s = sampleFromData({
      sample: { time: at(1), volumes: { ok: 1.6, neg: -1, nan: "x", "": 3 }, databases },
    });
    expect(s?.volumes).toEqual({ ok: 2 });
    expect(Object.keys(s?.databases ?? {})).toHaveLength(64);
    expect(CapacitySampleSchema.safeParse(s).success).toBe(true);
  });
});

describe("Given stored capacity samples", () => {
  it("When new samples arrive, then they are appended oldest first, one per time (newer write wins)", () => {
    const merged = mergeCapacitySamples([sample(1), sample(2)], [sample(2, 999), sample(3)]);
    expect(merged.map((s) => s.time)).toEqual([at(1), at(2), at(3)]);
    expect(merged[1]?.volumes).toEqual({ data: 999 });
  });

  it("When there are more than 30, then only the newest 30 are kept", () => {
    const existing = Array.from({ length: MAX_CAPACITY_SAMPLES }, (_, i) => sample(i));
    const merged = mergeCapacitySamples(existing, [sample(40), sample(41)]);
    expect(merged).toHaveLength(MAX_CAPACITY_SAMPLES);
    expect(merged[0]?.time).toBe(at(2));
    expect(merged.at(-1)?.time).toBe(at(41));
  });

  it("When there is no stored sample, then the new ones are the list", () => {
    expect(mergeCapacitySamples(undefined, [sample(5)])).toEqual([sample(5)]);
  });
});

describe("Given the status write of a reconcile", () => {
  const spec = MaintenanceTaskSpec.parse({
    task: { capacityCheck: { persistentVolumeClaims: ["data"], nodes: false } },
  });
  const record: RunRecord = { job: "cap-1", result: "Succeeded", summary: "capacity ok" };
  const write = (status: MaintenanceTaskStatus, samples?: CapacitySample[]) => {
    statusMutator({
      spec,
      plan: { start: [], stop: [], events: [] },
      records: [record],
      ...(samples ? { samples } : {}),
      active: [],
      existing: new Set(["cap-1"]),
      now: new Date(at(10)),
    })(status, { metadata: { generation: 1 } });
    return status;
  };

  it("When the reconcile recorded a sample, then it is appended to status.capacitySamples", () => {
    const status = write({ capacitySamples: [sample(1)] }, [sample(9)]);
    expect(status.capacitySamples).toEqual([sample(1), sample(9)]);
    expect(status.lastRun?.job).toBe("cap-1");
  });

  it("When it recorded none, then status.capacitySamples is left as it was", () => {
    expect(write({ capacitySamples: [sample(1)] }).capacitySamples).toEqual([sample(1)]);
    expect(write({}, []).capacitySamples).toBeUndefined();
  });
});
