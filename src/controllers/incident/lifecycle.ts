// The Incident's response lifecycle, as one pure function of what the API
// holds (spec, metadata, status), the operator's incident policy and the
// time. Nothing is kept in memory: deadlines, escalation times and closing
// times are all computed from status, so a restarted operator or a new
// leader continues exactly where the last one stopped.
//
//   (no phase)   → Open: openedAt = creation, responseDeadline from the severity
//   Open         → Acknowledged (spec.acknowledged)        stops escalation
//   Open, Ack    → Resolved (spec.resolved)                wins over a concurrent ack
//   Resolved, Closed → Open/Acknowledged (spec.resolved false again): reopened, new deadline
//   Open past nextEscalationTime → breached, escalationLevel + 1 (up to the last level)
//   Resolved past resolvedAt + closeAfter → Closed
//   Closed past resolvedAt + deleteAfter → deleted
//
// Each transition adds a timeline entry (with its actor), an Event, and for
// Opened, Escalated, Resolved and Reopened the notifications its routes ask
// for (queued in status.notifications; delivery.ts sends them).
import type { IncidentPolicy } from "../../config/incident-policy.ts";
import {
  IncidentCondition,
  IncidentEventReason,
  IncidentReason,
  MAX_TIMELINE,
  type IncidentPhase,
  type IncidentSpec,
  type IncidentStatus,
  type TimelineEntry,
} from "../../crds/incident.ts";
import { setCondition, type ConditionInput } from "../../runtime/conditions.ts";
import type { EventInput } from "../../runtime/events.ts";
import { formatTime } from "../../runtime/normalize.ts";
import { actorOf } from "./actor.ts";
import { queueNotifications, type NotificationRequest } from "./notifications.ts";

/** Timeline actor of what the operator does on its own (deadlines, closing). */
export const OPERATOR_ACTOR = "pake-operator";

/** Longest timeline message the CRD accepts. */
const TIMELINE_MESSAGE_MAX = 1024;

/** The parts of an Incident the lifecycle reads. */
export interface LifecycleIncident {
  metadata: {
    creationTimestamp?: string | Date | undefined;
    generation?: number | undefined;
    annotations?: Record<string, string> | undefined;
    managedFields?: unknown[] | undefined;
    uid?: string | undefined;
  };
  spec: IncidentSpec;
}

export interface LifecycleInput {
  incident: LifecycleIncident;
  status: IncidentStatus;
  policy: IncidentPolicy;
  now: number;
}

export interface LifecycleOutput {
  status: IncidentStatus;
  events: EventInput[];
  /** Retention is over: delete the Incident. */
  expired: boolean;
}

/** Working state of one computation: the status being built and what it emits. */
interface Step {
  readonly input: LifecycleInput;
  status: IncidentStatus;
  events: EventInput[];
  notifications: NotificationRequest[];
}

const toMs = (t: string | Date | undefined): number | undefined =>
  t === undefined ? undefined : new Date(t).getTime();

/** The status with one more timeline entry, oldest dropped beyond MAX_TIMELINE. */
export function withTimelineEntry(status: IncidentStatus, entry: TimelineEntry): IncidentStatus {
  const timeline = [...(status.timeline ?? []), entry].slice(-MAX_TIMELINE);
  return { ...status, timeline };
}

function record(step: Step, entry: Omit<TimelineEntry, "time">, event?: EventInput): void {
  const message = entry.message?.slice(0, TIMELINE_MESSAGE_MAX);
  step.status = withTimelineEntry(step.status, {
    time: formatTime(step.input.now),
    ...entry,
    ...(message !== undefined ? { message } : {}),
  });
  if (event !== undefined) step.events.push(event);
}

function severityRule(step: Step) {
  return step.input.policy.severities[step.input.incident.spec.severity];
}

