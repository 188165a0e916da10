// The Job runs of one owner within one reconcile: the Jobs listed at the
// start, what this reconcile recorded (finished, overdue, stopped runs),
// created and deleted. The steps below mutate the session in the order a
// reconcile calls them (see index.ts); the owner turns the session into its
// status, and prunes after that status is written.
import type { EventInput } from "../../runtime/events.ts";
import type { KindDescriptor, KubeObject } from "../../runtime/kube.ts";
import { crashPoint, JobRunCrashPoint } from "./crash-points.ts";
import { jobsToPrune, type HistoryLimits } from "./history.ts";
import type { Job } from "./job-builder.ts";
import {
  createRunJob,
  deleteRunJob,
  listOwnedJobs,
  newestPod,
  type JobOwner,
  type JobRunClient,
} from "./jobs.ts";
import { runMetaOf } from "./metadata.ts";
import { planRuns, type PlanSpec, type PlanStatus, type SchedulePlan } from "./plan.ts";
import { JobRunReason } from "../../crds/conditions.ts";
import {
  abortedRecord,
  isFinished,
  jobCreationTime,
  jobStartTime,
  recordFromJob,
  runResultEvent,
  terminationResult,
} from "./results.ts";
import type { ActiveRun, FinishedRun, JobObject, PayloadReader, RunRecord } from "./types.ts";
import { overdueJobs, watchdogDeadline } from "./watchdog.ts";

/** Most runs listed as active in status. */
export const MAX_ACTIVE_RUNS = 16;

export interface RunSession<P> {
  api: JobRunClient;
  owner: JobOwner;
  now: Date;
  /** The owner's Jobs when the reconcile started. */
  jobs: JobObject[];
  /** Final records of this reconcile (finished, overdue, stopped runs). */
  records: RunRecord[];
  /** The runs whose Job finished, read in this reconcile, each with the owner's payload. */
  finished: FinishedRun<P>[];
  /** Jobs deleted in this reconcile (overdue, replaced). */
  deleted: Set<string>;
  /** Jobs created (or found already created) in this reconcile. */
  created: JobObject[];
}

/** Lists the owner's Jobs and opens the session. */
export async function openRunSession<P>(
  api: JobRunClient,
  owner: JobOwner,
  now: Date,
): Promise<RunSession<P>> {
  const jobs = await listOwnedJobs(api, owner);
  return { api, owner, now, jobs, records: [], finished: [], deleted: new Set(), created: [] };
}

const nameOf = (job: JobObject): string => job.metadata.name!;

/** Records every finished Job not recorded yet (`recorded`: the owner's status says). */
export async function collectFinished<P>(
  session: RunSession<P>,
  recorded: ReadonlySet<string>,
  payloadOf?: PayloadReader<P>,
): Promise<void> {
  for (const job of session.jobs) {
    if (!isFinished(job) || recorded.has(nameOf(job))) continue;
    const pod = await newestPod(session.api, job);
    const record = recordFromJob(job, pod);
    if (!record) continue;
    session.records.push(record);
    session.finished.push({ record, payload: payloadOf?.(record, terminationResult(pod)) });
  }
}

/** The payloads of the runs read in this reconcile (runs without one left out). */
export function sessionPayloads<P>(session: RunSession<P>): P[] {
  return session.finished.flatMap((f) => (f.payload !== undefined ? [f.payload] : []));
}

async function deleteJob<P>(session: RunSession<P>, name: string): Promise<void> {
  await deleteRunJob(session.api, { namespace: session.owner.namespace, name });
  session.deleted.add(name);
}

export interface WatchdogTimes {
  /** The owner's timeout (the Jobs' activeDeadlineSeconds). */
  timeoutMs: number;
  graceMs: number;
}

/** Deletes unfinished Jobs past timeout + grace and records them TimedOut. */
export async function runWatchdog<P>(session: RunSession<P>, times: WatchdogTimes): Promise<void> {
  const overdue = overdueJobs({ unfinished: unfinishedJobs(session), ...times, now: session.now });
  for (const o of overdue) {
    await deleteJob(session, o.job);
    session.records.push(o.record);
    session.api.log.warn({ job: o.job }, "Deleted overdue Job");
  }
}

/** Stops active runs for a newer one (concurrencyPolicy Replace) and records them Cancelled. */
export async function stopRuns<P>(session: RunSession<P>, names: string[]): Promise<void> {
  for (const name of names) {
    const job = session.jobs.find((j) => nameOf(j) === name);
    await deleteJob(session, name);
    session.records.push(
      abortedRecord({
        job: name,
        meta: job ? runMetaOf(job) : {},
        startTime: job ? jobStartTime(job) : undefined,
        now: session.now,
        result: "Cancelled",
        reason: JobRunReason.Replaced,
        message: "stopped by concurrencyPolicy Replace for a newer run",
      }),
    );
    session.api.log.info({ job: name }, "Stopped active run for Replace");
  }
}

/**
 * Creates a run's Job (an existing one of the same name is the same run when
 * the owner controls it; a former namesake's is deleted and the reconcile
 * retried: see jobs.ts createRunJob).
 */
export async function startRun<P>(
  session: RunSession<P>,
  manifest: Job,
  trigger: string,
): Promise<void> {
  const { job, created } = await createRunJob(session.api, manifest, session.owner);
  if (!isFinished(job)) session.created.push(job);
  if (created) session.api.log.info({ job: nameOf(job), trigger }, "Created Job");
}

/** Unfinished Jobs not deleted in this reconcile (listed ones only). */
export function unfinishedJobs<P>(session: RunSession<P>): JobObject[] {
  return session.jobs.filter((j) => !isFinished(j) && !session.deleted.has(nameOf(j)));
}

