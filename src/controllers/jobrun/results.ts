// Pure: a finished Job (and its newest Pod) → a RunRecord for the owner's
// status. The runner's JSON result (≤ 4 KiB) comes from the container's
// termination message; Job failures (DeadlineExceeded, BackoffLimitExceeded,
// …) become a failed run whose details carry the reason.
import type { EventInput } from "../../runtime/events.ts";
import type { KubeObject } from "../../runtime/kube.ts";
import { runMetaOf } from "./metadata.ts";
import { JobRunEventReason, JobRunReason } from "../../crds/conditions.ts";
import {
  JobConditionType,
  JobFailedReason,
  type JobObject,
  type PodObject,
  type RunMeta,
  type RunnerResult,
  type RunRecord,
  type RunResult,
} from "./types.ts";

export interface JobOutcome {
  succeeded: boolean;
  reason: string;
  message: string;
  time?: string | undefined;
}

const MAX_DETAILS = 32;

function timeString(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === "string" ? value : undefined;
}

/** The final outcome of a Job (Complete or Failed condition), or undefined while it runs. */
export function jobOutcome(job: JobObject): JobOutcome | undefined {
  const final = (job.status?.conditions ?? []).find(
    (c) =>
      c.status === "True" &&
      (c.type === JobConditionType.Complete || c.type === JobConditionType.Failed),
  );
  if (final === undefined) return undefined;
  const time = timeString(final.lastTransitionTime) ?? timeString(job.status?.completionTime);
  if (final.type === JobConditionType.Complete)
    return { succeeded: true, reason: JobRunReason.Completed, message: "", time };
  return {
    succeeded: false,
    reason: final.reason ?? JobRunReason.Failed,
    message: final.message ?? "",
    time,
  };
}

export function isFinished(job: JobObject): boolean {
  return jobOutcome(job) !== undefined;
}

export function jobStartTime(job: JobObject): string | undefined {
  return timeString(job.status?.startTime) ?? timeString(job.metadata.creationTimestamp);
}

/** When the Job was created, in status format (stable, unlike status.startTime which arrives later). */
export function jobCreationTime(job: KubeObject): string | undefined {
  const t = job.metadata.creationTimestamp as unknown;
  if (t instanceof Date) return t.toISOString().replace(".000Z", "Z");
  return typeof t === "string" ? t : undefined;
}

/** The runner's result from a pod's termination message, if it is JSON. */
export function terminationResult(pod: PodObject | undefined): RunnerResult | undefined {
  const messages = (pod?.status?.containerStatuses ?? []).map(
    (s) => s.state?.terminated?.message ?? s.lastState?.terminated?.message,
  );
  const message = messages.find((m) => m !== undefined && m !== "");
  if (message === undefined) return undefined;
  try {
    const parsed = JSON.parse(message) as unknown;
    return parsed !== null && typeof parsed === "object"
      ? parsed
      : { summary: message.slice(0, 1024) };
  } catch {
    return { summary: message.slice(0, 1024) };
  }
}

function boundedDetails(
  details: Record<string, unknown> | undefined,
  extra: Record<string, string>,
): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const entries = [
    ...Object.entries(extra),
    ...Object.entries(details ?? {}).filter(([k]) => !(k in extra)),
  ];
  for (const [k, v] of entries) {
    if (Object.keys(out).length >= MAX_DETAILS) break;
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") continue;
    out[k.slice(0, 63)] = String(v).slice(0, 1024);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function resultOf(outcome: JobOutcome): RunResult {
  if (outcome.succeeded) return "Succeeded";
  return outcome.reason === JobFailedReason.DeadlineExceeded ? "TimedOut" : "Failed";
}

function summaryOf(outcome: JobOutcome, runner: RunnerResult | undefined): string {
  const own = runner?.summary ?? runner?.error;
  if (outcome.succeeded) return own ?? "Job completed";
  const why = `${outcome.reason}${outcome.message ? `: ${outcome.message}` : ""}`;
  return own ? `${why}; ${own}` : why;
}

/** The record of a finished Job. */
export function recordFromJob(job: JobObject, pod: PodObject | undefined): RunRecord | undefined {
  const outcome = jobOutcome(job);
  if (outcome === undefined) return undefined;
  const meta = runMetaOf(job);
  const runner = terminationResult(pod);
  const extra: Record<string, string> = outcome.succeeded ? {} : { reason: outcome.reason };
  const details = boundedDetails(runner?.details, extra);
  const start = jobStartTime(job);
  return {
    job: job.metadata.name!,
    ...(meta.trigger ? { trigger: meta.trigger } : {}),
    ...(meta.scheduledTime ? { scheduledTime: meta.scheduledTime } : {}),
    ...(start ? { startTime: start } : {}),
    ...(outcome.time ? { endTime: outcome.time } : {}),
    result: resultOf(outcome),
    summary: summaryOf(outcome, runner).slice(0, 4096),
    ...(details ? { details } : {}),
  };
}

/** A run that ended without a Job outcome (stopped, vanished, overdue). */
export function abortedRecord(input: {
  job: string;
  meta: RunMeta;
  startTime?: string | undefined;
  now: Date;
  result: "Failed" | "TimedOut" | "Cancelled";
  reason: string;
  message: string;
}): RunRecord {
  return {
    job: input.job,
    ...(input.meta.trigger ? { trigger: input.meta.trigger } : {}),
    ...(input.meta.scheduledTime ? { scheduledTime: input.meta.scheduledTime } : {}),
    ...(input.startTime ? { startTime: input.startTime } : {}),
    endTime: input.now.toISOString(),
    result: input.result,
    summary: `${input.reason}: ${input.message}`,
    details: { reason: input.reason },
  };
}

/** The Event of a recorded run: RunSucceeded (Normal) or RunFailed (Warning). */
export function runResultEvent(r: RunRecord): EventInput {
  const ok = r.result === "Succeeded";
  return {
    type: ok ? "Normal" : "Warning",
    reason: ok ? JobRunEventReason.RunSucceeded : JobRunEventReason.RunFailed,
    message: `${r.job}: ${r.result}: ${r.summary ?? ""}`,
  };
}
