// The MaintenanceTask controller. One reconcile:
//   1. semantic spec validation (SpecValid; an invalid spec — e.g. an unknown
//      time zone — gives a condition and one Warning Event, and no run);
//   2. list the task's Jobs from the API server (fresh, not a cache);
//   3. results: each finished Job not yet recorded → a RunRecord from the
//      Job's outcome and its pod's termination message (and, for a successful
//      capacityCheck, its usage sample for status.capacitySamples, which the
//      next run gets as previousSamples);
//   4. watchdog: delete Jobs unfinished past timeout + grace;
//   5. plan: schedule slot / run once / run-now token → Jobs to start and
//      stop. Job names are deterministic and AlreadyExists counts as success,
//      so a restart between creating a Job and writing status starts nothing
//      twice;
//   6. write status (only when it changed), Events, prune old Jobs;
//   7. re-queue exactly at the next schedule time or watchdog deadline.
import { parseDuration } from "../../crds/common.ts";
import {
  MaintenanceTaskSpec,
  maintenanceTaskDescriptor,
  taskType,
  type ActiveRun,
  type CapacitySample,
  type MaintenanceTaskStatus,
  type RunRecord,
} from "../../crds/maintenancetask.ts";
import type { ReconcileContext, ReconcileResult } from "../../runtime/controller.ts";
import { errorMessage, isAlreadyExists, isConflict, isNotFound } from "../../runtime/errors.ts";
import type { KubeObject } from "../../runtime/kube.ts";
import { computeStatus, updateStatus } from "../../runtime/status.ts";
import { reconcileSpecValidity, type SpecValidator } from "../spec-validation.ts";
import { validateMaintenanceTask } from "../validators.ts";
import { jobsToPrune } from "./history.ts";
import { buildJob, jobKind, podKind, TASK_LABEL, type RunRequest } from "./job-builder.ts";
import {
  abortedRecord,
  isFinished,
  jobStartTime,
  recordFromJob,
  runMetaOf,
  terminationResult,
  type JobObject,
  type PodObject,
} from "./results.ts";
import { capacitySampleOf, mergeCapacitySamples } from "./samples.ts";
import { planRuns, type SchedulePlan } from "./schedule.ts";
import { limitsOf, statusMutator } from "./status.ts";
import { DEFAULT_WATCHDOG_GRACE_MS, overdueJobs, watchdogDeadline } from "./watchdog.ts";

/** A MaintenanceTask as the controller reads it (spec parsed after validation). */
export interface MaintenanceTask extends KubeObject {
  spec?: unknown;
  status?: MaintenanceTaskStatus;
}

const validate = validateMaintenanceTask as unknown as SpecValidator<MaintenanceTask>;

export interface MaintenanceTaskOptions {
  runnerImage: string;
  /** Grace after spec.timeout before the watchdog ends a run. Default 60 s. */
  watchdogGraceMs?: number;
}

interface RunState {
  task: MaintenanceTask;
  spec: MaintenanceTaskSpec;
  ctx: ReconcileContext;
  now: Date;
  jobs: JobObject[];
  records: RunRecord[];
  /** capacityCheck samples from the runs recorded in this reconcile. */
  samples: CapacitySample[];
  /** Jobs deleted in this reconcile (overdue, replaced). */
  deleted: Set<string>;
  created: JobObject[];
}

async function listJobs(task: MaintenanceTask, ctx: ReconcileContext): Promise<JobObject[]> {
  const list = await ctx.client.list<JobObject>(jobKind, {
    namespace: task.metadata.namespace,
    labelSelector: `${TASK_LABEL}=${task.metadata.name}`,
  });
  return list.items.filter((j) =>
    (j.metadata.ownerReferences ?? []).some(
      (r) => r.controller === true && r.uid === task.metadata.uid,
    ),
  );
}

async function newestPod(job: JobObject, ctx: ReconcileContext): Promise<PodObject | undefined> {
  const pods = await ctx.client.list<PodObject>(podKind, {
    namespace: job.metadata.namespace,
    labelSelector: `job-name=${job.metadata.name}`,
  });
  const sorted = pods.items.sort((a, b) =>
    String(b.metadata.creationTimestamp ?? "").localeCompare(
      String(a.metadata.creationTimestamp ?? ""),
    ),
  );
  return (
    sorted.find((p) => p.status?.containerStatuses?.some((s) => s.state?.terminated)) ?? sorted[0]
  );
}

function recordedJobs(status: MaintenanceTaskStatus | undefined): Set<string> {
  const names = new Set((status?.history ?? []).map((r) => r.job));
  if (status?.lastRun && status.lastRun.result !== "Running") names.add(status.lastRun.job);
  return names;
}

