// Pure: the watchdog that brings every run to a final result.
// - A Job still unfinished at start + timeout + grace (the Job controller did
//   not enforce activeDeadlineSeconds: it is down, or the Job was edited) is
//   deleted and recorded as TimedOut (reason WatchdogTimeout).
// - A run listed in the owner's status as active whose Job no longer exists
//   (deleted by hand, garbage-collected) is recorded as Failed (reason
//   JobVanished).
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
        message: `the Job did not finish within timeout plus ${Math.round(input.graceMs / 1000)}s grace; deleted it`,
      }),
    });
  }
  return out;
}

/** Records for active runs whose Job is gone and that have no final record yet. */
export function vanishedRuns(input: {
  active: ActiveRun[] | undefined;
  existing: ReadonlySet<string>;
  recorded: ReadonlySet<string>;
  now: Date;
}): RunRecord[] {
  return (input.active ?? [])
    .filter((a) => !input.existing.has(a.job) && !input.recorded.has(a.job))
    .map((a) =>
      abortedRecord({
        job: a.job,
        meta: {
          ...(a.trigger ? { trigger: a.trigger } : {}),
          ...(a.scheduledTime ? { scheduledTime: a.scheduledTime } : {}),
        },
        startTime: a.startTime,
        now: input.now,
        result: "Failed",
        reason: JobRunReason.JobVanished,
        message: `the Job ${a.job} was deleted before it reported a result`,
      }),
    );
}