/** Who is responsible at an escalation level (the last target beyond the list). */
export function targetAt(escalation: readonly string[], level: number): string {
  return escalation[Math.min(level, escalation.length - 1)] ?? "";
}

/** The highest level escalation reaches: the last target, and at least 1 (a breach always escalates). */
export function maxLevel(escalation: readonly string[]): number {
  return Math.max(1, escalation.length - 1);
}

/** Open (again) at `at`: a fresh deadline, level 0. */
function openEpisode(step: Step, at: number, phase: IncidentPhase): void {
  const rule = severityRule(step);
  const deadline = formatTime(at + rule.acknowledgeWithinMs);
  step.status = {
    ...step.status,
    phase,
    openedAt: formatTime(at),
    responseDeadline: deadline,
    nextEscalationTime: deadline,
    escalationLevel: 0,
    escalationTarget: targetAt(rule.escalation, 0),
    breached: false,
  };
}

function sourceName(spec: IncidentSpec): string | undefined {
  return spec.source ? `${spec.source.kind}/${spec.source.name}` : undefined;
}

function specActor(step: Step, field: string): string {
  const { metadata, spec } = step.input.incident;
  return actorOf(
    metadata as Parameters<typeof actorOf>[0],
    field,
    sourceName(spec) ?? OPERATOR_ACTOR,
  );
}

function initialise(step: Step): void {
  if (step.status.phase !== undefined) return;
  const { incident } = step.input;
  const created = toMs(incident.metadata.creationTimestamp) ?? step.input.now;
  openEpisode(step, created, "Open");
  const occurrences = step.status.occurrences ?? 1;
  step.status.recordedOccurrences = occurrences;
  const source = sourceName(incident.spec);
  const by = source ?? specActor(step, "title");
  step.status.source = source ?? `manual (${by})`;
  const message = step.status.lastMessage ?? incident.spec.title;
  record(
    step,
    { type: "Opened", message: `${incident.spec.severity}: ${message}`, actor: by },
    { type: "Warning", reason: IncidentEventReason.Opened, message: `Opened by ${by}: ${message}` },
  );
  step.notifications.push({ event: "Opened", level: 0 });
}

function recordOccurrences(step: Step): void {
  const { status } = step;
  const occurrences = status.occurrences ?? 1;
  if (occurrences <= (status.recordedOccurrences ?? 1)) return;
  step.status = { ...status, recordedOccurrences: occurrences };
  record(step, {
    type: "Occurred",
    message: `occurrence ${occurrences}: ${status.lastMessage ?? "reported again"}`,
    actor: sourceName(step.input.incident.spec) ?? OPERATOR_ACTOR,
  });
}

function reopen(step: Step): void {
  const { spec } = step.input.incident;
  const phase = step.status.phase;
  if (spec.resolved || (phase !== "Resolved" && phase !== "Closed")) return;
  const by = specActor(step, "resolved");
  const {
    resolvedAt,
    closedAt,
    timeToResolveSeconds,
    acknowledgedAt,
    timeToAcknowledgeSeconds,
    ...rest
  } = step.status;
  void [resolvedAt, closedAt, timeToResolveSeconds];
  step.status = spec.acknowledged ? { ...rest, acknowledgedAt, timeToAcknowledgeSeconds } : rest;
  openEpisode(step, step.input.now, spec.acknowledged ? "Acknowledged" : "Open");
  if (spec.acknowledged) delete step.status.nextEscalationTime;
  record(
    step,
    { type: "Reopened", actor: by },
    { type: "Warning", reason: IncidentEventReason.Reopened, message: `Reopened by ${by}` },
  );
  step.notifications.push({ event: "Reopened", level: 0 });
}

function secondsSince(from: string | undefined, now: number): number {
  const start = toMs(from) ?? now;
  return Math.max(0, Math.round((now - start) / 1000));
}

