// The MaintenanceTask reconcile, run by the kit (kit/kind-controller.ts) once
// the spec is valid. One reconcile:
//   1. list the task's Jobs from the API server (fresh, not a cache);
//   2. results: each finished Job not yet recorded → a RunRecord from the
//      Job's outcome and its pod's termination message (and, for a successful
//      capacityCheck, its usage sample for status.capacitySamples, which the
//      next run gets as previousSamples);
//   3. watchdog: delete Jobs unfinished past timeout + grace;
//   4. plan: schedule slot / run once / run-now token → Jobs to start and
//      stop. Job names are deterministic and AlreadyExists counts as success,
//      so a restart between creating a Job and writing status starts nothing
//      twice. A databaseRestore task first reads its BackupPolicy (its claim
//      and path go into the Job); while that is missing the plan is held (no
//      Job, the slot or token not consumed), Ready=False names the field, one
//      Warning Event, and the task looks again after a minute;
//   5. return the status mutator, the Events (plan, then run results), the
//      re-queue (next schedule time or watchdog deadline) and, as afterStatus,
//      the Incident of the runs recorded here (incidents.ts: a failure or a
//      critical finding opens or repeats it, a clean success resolves it; an
//      Incident missed by a crash after the status write is opened or
//      resolved from the written status and status.incidentRef) and the
//      pruning of old Jobs: the kit writes status once, then the Events,
//      then prunes, then the Incident (and incidentRef when it changes).
// The Job mechanics are jobrun's; what is MaintenanceTask's is the pod per
// task type (job-builder.ts), the capacity samples and the status.
import { RUN_NOW_ANNOTATION } from "../../crds/common.ts";
import { parseDuration } from "../../lib/duration.ts";
import {
  maintenanceTaskDescriptor,
  taskType,
  type CapacitySample,
  type MaintenanceTaskSpec,
  type MaintenanceTaskStatus,
} from "../../crds/maintenancetask.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import type { KubeObject } from "../../runtime/kube.ts";
import {
  DEFAULT_WATCHDOG_GRACE_MS,
  activeRuns,
  collectFinished,
  existingJobNames,
  logRecords,
  markJobs,
  markRecorded,
  recordedJobNames,
  unmarkedInStatus,
  openRunSession,
  planConfirmedRuns,
  pruneFinished,
  recordEvents,
  runWatchdog,
  startRun,
  stopRuns,
  wakeAfter,
  blockedEvents,
  heldPlan,
  requeueWhileHeld,
  type Blocked,
  type JobRunOptions,
  type RunRecord,
  type RunSession,
  type SchedulePlan,
  type WatchdogTimes,
} from "../jobrun/index.ts";
import type { KindResult } from "../kit/index.ts";
import { resolveBackupRef, type BackupStorage } from "./backup-ref.ts";
import { crashPoint, CrashPoint } from "./crash-points.ts";
import { criticalDetails, reportRunIncidents } from "./incidents.ts";
import { buildJob, TASK_LABEL } from "./job-builder.ts";
import { capacitySampleOf, mergeCapacitySamples } from "./samples.ts";
import { limitsOf, recordedNames, statusMutator } from "./status.ts";

/** A MaintenanceTask as the controller reads it (the kit parses the spec after validation). */
export interface MaintenanceTask extends KubeObject {
  spec?: unknown;
  status?: MaintenanceTaskStatus;
}

export type MaintenanceTaskOptions = JobRunOptions;

/** What a finished run's result gives the task: its capacity sample, and whether it is critical. */
interface RunPayload {
  sample?: CapacitySample | undefined;
  critical: boolean;
}

type Session = RunSession<RunPayload>;

/** The capacity samples of the runs read in this reconcile. */
function samplesOf(session: Session): CapacitySample[] {
  return session.finished.flatMap((f) => (f.payload?.sample ? [f.payload.sample] : []));
}

/** Keeps the runner's critical finding in the run record, so status says it after a restart. */
function markCritical(session: Session): void {
  for (const f of session.finished)
    if (f.payload?.critical) f.record.details = criticalDetails(f.record.details);
}

/** What one reconcile works on. */
interface TaskReconcile {
  task: MaintenanceTask;
  spec: MaintenanceTaskSpec;
  session: Session;
  ctx: ReconcileContext;
  options: MaintenanceTaskOptions;
  /** databaseRestore: its BackupPolicy's storage, or why its runs are held back. */
  storage?: BackupStorage | undefined;
  blocked?: Blocked | undefined;
}

