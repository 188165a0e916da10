// Condition types and reasons every PAKE kind shares. They are part of the
// API (alerts, `kubectl wait --for=condition=…` and tests match on them), so
// they live beside the schemas; each kind's own types and reasons are in its
// schema file (e.g. MaintenanceTaskCondition in maintenancetask.ts).

/** Condition types on every kind. */
export const CommonConditionType = {
  /** The object is reconciled and doing its job (summary of the others). */
  Ready: "Ready",
  /** The spec passed the controller's semantic checks (False: reason InvalidSpec, the message names the field). */
  SpecValid: "SpecValid",
  /** Scheduling or probing is paused by spec.suspend. */
  Suspended: "Suspended",
  /** A run, backup or verification is in progress. */
  Progressing: "Progressing",
} as const;

/** Reasons on every kind (CamelCase, stable). */
export const CommonReason = {
  /** SpecValid=True. */
  Valid: "Valid",
  /** The spec is wrong in a way the CRD schema could not catch; the message names the field. */
  InvalidSpec: "InvalidSpec",
  /** Not yet reconciled since the object was created or its spec changed. */
  Pending: "Pending",
  /** A referenced object (Secret, PVC, target) does not exist. */
  ReferenceNotFound: "ReferenceNotFound",
  /** spec.suspend is true. */
  Suspended: "Suspended",
  /** spec.suspend is false. */
  NotSuspended: "NotSuspended",
  /** The reconcile failed; the message carries the error (written by the controller runtime). */
  ReconcileError: "ReconcileError",
} as const;

// Runs as Jobs (MaintenanceTask today, BackupPolicy next) share one
// vocabulary: controllers/jobrun writes these into run records
// (details.reason, which becomes the owner's last-run condition reason) and
// into Events.

/** Why a run ended without a Job outcome of its own, or how a Job ended. */
export const JobRunReason = {
  /** The Job completed (its Complete condition). */
  Completed: "Completed",
  /** The Job failed without a reason of the Job controller's. */
  Failed: "Failed",
  /** concurrencyPolicy Replace stopped the run for a newer one. */
  Replaced: "Replaced",
  /** The Job was still unfinished at timeout plus grace; the watchdog deleted it. */
  WatchdogTimeout: "WatchdogTimeout",
  /** The Job was deleted (by hand, by the garbage collector) before it reported a result. */
  JobVanished: "JobVanished",
} as const;

/** Event reasons of run planning and run results. */
export const JobRunEventReason = {
  /** A scheduled slot started a run. */
  ScheduledRun: "ScheduledRun",
  /** The newest missed slot started a run after an outage (earlier ones skipped). */
  CatchingUp: "CatchingUp",
  /** A slot was past startingDeadlineSeconds: recorded, not run (Warning). */
  MissedSchedule: "MissedSchedule",
  /** A slot came while a run was active under concurrencyPolicy Forbid (Warning). */
  SkippedConcurrentRun: "SkippedConcurrentRun",
  /** An owner without a schedule started its one run. */
  RunOnce: "RunOnce",
  /** A new run-now token started a run. */
  RunNow: "RunNow",
  /** A run finished successfully. */
  RunSucceeded: "RunSucceeded",
  /** A run failed, timed out or was cancelled (Warning). */
  RunFailed: "RunFailed",
} as const;