function acknowledge(step: Step): void {
  const { spec } = step.input.incident;
  if (!spec.acknowledged || step.status.phase !== "Open") return;
  const by = specActor(step, "acknowledged");
  const { nextEscalationTime, ...rest } = step.status;
  void nextEscalationTime;
  step.status = {
    ...rest,
    phase: "Acknowledged",
    acknowledgedAt: formatTime(step.input.now),
    timeToAcknowledgeSeconds: secondsSince(step.status.openedAt, step.input.now),
  };
  record(
    step,
    { type: "Acknowledged", actor: by },
    { type: "Normal", reason: IncidentEventReason.Acknowledged, message: `Acknowledged by ${by}` },
  );
}

function withdrawAcknowledgement(step: Step): void {
  const { spec } = step.input.incident;
  if (spec.acknowledged || step.status.phase !== "Acknowledged") return;
  const deadline = toMs(step.status.responseDeadline) ?? step.input.now;
  const level = step.status.escalationLevel ?? 0;
  step.status = {
    ...step.status,
    phase: "Open",
    nextEscalationTime: formatTime(level === 0 ? deadline : step.input.now),
  };
  record(step, {
    type: "Note",
    message: "acknowledgement withdrawn: escalation resumes",
    actor: specActor(step, "acknowledged"),
  });
}

function resolve(step: Step): void {
  const { spec } = step.input.incident;
  const phase = step.status.phase;
  if (!spec.resolved || (phase !== "Open" && phase !== "Acknowledged")) return;
  const by = specActor(step, "resolved");
  const { now } = step.input;
  const { nextEscalationTime, ...rest } = step.status;
  void nextEscalationTime;
  step.status = {
    ...rest,
    phase: "Resolved",
    resolvedAt: formatTime(now),
    timeToResolveSeconds: secondsSince(step.status.openedAt, now),
  };
  const message = spec.source ? step.status.lastMessage : undefined;
  record(
    step,
    { type: "Resolved", actor: by, ...(message ? { message } : {}) },
    {
      type: "Normal",
      reason: IncidentEventReason.Resolved,
      message: `Resolved by ${by}${message ? `: ${message}` : ""}`,
    },
  );
  step.notifications.push({ event: "Resolved", level: step.status.escalationLevel ?? 0 });
}

/** The level an Open Incident has reached at `now`, from its deadline alone. */
export function levelAt(
  status: IncidentStatus,
  every: number,
  escalation: readonly string[],
  now: number,
): number {
  const deadline = toMs(status.responseDeadline);
  if (deadline === undefined || now < deadline) return 0;
  return Math.min(maxLevel(escalation), 1 + Math.floor((now - deadline) / every));
}

function escalate(step: Step): void {
  if (step.status.phase !== "Open") return;
  const rule = severityRule(step);
  const { now } = step.input;
  const from = step.status.escalationLevel ?? 0;
  const to = Math.max(from, levelAt(step.status, rule.escalateEveryMs, rule.escalation, now));
  const deadline = toMs(step.status.responseDeadline) ?? now;
  const next = to < maxLevel(rule.escalation) ? deadline + to * rule.escalateEveryMs : undefined;
  step.status = {
    ...step.status,
    breached: step.status.breached === true || now >= deadline,
    escalationLevel: to,
    escalationTarget: targetAt(rule.escalation, to),
  };
  if (next !== undefined) step.status.nextEscalationTime = formatTime(next);
  else delete step.status.nextEscalationTime;
  for (let level = from + 1; level <= to; level++) {
    const target = targetAt(rule.escalation, level);
    const message = `not acknowledged by ${step.status.responseDeadline}: escalated to level ${level} (${target})`;
    record(
      step,
      { type: "Escalated", message, actor: OPERATOR_ACTOR },
      { type: "Warning", reason: IncidentEventReason.Escalated, message: `Escalated: ${message}` },
    );
    step.notifications.push({ event: "Escalated", level });
  }
}

