// Pure: what the schedule, the "run once" rule and the run-now annotation ask
// for in one reconcile: which Jobs to start and stop, what to record, and when
// to look again. Job names are deterministic (per slot, per token, once), so a
// Job that already exists means "already started": nothing is created twice.
// Generic over the owner: it gives its schedule fields, the two status fields
// planning reads, and the name of its run-now annotation.
import {
  decide,
  decideConcurrency,
  onceJobName,
  resolveSchedule,
  runNowJobName,
  scheduledJobName,
  validateTimeZone,
  type ConcurrencyPolicy,
} from "../../schedule/index.ts";
import type { EventInput } from "../../runtime/events.ts";
import { JobRunEventReason } from "../../crds/conditions.ts";
import type { RunRequest } from "./types.ts";

export type PlanEvent = EventInput & { type: "Normal" | "Warning" };

export interface SchedulePlan {
  /** The five-field cron in force (hashed-random forms resolved). */
  resolved?: string;
  /** Next schedule time (absent without a schedule). */
  next?: Date;
  /** Runs to start (a Job that already exists counts as started). */
  start: RunRequest[];
  /** Active Jobs to stop first (concurrencyPolicy Replace). */
  stop: string[];
  /** New lastScheduleTime (slot run, skipped or missed; the once run's time). */
  lastScheduleTime?: Date;
  /** New lastRunNowToken. */
  runNowToken?: string;
  events: PlanEvent[];
}

/** The spec fields planning reads. Without a schedule the owner runs once. */
export interface PlanSpec {
  schedule?: string | undefined;
  timeZone?: string | undefined;
  startingDeadlineSeconds?: number | undefined;
  suspend: boolean;
  concurrencyPolicy: ConcurrencyPolicy;
}

/** The status fields planning reads. */
export interface PlanStatus {
  lastScheduleTime?: string | undefined;
  lastRunNowToken?: string | undefined;
}

export interface PlanInput {
  namespace: string;
  name: string;
  spec: PlanSpec;
  status: PlanStatus | undefined;
  annotations: Record<string, string> | undefined;
  /** The annotation whose new values each start one run (e.g. pake.dev/run-now). */
  runNowAnnotation: string;
  creationTime: Date;
  now: Date;
  /** Names of the owner's Jobs that exist. */
  existing: ReadonlySet<string>;
  /** Names of the owner's unfinished Jobs. */
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
    plan.events.push({
      type: "Warning",
      reason: JobRunEventReason.MissedSchedule,
      message: d.message,
    });
    return;
  }
  startSlot(input, plan, {
    slot: d.slot,
    message: d.message,
    catchingUp: d.reason === JobRunEventReason.CatchingUp,
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
    const reason = JobRunEventReason.SkippedConcurrentRun;
    plan.events.push({ type: "Warning", reason, message: c.message });
    return;
  }
  plan.stop.push(...c.stop);
  plan.start.push({ job, trigger: "Schedule", slot: d.slot });
  const reason = d.catchingUp ? JobRunEventReason.CatchingUp : JobRunEventReason.ScheduledRun;
  plan.events.push({ type: "Normal", reason, message: `${d.message}: Job ${job}` });
}

function oncePlan(input: PlanInput, plan: SchedulePlan): void {
  if (input.spec.suspend || input.status?.lastScheduleTime !== undefined) return;
  const job = onceJobName(input.name);
  plan.lastScheduleTime = input.now;
  if (input.existing.has(job)) return;
  plan.start.push({ job, trigger: "Once" });
  const message = `running once: Job ${job}`;
  plan.events.push({ type: "Normal", reason: JobRunEventReason.RunOnce, message });
}

function runNowPlan(input: PlanInput, plan: SchedulePlan): void {
  const token = input.annotations?.[input.runNowAnnotation];
  if (token === undefined || token === "" || token === input.status?.lastRunNowToken) return;
  plan.runNowToken = token;
  const job = runNowJobName(input.name, token);
  if (input.existing.has(job)) return;
  plan.start.push({ job, trigger: "RunNow", token });
  plan.events.push({
    type: "Normal",
    reason: JobRunEventReason.RunNow,
    message: `run requested by ${input.runNowAnnotation}=${token}: Job ${job}`,
  });
}

/** The plan for one reconcile of a valid owner. */
export function planRuns(input: PlanInput): SchedulePlan {
  const plan: SchedulePlan = { start: [], stop: [], events: [] };
  if (input.spec.schedule !== undefined) scheduledPlan(input, plan);
  else oncePlan(input, plan);
  runNowPlan(input, plan);
  return plan;
}
