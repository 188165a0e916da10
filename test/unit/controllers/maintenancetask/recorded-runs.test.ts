// Which runs a status write records for the first time: what the task's
// Incident is told about (incidents.ts), so a reconcile on a stale cache,
// whose write falls back to a fresh read that already holds its records,
// reports nothing twice.
import { describe, expect, it } from "vitest";
import { statusMutator } from "../../../../src/controllers/maintenancetask/status.ts";
import {
  MaintenanceTaskSpec,
  type MaintenanceTaskStatus,
  type RunRecord,
} from "../../../../src/crds/maintenancetask.ts";

const NOW = new Date("2026-03-01T02:10:00Z");
const spec = MaintenanceTaskSpec.parse({ task: { logCleanup: { claimName: "logs" } } });
const failed: RunRecord = {
  job: "logs-2",
  startTime: "2026-03-01T02:00:00Z",
  endTime: "2026-03-01T02:05:00Z",
  result: "Failed",
  summary: "BackoffLimitExceeded",
};

/** The records the mutator reports as new when applied to `status`. */
function newlyRecorded(status: MaintenanceTaskStatus, records: RunRecord[]): RunRecord[] {
  let told: RunRecord[] = [];
  statusMutator({
    spec,
    plan: { start: [], stop: [], events: [] },
    records,
    active: [],
    existing: new Set(["logs-2"]),
    now: NOW,
    onRecorded: (r) => (told = r),
  })(status, { metadata: { generation: 1 } });
  return told;
}

describe("Given the status write of a reconcile", () => {
  it("When the status does not hold the run yet, then the run is reported as recorded", () => {
    expect(newlyRecorded({}, [failed])).toEqual([failed]);
  });

  it("When a fresh read already holds it (a stale cache recorded it again), then nothing is reported", () => {
    const status: MaintenanceTaskStatus = { history: [failed], lastRun: failed };
    expect(newlyRecorded(status, [failed])).toEqual([]);
  });

  it("When an active run's Job is gone, then its vanished record is reported too", () => {
    const status: MaintenanceTaskStatus = {
      active: [{ job: "logs-1", startTime: "2026-03-01T01:00:00Z" }],
    };
    const told = newlyRecorded(status, [failed]);
    expect(told.map((r) => [r.job, r.result, r.details?.reason])).toEqual([
      ["logs-2", "Failed", undefined],
      ["logs-1", "Failed", "JobVanished"],
    ]);
  });
});