function close(step: Step): void {
  const resolvedAt = toMs(step.status.resolvedAt);
  if (step.status.phase !== "Resolved" || resolvedAt === undefined) return;
  const { now, policy } = step.input;
  if (now < resolvedAt + policy.closeAfterMs) return;
  step.status = { ...step.status, phase: "Closed", closedAt: formatTime(now) };
  record(
    step,
    { type: "Closed", actor: OPERATOR_ACTOR },
    {
      type: "Normal",
      reason: IncidentEventReason.Closed,
      message: "Closed after the policy's closeAfter",
    },
  );
}

function readyCondition(status: IncidentStatus): ConditionInput {
  const done = status.phase === "Resolved" || status.phase === "Closed";
  const deadline = status.responseDeadline ?? "";
  return done
    ? {
        type: IncidentCondition.Ready,
        status: "True",
        reason: IncidentReason.Resolved,
        message: `${status.phase}`,
      }
    : {
        type: IncidentCondition.Ready,
        status: "False",
        reason: IncidentReason.Open,
        message: `${status.phase ?? "Open"}: ${status.escalationTarget ?? ""} to respond by ${deadline}`,
      };
}

function breachedCondition(status: IncidentStatus): ConditionInput {
  const deadline = status.responseDeadline ?? "";
  return status.breached
    ? {
        type: IncidentCondition.Breached,
        status: "True",
        reason: IncidentReason.DeadlinePassed,
        message: `not acknowledged by ${deadline}`,
      }
    : {
        type: IncidentCondition.Breached,
        status: "False",
        reason: IncidentReason.WithinDeadline,
        message: `respond by ${deadline}`,
      };
}

function conditionsOf(step: Step): void {
  const generation = step.input.incident.metadata.generation;
  for (const condition of [readyCondition(step.status), breachedCondition(step.status)]) {
    setCondition(step.status, condition, generation, step.input.now);
  }
}

/** The Incident's next status at `now`; the Events and notifications it causes. */
export function computeLifecycle(input: LifecycleInput): LifecycleOutput {
  const step: Step = {
    input,
    status: structuredClone(input.status),
    events: [],
    notifications: [],
  };
  initialise(step);
  recordOccurrences(step);
  reopen(step);
  resolve(step);
  acknowledge(step);
  withdrawAcknowledgement(step);
  escalate(step);
  close(step);
  step.status = queueNotifications(step.status, {
    uid: input.incident.metadata.uid ?? "",
    severity: input.incident.spec.severity,
    requests: step.notifications,
    policy: input.policy,
    now: input.now,
  });
  conditionsOf(step);
  const resolvedAt = toMs(step.status.resolvedAt);
  const expired =
    step.status.phase === "Closed" &&
    resolvedAt !== undefined &&
    input.now >= resolvedAt + input.policy.deleteAfterMs;
  return { status: step.status, events: step.events, expired };
}

/** When the phase's own timer falls due: escalation, closing or deletion. */
function phaseDue(status: IncidentStatus, policy: IncidentPolicy): number | undefined {
  const resolvedAt = toMs(status.resolvedAt);
  if (status.phase === "Open") return toMs(status.nextEscalationTime);
  if (resolvedAt === undefined) return undefined;
  if (status.phase === "Resolved") return resolvedAt + policy.closeAfterMs;
  if (status.phase === "Closed") return resolvedAt + policy.deleteAfterMs;
  return undefined;
}

/** When something in this status falls due next (escalation, closing, deletion, a delivery). */
export function nextDue(status: IncidentStatus, policy: IncidentPolicy): number | undefined {
  const candidates: (number | undefined)[] = [phaseDue(status, policy)];
  for (const n of status.notifications ?? []) {
    if (n.deliveredAt === undefined && !n.failed) candidates.push(toMs(n.nextAttemptTime));
  }
  const times = candidates.filter((t): t is number => t !== undefined);
  return times.length > 0 ? Math.min(...times) : undefined;
}