function planFor({ task, spec, session }: TaskReconcile): Promise<SchedulePlan> {
  return planConfirmedRuns(session, task, {
    spec,
    runNowAnnotation: RUN_NOW_ANNOTATION,
    kind: maintenanceTaskDescriptor,
  });
}

async function startRuns(r: TaskReconcile, plan: SchedulePlan): Promise<void> {
  const { task, session } = r;
  const owner = {
    name: task.metadata.name!,
    namespace: task.metadata.namespace!,
    uid: task.metadata.uid!,
    spec: r.spec,
    capacitySamples: mergeCapacitySamples(task.status?.capacitySamples, samplesOf(session)),
    backupStorage: r.storage,
  };
  for (const run of plan.start)
    await startRun(session, buildJob(owner, run, r.options.runnerImage), run.trigger);
}

function ownerRef(task: MaintenanceTask) {
  const m = task.metadata;
  return { namespace: m.namespace!, name: m.name!, uid: m.uid! };
}

function resultOf(
  { task, spec, session, ctx, blocked }: TaskReconcile,
  plan: SchedulePlan,
  times: WatchdogTimes & { nowMs: number },
): KindResult<MaintenanceTaskStatus> {
  let recorded: RunRecord[] = [];
  let written: MaintenanceTaskStatus | undefined;
  const mutate = statusMutator({
    spec,
    plan,
    records: session.records,
    samples: samplesOf(session),
    active: activeRuns(session),
    existing: existingJobNames(session),
    now: session.now,
    watchdog: { timeoutMs: times.timeoutMs, graceMs: times.graceMs },
    blocked,
    onRecorded: (records) => (recorded = records),
  });
  // The last application is what the kit wrote (or found unchanged).
  const status: typeof mutate = (s, obj) => {
    mutate(s, obj);
    written = s;
  };
  const next = spec.suspend ? undefined : plan.next;
  const requeueAfter = requeueWhileHeld(wakeAfter(session, { ...times, next }), blocked);
  return {
    status,
    events: [...plan.events, ...recordEvents(session), ...blockedEvents(task.status, blocked)],
    ...(requeueAfter !== undefined ? { requeueAfter } : {}),
    afterStatus: async () => {
      logRecords(session);
      // Marked before pruning: a crash between this status write and the
      // pruning must not record a run that status no longer holds again.
      await markRecorded(session);
      // Pruned first: a Job that status no longer holds (a newer record took
      // its place) would be recorded again if a crash or a failed Incident
      // call skipped its deletion.
      await pruneFinished(session, limitsOf(spec));
      if (recorded.length > 0) crashPoint(CrashPoint.RunRecorded);
      await reportRunIncidents(ctx, {
        source: { kind: "MaintenanceTask", ...ownerRef(task) },
        policy: spec.incident,
        records: recorded,
        status: written,
      });
    },
  };
}

/** One reconcile of a task whose spec is valid. */
export async function reconcileMaintenanceTask(
  task: MaintenanceTask,
  spec: MaintenanceTaskSpec,
  ctx: ReconcileContext,
  options: MaintenanceTaskOptions,
): Promise<KindResult<MaintenanceTaskStatus>> {
  const owner = {
    namespace: task.metadata.namespace!,
    name: task.metadata.name!,
    uid: task.metadata.uid!,
    label: TASK_LABEL,
  };
  const session: Session = await openRunSession(ctx, owner, new Date(ctx.clock.now()));
  const ref = await resolveBackupRef(spec, owner.namespace, ctx);
  const r: TaskReconcile = {
    task,
    spec,
    session,
    ctx,
    options,
    ...(ref !== undefined && "storage" in ref ? { storage: ref.storage } : {}),
    ...(ref !== undefined && "blocked" in ref ? { blocked: ref.blocked } : {}),
  };
  const times = {
    timeoutMs: parseDuration(spec.timeout),
    graceMs: options.watchdogGraceMs ?? DEFAULT_WATCHDOG_GRACE_MS,
  };
  const type = taskType(spec.task);
  const inStatus = recordedNames(task.status);
  // Marked before this status write, which may move them out of history.
  await markJobs(session, unmarkedInStatus(session, inStatus));
  await collectFinished(session, recordedJobNames(session, inStatus), (record, runner) => ({
    sample: capacitySampleOf(type, record, runner),
    critical: record.result === "Succeeded" && runner?.severity === "critical",
  }));
  markCritical(session);
  await runWatchdog(session, times);
  const plan = r.blocked ? heldPlan(await planFor(r)) : await planFor(r);
  await stopRuns(session, plan.stop);
  await startRuns(r, plan);
  return resultOf(r, plan, { ...times, nowMs: ctx.clock.now() });
}
