// Fault injection for the crash tests (test/integration/backuppolicy-faults):
// with PAKE_CRASH_AT=<point> the operator SIGKILLs itself when a reconcile
// reaches that point, as a node failure would at the worst moment. Unset (as
// always outside those tests), every point is a no-op.
export const CRASH_AT_ENV = "PAKE_CRASH_AT";

export const CrashPoint = {
  /** A backup Job was created; the status that lists it as active is not written. */
  BackupJobCreated: "backup-job-created",
  /** A finished backup Job was read; the status that records it (and what it pruned) is not written. */
  BackupFinished: "backup-finished",
  /** The status recording a backup is written; its Job is not yet marked recorded, old Jobs not pruned. */
  BackupRecorded: "backup-recorded",
} as const;
export type CrashPoint = (typeof CrashPoint)[keyof typeof CrashPoint];

/** Kills the process here when PAKE_CRASH_AT names this point. */
export function crashPoint(point: CrashPoint): void {
  if (process.env[CRASH_AT_ENV] === point) process.kill(process.pid, "SIGKILL");
}
