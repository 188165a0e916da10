// The BackupPolicy's crash points (test/integration/backuppolicy-faults,
// incident-sources-crash): the mechanism is runtime/crash-points.ts.
import { crashPoint as crashAt } from "../../runtime/crash-points.ts";

export { CRASH_AT_ENV } from "../../runtime/crash-points.ts";

export const CrashPoint = {
  /** A backup Job was created; the status that lists it as active is not written. */
  BackupJobCreated: "backup-job-created",
  /** A finished backup Job was read; the status that records it (and what it pruned) is not written. */
  BackupFinished: "backup-finished",
  /**
   * The status recording a backup is written; its Job is not yet marked
   * recorded, old Jobs not pruned, the Incident neither opened nor resolved.
   */
  BackupRecorded: "backup-recorded",
} as const;
export type CrashPoint = (typeof CrashPoint)[keyof typeof CrashPoint];

/** Kills the process here when PAKE_CRASH_AT names this point. */
export function crashPoint(point: CrashPoint): void {
  crashAt(point);
}
