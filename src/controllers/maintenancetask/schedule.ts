// Pure: what the schedule, the "run once" rule and the run-now annotation ask
// for in one reconcile: which Jobs to start and stop, what to record, and when
// to look again. Job names are deterministic (per slot, per token, once), so a
// Job that already exists means "already started": nothing is created twice.
import { RUN_NOW_ANNOTATION } from "../../crds/common.ts";
import type { MaintenanceTaskSpec, MaintenanceTaskStatus } from "../../crds/maintenancetask.ts";
import {
  decide,
  decideConcurrency,
  onceJobName,
  resolveSchedule,
  runNowJobName,
  scheduledJobName,
  validateTimeZone,
} from "../../schedule/index.ts";
import type { RunRequest } from "./job-builder.ts";

export interface PlanEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface SchedulePlan {
  /** The five-field cron in force (hashed-random forms resolved). */
  resolved?: string;
  /** Next schedule time (absent without a schedule). */
  next?: Date;
  /** Runs to start (a Job that already exists counts as started). */
  start: RunRequest[];
  /** Active Jobs to stop first (concurrencyPolicy Replace). */
  stop: string[];
  /** New status.lastScheduleTime (slot run, skipped or missed; the once run's time). */
  lastScheduleTime?: Date;
  /** New status.lastRunNowToken. */
  runNowToken?: string;
  events: PlanEvent[];
}

export interface PlanInput {
  namespace: string;
  name: string;
  spec: MaintenanceTaskSpec;
  status: MaintenanceTaskStatus | undefined;
  annotations: Record<string, string> | undefined;
  creationTime: Date;
  now: Date;
  /** Names of the task's Jobs that exist. */
  existing: ReadonlySet<string>;
  /** Names of the task's unfinished Jobs. */
  active: string[];
}

function scheduledPlan(input: PlanInput, plan: SchedulePlan): void {
  const owner = { namespace: input.namespace, name: input.name };
  const resolved = resolveSchedule(input.spec.schedule!, owner);
  const zone = validateTimeZone(input.spec.timeZone ?? "UTC");
  if (resolved.expression === undefined || !zone.valid) return;
  plan.resolved = resolved.cron;
  const last = input.status?.lastScheduleTime;
  const d = decide({
    cron: resolved.expression,
    timeZone: zone.zone,
    now: input.now,
    lastScheduleTime: last ? new Date(last) : undefined,
    creationTime: input.creationTime,
    startingDeadlineSeconds: input.spec.startingDeadlineSeconds,
    suspend: input.spec.suspend,
  });
  plan.next = d.next;
  if (d.action === "wait" || d.slot === undefined) return;
  plan.lastScheduleTime = d.slot;
  if (d.action === "missed") {
    plan.events.push({ type: "Warning", reason: "MissedSchedule", message: d.message });
    return;
  }
  startSlot(input, plan, {
    slot: d.slot,
    message: d.message,
    catchingUp: d.reason === "CatchingUp",
  });
}

function startSlot(
  input: PlanInput,
  plan: SchedulePlan,
  d: { slot: Date; message: string; catchingUp: boolean },
): void {
  const job = scheduledJobName(input.name, d.slot);
  if (input.existing.has(job)) return;
  const c = decideConcurrency({
    policy: input.spec.concurrencyPolicy,
    active: input.active.map((j) => ({ job: j })),
  });
  if (c.action === "skip") {
    plan.events.push({ type: "Warning", reason: "SkippedConcurrentRun", message: c.message });
    return;
  }
  plan.stop.push(...c.stop);
  plan.start.push({ job, trigger: "Schedule", slot: d.slot });
  const reason = d.catchingUp ? "CatchingUp" : "ScheduledRun";
  plan.events.push({ type: "Normal", reason, message: `${d.message}: Job ${job}` });
}

function oncePlan(input: PlanInput, plan: SchedulePlan): void {
  if (input.spec.suspend || input.status?.lastScheduleTime !== undefined) return;
  const job = onceJobName(input.name);
  plan.lastScheduleTime = input.now;
  if (input.existing.has(job)) return;
  plan.start.push({ job, trigger: "Once" });
  plan.events.push({ type: "Normal", reason: "RunOnce", message: `running once: Job ${job}` });
}

function runNowPlan(input: PlanInput, plan: SchedulePlan): void {
  const token = input.annotations?.[RUN_NOW_ANNOTATION];
  if (token === undefined || token === "" || token === input.status?.lastRunNowToken) return;
  plan.runNowToken = token;
  const job = runNowJobName(input.name, token);
  if (input.existing.has(job)) return;
  plan.start.push({ job, trigger: "RunNow", token });
  plan.events.push({
    type: "Normal",
    reason: "RunNow",
    message: `run requested by ${RUN_NOW_ANNOTATION}=${token}: Job ${job}`,
  });
}

/** The plan for one reconcile of a valid task. */
export function planRuns(input: PlanInput): SchedulePlan {
  const plan: SchedulePlan = { start: [], stop: [], events: [] };
  if (input.spec.schedule !== undefined) scheduledPlan(input, plan);
  else oncePlan(input, plan);
  runNowPlan(input, plan);
  return plan;
}