function currentJobs<P>(session: RunSession<P>): JobObject[] {
  const byName = new Map<string, JobObject>();
  for (const j of [...session.jobs, ...session.created]) byName.set(nameOf(j), j);
  return [...byName.values()];
}

/** Names of the owner's Jobs after this reconcile (existing or created, not deleted). */
export function existingJobNames<P>(session: RunSession<P>): Set<string> {
  return new Set(
    [...session.jobs, ...session.created].map(nameOf).filter((n) => !session.deleted.has(n)),
  );
}

/** The runs active after this reconcile, oldest first, at most MAX_ACTIVE_RUNS. */
export function activeRuns<P>(session: RunSession<P>): ActiveRun[] {
  const runs: ActiveRun[] = [];
  for (const job of currentJobs(session)) {
    if (isFinished(job) || session.deleted.has(nameOf(job)) || job.metadata.deletionTimestamp)
      continue;
    const meta = runMetaOf(job);
    runs.push({
      job: nameOf(job),
      // The creation time is stable (status.startTime arrives later and would cost a write).
      startTime: jobCreationTime(job) ?? session.now.toISOString(),
      ...(meta.scheduledTime ? { scheduledTime: meta.scheduledTime } : {}),
      ...(meta.trigger ? { trigger: meta.trigger } : {}),
    });
  }
  return runs.sort((a, b) => a.startTime.localeCompare(b.startTime)).slice(-MAX_ACTIVE_RUNS);
}

/** The Events of this reconcile's records (RunSucceeded / RunFailed). */
export function recordEvents<P>(session: RunSession<P>): EventInput[] {
  return session.records.map(runResultEvent);
}

/** Logs each record of this reconcile (after status holds it). */
export function logRecords<P>(session: RunSession<P>): void {
  for (const r of session.records) {
    const ok = r.result === "Succeeded";
    session.api.log.info(
      { job: r.job, result: r.result },
      ok ? "Recorded successful run" : "Recorded failed run",
    );
  }
}

/** Deletes finished Jobs beyond the history limits (call after status is written). */
export async function pruneFinished<P>(
  session: RunSession<P>,
  limits: HistoryLimits,
): Promise<void> {
  const remaining = session.jobs.filter((j) => !session.deleted.has(nameOf(j)));
  const prune = jobsToPrune(remaining, limits);
  if (prune.length > 0) crashPoint(JobRunCrashPoint.BeforePrune);
  for (const name of prune) {
    await deleteJob(session, name);
    session.api.log.info({ job: name }, "Pruned finished Job");
  }
}

/**
 * Milliseconds until the next thing to do: the next schedule time, or the
 * earliest watchdog deadline of an unfinished Job. Undefined: nothing timed.
 */
export function wakeAfter<P>(
  session: RunSession<P>,
  input: WatchdogTimes & { next?: Date | undefined; nowMs: number },
): number | undefined {
  const times: number[] = [];
  if (input.next) times.push(input.next.getTime());
  for (const job of [...session.jobs, ...session.created]) {
    if (isFinished(job) || session.deleted.has(nameOf(job))) continue;
    times.push(watchdogDeadline(job, input.timeoutMs, input.graceMs));
  }
  if (times.length === 0) return undefined;
  return Math.max(1, Math.min(...times) - input.nowMs);
}

/** An owner as planning reads it: name, creation time, annotations, schedule status. */
export interface PlannedOwner extends KubeObject {
  status?: PlanStatus | undefined;
}

/** The plan of this reconcile: the owner's schedule against the Jobs the session listed. */
export function planSessionRuns<P>(
  session: RunSession<P>,
  owner: PlannedOwner,
  input: { spec: PlanSpec; runNowAnnotation: string },
): SchedulePlan {
  return planRuns({
    namespace: owner.metadata.namespace!,
    name: owner.metadata.name!,
    spec: input.spec,
    status: owner.status,
    annotations: owner.metadata.annotations,
    runNowAnnotation: input.runNowAnnotation,
    creationTime: new Date(String(owner.metadata.creationTimestamp)),
    now: session.now,
    existing: new Set(session.jobs.map(nameOf)),
    active: unfinishedJobs(session).map(nameOf),
  });
}

export interface ConfirmedPlanInput {
  spec: PlanSpec;
  runNowAnnotation: string;
  /** The owner's kind, to read it fresh from the API server. */
  kind: KindDescriptor;
}

/**
 * The plan of this reconcile, confirmed against a fresh read of the owner
 * before it starts a run: the cached owner may predate the status write that
 * recorded the run, and once that run's Job is pruned only the fresh status
 * says the run happened (a pruned newest slot or token must not run twice).
 * Costs one GET, only when the cached plan would start a run.
 */
export async function planConfirmedRuns<P>(
  session: RunSession<P>,
  owner: PlannedOwner,
  input: ConfirmedPlanInput,
): Promise<SchedulePlan> {
  const plan = planSessionRuns(session, owner, input);
  if (plan.start.length === 0) return plan;
  const { namespace, name, uid, resourceVersion } = owner.metadata;
  const fresh = await session.api.client.get<PlannedOwner>(input.kind, {
    namespace: namespace!,
    name: name!,
  });
  if (fresh.metadata.resourceVersion === resourceVersion) return plan;
  // A namesake created since is another owner: its own reconcile plans for it.
  if (fresh.metadata.uid !== uid) return { ...plan, start: [], stop: [] };
  session.api.log.info(
    { job: plan.start[0]!.job },
    "Re-planned from a fresh read of a stale owner",
  );
  return planSessionRuns(session, fresh, input);
}