async function collectResults(state: RunState): Promise<void> {
  const recorded = recordedJobs(state.task.status);
  for (const job of state.jobs) {
    if (!isFinished(job) || recorded.has(job.metadata.name!)) continue;
    const pod = await newestPod(job, state.ctx);
    const record = recordFromJob(job, pod);
    if (!record) continue;
    state.records.push(record);
    const sample = capacitySampleOf(taskType(state.spec.task), record, terminationResult(pod));
    if (sample) state.samples.push(sample);
  }
}

async function deleteJob(state: RunState, name: string): Promise<void> {
  try {
    await state.ctx.client.delete(
      jobKind,
      { namespace: state.task.metadata.namespace, name },
      { propagationPolicy: "Background" },
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  state.deleted.add(name);
}

async function runWatchdog(state: RunState, graceMs: number): Promise<void> {
  const overdue = overdueJobs({
    unfinished: state.jobs.filter((j) => !isFinished(j)),
    timeoutMs: parseDuration(state.spec.timeout),
    graceMs,
    now: state.now,
  });
  for (const o of overdue) {
    await deleteJob(state, o.job);
    state.records.push(o.record);
    state.ctx.log.warn({ job: o.job }, "Deleted overdue Job");
  }
}

async function stopJobs(state: RunState, names: string[]): Promise<void> {
  for (const name of names) {
    const job = state.jobs.find((j) => j.metadata.name === name);
    await deleteJob(state, name);
    state.records.push(
      abortedRecord({
        job: name,
        meta: job ? runMetaOf(job) : {},
        startTime: job ? jobStartTime(job) : undefined,
        now: state.now,
        result: "Cancelled",
        reason: "Replaced",
        message: "stopped by concurrencyPolicy Replace for a newer run",
      }),
    );
    state.ctx.log.info({ job: name }, "Stopped active run for Replace");
  }
}

async function startJob(state: RunState, run: RunRequest, runnerImage: string): Promise<void> {
  const t = state.task;
  const manifest = buildJob(
    {
      name: t.metadata.name!,
      namespace: t.metadata.namespace!,
      uid: t.metadata.uid!,
      spec: state.spec,
      capacitySamples: mergeCapacitySamples(t.status?.capacitySamples, state.samples),
    },
    run,
    runnerImage,
  );
  try {
    const created = await state.ctx.client.create<JobObject>(jobKind, manifest);
    state.created.push(created);
    state.ctx.log.info({ job: run.job, trigger: run.trigger }, "Created Job");
  } catch (err) {
    // A Job of this name exists: an earlier reconcile created it (and maybe
    // crashed before writing status). Same name, same run: nothing to do.
    if (!isAlreadyExists(err)) throw err;
    const existing = await state.ctx.client.get<JobObject>(jobKind, {
      namespace: t.metadata.namespace,
      name: run.job,
    });
    if (!isFinished(existing)) state.created.push(existing);
    state.ctx.log.info({ job: run.job }, "Found Job already created");
  }
}

function createdAt(job: JobObject): string | undefined {
  const t = job.metadata.creationTimestamp as unknown;
  if (t instanceof Date) return t.toISOString().replace(".000Z", "Z");
  return typeof t === "string" ? t : undefined;
}

function activeRuns(state: RunState): ActiveRun[] {
  const byName = new Map<string, JobObject>();
  for (const j of [...state.jobs, ...state.created]) byName.set(j.metadata.name!, j);
  const runs: ActiveRun[] = [];
  for (const job of byName.values()) {
    if (isFinished(job) || state.deleted.has(job.metadata.name!) || job.metadata.deletionTimestamp)
      continue;
    const meta = runMetaOf(job);
    runs.push({
      job: job.metadata.name!,
      // The creation time is stable (status.startTime arrives later and would cost a write).
      startTime: createdAt(job) ?? state.now.toISOString(),
      ...(meta.scheduledTime ? { scheduledTime: meta.scheduledTime } : {}),
      ...(meta.trigger ? { trigger: meta.trigger } : {}),
    });
  }
  return runs.sort((a, b) => a.startTime.localeCompare(b.startTime)).slice(-16);
}

async function emitEvents(state: RunState, plan: SchedulePlan): Promise<void> {
  const { ctx, task } = state;
  for (const e of plan.events) await ctx.events.record(task, e);
  for (const r of state.records) {
    const ok = r.result === "Succeeded";
    const reason = ok ? "RunSucceeded" : "RunFailed";
    await ctx.events.record(task, {
      type: ok ? "Normal" : "Warning",
      reason,
      message: `${r.job}: ${r.result}: ${r.summary ?? ""}`,
    });
    ctx.log.info(
      { job: r.job, result: r.result },
      ok ? "Recorded successful run" : "Recorded failed run",
    );
  }
}

async function pruneJobs(state: RunState): Promise<void> {
  const remaining = state.jobs.filter((j) => !state.deleted.has(j.metadata.name!));
  for (const name of jobsToPrune(remaining, limitsOf(state.spec))) {
    await deleteJob(state, name);
    state.ctx.log.info({ job: name }, "Pruned finished Job");
  }
}

function requeueAfter(state: RunState, plan: SchedulePlan, graceMs: number): ReconcileResult {
  const nowMs = state.ctx.clock.now();
  const times: number[] = [];
  if (plan.next && !state.spec.suspend) times.push(plan.next.getTime());
  const timeoutMs = parseDuration(state.spec.timeout);
  for (const job of [...state.jobs, ...state.created]) {
    if (isFinished(job) || state.deleted.has(job.metadata.name!)) continue;
    times.push(watchdogDeadline(job, timeoutMs, graceMs));
  }
  if (times.length === 0) return {};
  return { requeueAfter: Math.max(1, Math.min(...times) - nowMs) };
}

/** One reconcile of a MaintenanceTask (exported for tests that drive it with a FakeClock). */
export async function reconcileMaintenanceTask(
  task: MaintenanceTask,
  ctx: ReconcileContext,
  options: MaintenanceTaskOptions,
): Promise<ReconcileResult> {
  const valid = await reconcileSpecValidity(task, ctx, {
    kind: maintenanceTaskDescriptor,
    validate,
  });
  if (!valid) return {};
  const graceMs = options.watchdogGraceMs ?? DEFAULT_WATCHDOG_GRACE_MS;
  const state: RunState = {
    task,
    spec: MaintenanceTaskSpec.parse(task.spec),
    ctx,
    now: new Date(ctx.clock.now()),
    jobs: await listJobs(task, ctx),
    records: [],
    samples: [],
    deleted: new Set(),
    created: [],
  };
  await collectResults(state);
  await runWatchdog(state, graceMs);
  const plan = planRuns({
    namespace: task.metadata.namespace!,
    name: task.metadata.name!,
    spec: state.spec,
    status: task.status,
    annotations: task.metadata.annotations,
    creationTime: new Date(String(task.metadata.creationTimestamp)),
    now: state.now,
    existing: new Set(state.jobs.map((j) => j.metadata.name!)),
    active: state.jobs
      .filter((j) => !isFinished(j) && !state.deleted.has(j.metadata.name!))
      .map((j) => j.metadata.name!),
  });
  await stopJobs(state, plan.stop);
  for (const run of plan.start) await startJob(state, run, options.runnerImage);
  await writeStatus(state, plan);
  await emitEvents(state, plan);
  await pruneJobs(state);
  return requeueAfter(state, plan, graceMs);
}

/**
 * Writes the status computed from the cached object, guarded by its
 * resourceVersion (saves the read). False on 409: the cache was stale, and
 * updateStatus re-reads and re-applies the mutator.
 */
async function writeFromCache(state: RunState, status: MaintenanceTaskStatus): Promise<boolean> {
  if (!state.task.metadata.resourceVersion) return false;
  try {
    await state.ctx.client.replace(
      maintenanceTaskDescriptor,
      { ...state.task, status },
      { subresource: "status" },
    );
    return true;
  } catch (err) {
    if (isConflict(err)) return false;
    throw err;
  }
}

async function writeStatus(state: RunState, plan: SchedulePlan): Promise<void> {
  const mutate = statusMutator({
    spec: state.spec,
    plan,
    records: state.records,
    samples: state.samples,
    active: activeRuns(state),
    existing: new Set(
      [...state.jobs, ...state.created]
        .map((j) => j.metadata.name!)
        .filter((n) => !state.deleted.has(n)),
    ),
    now: state.now,
  });
  const mutators = [mutate];
  const computed = computeStatus<MaintenanceTaskStatus, KubeObject>(state.task, mutators);
  if (!computed.changed) return;
  if (await writeFromCache(state, computed.status)) return;
  try {
    await updateStatus<KubeObject, MaintenanceTaskStatus>(
      state.ctx.client,
      {
        kind: maintenanceTaskDescriptor,
        namespace: state.task.metadata.namespace,
        name: state.task.metadata.name!,
      },
      mutators,
    );
  } catch (err) {
    state.ctx.log.warn({ err: errorMessage(err) }, "Could not write status");
    throw err;
  }
}
