// jobrun: Job runs shared by every kind that runs work as Kubernetes Jobs
// (MaintenanceTask today, BackupPolicy next), generic over the owning kind.
//
// The flow of one Job run, across the reconciles of its owner:
//
//   1. plan (plan.ts, pure): the schedule slot due (CronJob semantics: one
//      catch-up, startingDeadlineSeconds, concurrencyPolicy), the one run of
//      an owner without a schedule, or a new run-now token → RunRequests
//      with deterministic Job names (<owner>-<unix minutes>, -once,
//      -now-<hash>) and the plan's Events; a plan that starts a run is
//      confirmed on a fresh read of the owner (session.ts planConfirmedRuns):
//      a cached owner that predates the status recording a run whose Job
//      was since pruned would run it again;
//   2. build (job-builder.ts, pure): the owner supplies the pod (image, args,
//      config, volumes, secretKeyRef env); buildRunJob adds the restricted
//      Pod Security Standard contexts, the owner reference, labels, the run's
//      annotations, activeDeadlineSeconds and backoffLimit;
//   3. create (jobs.ts): AlreadyExists counts as success when the Job is
//      controlled by this owner's uid — the same name is the same run — so a
//      crash between creating a Job and writing status never starts a run
//      twice; a namesake left by a deleted former owner is deleted and the
//      reconcile retried; any other Job of that name is an error naming it;
//      the owner's status lists the run as active;
//   4. the Job runs; the runner writes its JSON result (≤ 4 KiB) as the
//      container's termination message; Job events re-queue the owner;
//   5. read (results.ts, pure): a finished Job not yet recorded + its newest
//      pod → a RunRecord (Succeeded, Failed, TimedOut…, the runner's summary
//      and details) plus the owner's payload from the result (e.g. a
//      capacity sample, a backup manifest);
//   6. watchdog (watchdog.ts, pure): an unfinished Job past timeout + grace
//      is deleted and recorded TimedOut/WatchdogTimeout; an active run whose
//      Job vanished is recorded Failed/JobVanished (TimedOut when past its
//      watchdog deadline: a crash came between the deletion and status);
//   7. the owner writes its status once (history bounded per history.ts,
//      last run, conditions), then the Events (RunSucceeded / RunFailed);
//      then marks the recorded Jobs pake.dev/recorded (recorded.ts), so a
//      crash before pruning cannot record a run status no longer holds;
//   8. prune (history.ts + session.ts), only after status is written: finished
//      Jobs beyond the history limits are deleted, so every kept Job has its
//      history entry and no recorded run is lost;
//   9. the owner re-queues at the next schedule time or watchdog deadline
//      (session.ts wakeAfter).
//
// session.ts strings steps 3–9 together for one reconcile; what is specific
// to a kind (its pod, its status, its payload) stays in the kind's folder.
export * from "./held.ts";
export * from "./history.ts";
export * from "./schedule-status.ts";
export * from "./job-builder.ts";
export * from "./jobs.ts";
export * from "./metadata.ts";
export * from "./plan.ts";
export { JobRunEventReason, JobRunReason } from "../../crds/conditions.ts";
export * from "./recorded.ts";
export * from "./results.ts";
export * from "./runner-identity.ts";
export * from "./run-incidents.ts";
export * from "./session.ts";
export * from "./types.ts";
export * from "./watchdog.ts";
