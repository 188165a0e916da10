// Pure: the watchdog that brings every run to a final result.
// - A Job still unfinished at start + timeout + grace (the Job controller did
//   not enforce activeDeadlineSeconds: it is down, or the Job was edited) is
//   deleted and recorded as TimedOut (reason WatchdogTimeout).
// - A run listed in the owner's status as active whose Job no longer exists
//   (deleted by hand, garbage-collected) is recorded as Failed (reason
//   JobVanished), unless it was past its watchdog deadline: then the
//   watchdog deleted it and a crash came before the status write, so it is
//   recorded TimedOut (WatchdogTimeout) as that write would have.
import { JobRunReason } from "../../crds/conditions.ts";
import { abortedRecord, jobStartTime } from "./results.ts";
import { runMetaOf } from "./metadata.ts";
import type { ActiveRun, JobObject, RunRecord } from "./types.ts";

/** Default grace after the owner's timeout before the watchdog acts. */
export const DEFAULT_WATCHDOG_GRACE_MS = 60_000;

/** What an owner's reconcile needs to run Jobs: the runner image, and the watchdog's grace. */
export interface JobRunOptions {
  runnerImage: string;
  /** Grace after the owner's timeout before the watchdog ends a run. Default 60 s. */
  watchdogGraceMs?: number;
}

export interface Overdue {
  job: string;
  record: RunRecord;
}

/** When the watchdog gives up on an unfinished Job (ms since the epoch). */
export function watchdogDeadline(job: JobObject, timeoutMs: number, graceMs: number): number {
  const start = Date.parse(jobStartTime(job) ?? "") || 0;
  return start + timeoutMs + graceMs;
}

function watchdogMessage(graceMs: number): string {
  return `the Job did not finish within timeout plus ${Math.round(graceMs / 1000)}s grace; deleted it`;
}

export function overdueJobs(input: {
  unfinished: JobObject[];
  timeoutMs: number;
  graceMs: number;
  now: Date;
}): Overdue[] {
  const out: Overdue[] = [];
  for (const job of input.unfinished) {
    if (watchdogDeadline(job, input.timeoutMs, input.graceMs) > input.now.getTime()) continue;
    out.push({
      job: job.metadata.name!,
      record: abortedRecord({
        job: job.metadata.name!,
        meta: runMetaOf(job),
        startTime: jobStartTime(job),
        now: input.now,
        result: "TimedOut",
        reason: JobRunReason.WatchdogTimeout,
        message: watchdogMessage(input.graceMs),
      }),
    });
  }
  return out;
}

/** The owner's timeout and the watchdog's grace, in ms. */
export interface WatchdogLimits {
  timeoutMs: number;
  graceMs: number;
}

function pastDeadline(run: ActiveRun, now: Date, limits: WatchdogLimits | undefined): boolean {
  if (limits === undefined) return false;
  const start = Date.parse(run.startTime);
  return !Number.isNaN(start) && start + limits.timeoutMs + limits.graceMs <= now.getTime();
}

function vanishedRecord(run: ActiveRun, now: Date, limits: WatchdogLimits | undefined): RunRecord {
  const meta = {
    ...(run.trigger ? { trigger: run.trigger } : {}),
    ...(run.scheduledTime ? { scheduledTime: run.scheduledTime } : {}),
  };
  const base = { job: run.job, meta, startTime: run.startTime, now };
  if (pastDeadline(run, now, limits))
    return abortedRecord({
      ...base,
      result: "TimedOut",
      reason: JobRunReason.WatchdogTimeout,
      message: watchdogMessage(limits!.graceMs),
    });
  return abortedRecord({
    ...base,
    result: "Failed",
    reason: JobRunReason.JobVanished,
    message: `the Job ${run.job} was deleted before it reported a result`,
  });
}

/**
 * Records for active runs whose Job is gone and that have no final record
 * yet. With the watchdog's limits, a run gone past its deadline is the
 * watchdog's deletion (see above).
 */
export function vanishedRuns(input: {
  active: ActiveRun[] | undefined;
  existing: ReadonlySet<string>;
  recorded: ReadonlySet<string>;
  now: Date;
  watchdog?: WatchdogLimits | undefined;
}): RunRecord[] {
  return (input.active ?? [])
    .filter((a) => !input.existing.has(a.job) && !input.recorded.has(a.job))
    .map((a) => vanishedRecord(a, input.now, input.watchdog));
}
