// What a BackupPolicy's status tells its Incident: the newer of lastBackup
// and lastVerification (the level the safety net of jobrun/run-incidents.ts
// compares incidentRef with), and the same titles as before the fold.
import { describe, expect, it } from "vitest";
import {
  backupOutcome,
  newestPolicyOutcome,
  verificationOutcome,
} from "../../../../src/controllers/backuppolicy/incidents.ts";
import { runIncidentDecision } from "../../../../src/controllers/jobrun/index.ts";
import type { BackupRecord, Verification } from "../../../../src/crds/backuppolicy.ts";

const backup = (result: "Succeeded" | "Failed", end: string): BackupRecord => ({
  id: "20260301T020000Z",
  job: "nightly-29000000",
  startTime: "2026-03-01T02:00:00Z",
  endTime: end,
  result,
  ...(result === "Failed" ? { message: 'database "gone" does not exist' } : {}),
});
const verification = (result: "Passed" | "Failed", time: string): Verification => ({
  backupId: "20260301T020000Z",
  time,
  result,
  ...(result === "Failed" ? { message: "restore failed" } : {}),
});

describe("Given a policy's status", () => {
  it.each([
    {
      when: "the backup failed and nothing verified since",
      status: { lastBackup: backup("Failed", "2026-03-01T02:05:00Z") },
      what: "backup nightly-29000000",
      problem: "failed",
    },
    {
      when: "the backup succeeded after a failed verification",
      status: {
        lastBackup: backup("Succeeded", "2026-03-01T03:05:00Z"),
        lastVerification: verification("Failed", "2026-03-01T02:30:00Z"),
      },
      what: "backup nightly-29000000",
      problem: undefined,
    },
    {
      when: "a verification failed after a successful backup",
      status: {
        lastBackup: backup("Succeeded", "2026-03-01T02:05:00Z"),
        lastVerification: verification("Failed", "2026-03-01T02:30:00Z"),
      },
      what: "verification of backup 20260301T020000Z",
      problem: "failed",
    },
  ])("When $when, then the newest outcome is $what ($problem)", ({ status, what, problem }) => {
    const newest = newestPolicyOutcome(status);
    expect(newest?.what).toBe(what);
    expect(newest?.problem).toBe(problem);
  });

  it("When nothing ran yet, then there is no outcome", () => {
    expect(newestPolicyOutcome({})).toBeUndefined();
  });

  it.each([
    {
      outcome: backupOutcome(backup("Failed", "2026-03-01T02:05:00Z")),
      title: "BackupPolicy nightly: backup nightly-29000000 failed",
    },
    {
      outcome: verificationOutcome(verification("Failed", "2026-03-01T02:30:00Z")),
      title: "BackupPolicy nightly: verification of backup 20260301T020000Z failed",
    },
  ])("When $outcome.what failed, then the Incident's title is $title", ({ outcome, title }) => {
    expect(runIncidentDecision("BackupPolicy nightly", [outcome])).toMatchObject({
      action: "open",
      title,
      episode: outcome.time,
    });
  });
});
