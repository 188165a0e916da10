// Pure: the status mutator of one reconcile. The kit applies it to the
// cached object's status and, on a 409, to a fresh read's, so it works from
// the status it is given (never from what the reconcile read): a stale cache
// never undoes a record written by an earlier reconcile.
import { CommonConditionType } from "../../crds/conditions.ts";
import {
  MAX_HISTORY,
  MaintenanceTaskCondition,
  MaintenanceTaskReason,
  taskType,
  type ActiveRun,
  type CapacitySample,
  type MaintenanceTaskSpec,
  type MaintenanceTaskStatus,
  type RunRecord,
} from "../../crds/maintenancetask.ts";
import { setCondition } from "../../runtime/conditions.ts";
import {
  applyPlan,
  boundHistory,
  lastSuccessfulTime,
  mergeHistory,
  supersedes,
  suspendedCondition,
  vanishedRuns,
  type WatchdogLimits,
  type Blocked,
  type HistoryLimits,
  type SchedulePlan,
} from "../jobrun/index.ts";
import { mergeCapacitySamples } from "./samples.ts";

export interface StatusInput {
  spec: MaintenanceTaskSpec;
  plan: SchedulePlan;
  /** Final records from this reconcile (finished, stopped, overdue Jobs). */
  records: RunRecord[];
  /** capacityCheck samples of the successful runs among `records` (default none). */
  samples?: CapacitySample[];
  /** Runs whose Jobs are unfinished after this reconcile (including new ones). */
  active: ActiveRun[];
  /** Names of all the task's Jobs seen in this reconcile (existing or created). */
  existing: ReadonlySet<string>;
  now: Date;
  /** The watchdog's limits: a run that vanished past them is recorded TimedOut (jobrun/watchdog.ts). */
  watchdog?: WatchdogLimits | undefined;
  /** Runs held back (databaseRestore whose BackupPolicy is missing): Ready=False with this. */
  blocked?: Blocked | undefined;
  /**
   * Told at each application which final records the status did not hold yet
   * (this reconcile's and vanished runs): the last call is what the write
   * recorded, so a reconcile on a stale cache reports nothing twice.
   */
  onRecorded?: ((records: RunRecord[]) => void) | undefined;
}

export function limitsOf(spec: MaintenanceTaskSpec): HistoryLimits {
  return {
    successful: spec.successfulRunsHistoryLimit,
    failed: spec.failedRunsHistoryLimit,
    max: MAX_HISTORY,
  };
}

/** Jobs whose final record is in status (history or a finished lastRun). */
export function recordedNames(status: MaintenanceTaskStatus | undefined): Set<string> {
  const names = new Set((status?.history ?? []).map((r) => r.job));
  if (status?.lastRun && status.lastRun.result !== "Running") names.add(status.lastRun.job);
  return names;
}

function applyRecords(
  status: MaintenanceTaskStatus,
  input: StatusInput,
  records: RunRecord[],
): void {
  const limits = limitsOf(input.spec);
  const history = mergeHistory(status.history, records, limits);
  if (history.length > 0) status.history = history;
  else delete status.history;
  for (const r of [...records].sort((a, b) => (a.startTime ?? "").localeCompare(b.startTime ?? "")))
    if (supersedes(r, status.lastRun)) status.lastRun = r;
  const success = lastSuccessfulTime(status.lastSuccessfulTime, records);
  if (success) status.lastSuccessfulTime = success;
}

function applyStarted(status: MaintenanceTaskStatus, input: StatusInput): void {
  for (const run of input.plan.start) {
    const active = input.active.find((a) => a.job === run.job);
    if (!active) continue;
    const current: RunRecord = { job: run.job, startTime: active.startTime, result: "Running" };
    if (run.trigger) current.trigger = run.trigger;
    if (active.scheduledTime) current.scheduledTime = active.scheduledTime;
    if (supersedes(current, status.lastRun)) status.lastRun = current;
  }
}

function readyMessage(input: StatusInput, status: MaintenanceTaskStatus): [string, string] {
  if (input.blocked) return [input.blocked.reason, input.blocked.message];
  if (input.spec.suspend) return [MaintenanceTaskReason.Suspended, "suspended: no new runs start"];
  if (input.spec.schedule !== undefined)
    return [MaintenanceTaskReason.Scheduled, `next run at ${status.nextScheduleTime ?? "never"}`];
  return status.lastScheduleTime
    ? [MaintenanceTaskReason.RanOnce, "the task has no schedule and was started once"]
    : [MaintenanceTaskReason.Pending, "the task has no schedule and runs once"];
}

type Cond = { type: string; status: "True" | "False"; reason: string; message: string };

function progressingCondition(status: MaintenanceTaskStatus): Cond {
  const active = status.active ?? [];
  const type = CommonConditionType.Progressing;
  if (active.length === 0)
    return { type, status: "False", reason: MaintenanceTaskReason.Idle, message: "" };
  return {
    type,
    status: "True",
    reason: MaintenanceTaskReason.RunActive,
    message: `running: ${active.map((a) => a.job).join(", ")}`,
  };
}

function lastRunCondition(status: MaintenanceTaskStatus): Cond | undefined {
  const last = status.lastRun;
  if (last === undefined || last.result === "Running") return undefined;
  const ok = last.result === "Succeeded";
  return {
    type: MaintenanceTaskCondition.LastRunSucceeded,
    status: ok ? "True" : "False",
    reason: ok ? MaintenanceTaskReason.Succeeded : (last.details?.reason ?? last.result),
    message: `${last.job}: ${last.summary ?? last.result}`.slice(0, 1024),
  };
}

function applyConditions(
  status: MaintenanceTaskStatus,
  input: StatusInput,
  generation?: number,
): void {
  const [reason, message] = readyMessage(input, status);
  const conditions: (Cond | undefined)[] = [
    { type: CommonConditionType.Ready, status: input.blocked ? "False" : "True", reason, message },
    suspendedCondition(input.spec.suspend),
    progressingCondition(status),
    lastRunCondition(status),
  ];
  for (const c of conditions) if (c) setCondition(status, c, generation, input.now);
}

/** The status mutator of one reconcile. */
export function statusMutator(input: StatusInput) {
  return (status: MaintenanceTaskStatus, obj: { metadata: { generation?: number } }): void => {
    const generation = obj.metadata.generation;
    const recorded = recordedNames(status);
    const vanished = vanishedRuns({
      active: status.active,
      existing: input.existing,
      recorded: new Set([...recorded, ...input.records.map((r) => r.job)]),
      now: input.now,
      watchdog: input.watchdog,
    });
    const fresh = [...input.records, ...vanished];
    input.onRecorded?.(fresh.filter((r) => !recorded.has(r.job)));
    status.observedGeneration = generation;
    const type = taskType(input.spec.task);
    if (type) status.task = type;
    applyPlan(status, input.plan, input.spec.suspend);
    if (input.active.length > 0) status.active = input.active;
    else delete status.active;
    applyRecords(status, input, fresh);
    applyStarted(status, input);
    if (input.samples && input.samples.length > 0)
      status.capacitySamples = mergeCapacitySamples(status.capacitySamples, input.samples);
    if (status.history) status.history = boundHistory(status.history, limitsOf(input.spec));
    applyConditions(status, input, generation);
  };
}
