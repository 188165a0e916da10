// Queueing notifications: a lifecycle transition (Opened, Escalated,
// Resolved, Reopened) becomes one pending delivery per receiver its routes
// name, recorded in status.notifications with a deterministic idempotency
// key. delivery.ts sends what is due and records the outcome. Pure.
//
// The key is <uid>/<episode>/<event>-<level>/<receiver>: the same transition
// computed again after a crash gets the same key, so a receiver that saw it
// once can drop the duplicate.
import {
  receiversFor,
  type IncidentPolicy,
  type Receiver,
  type Severity,
} from "../../config/incident-policy.ts";
import {
  MAX_NOTIFICATIONS,
  type IncidentStatus,
  type NotificationDelivery,
} from "../../crds/incident.ts";
import { formatTime } from "../../runtime/normalize.ts";
import { nextBusinessTime } from "../../schedule/business-hours.ts";

export type NotificationEvent = NotificationDelivery["event"];

/** A transition to tell receivers about. */
export interface NotificationRequest {
  event: NotificationEvent;
  level: number;
}

export interface QueueInput {
  uid: string;
  severity: Severity;
  requests: NotificationRequest[];
  policy: IncidentPolicy;
  now: number;
}

/** Seconds since the epoch of the episode's opening: the episode part of the key. */
function episodeOf(status: IncidentStatus): string {
  const opened = status.openedAt ? Date.parse(status.openedAt) : 0;
  return String(Math.floor(opened / 1000));
}

export function notificationKey(
  uid: string,
  status: IncidentStatus,
  request: NotificationRequest,
  receiver: string,
): string {
  return `${uid}/${episodeOf(status)}/${request.event}-${request.level}/${receiver}`;
}

/** Receivers of a request: its level's routes; a resolution goes to every level reached. */
function receiversOf(input: QueueInput, request: NotificationRequest): Receiver[] {
  if (request.event !== "Resolved")
    return receiversFor(input.policy, input.severity, request.level);
  const all = new Map<string, Receiver>();
  for (let level = 0; level <= request.level; level++) {
    for (const r of receiversFor(input.policy, input.severity, level)) all.set(r.name, r);
  }
  return [...all.values()];
}

/** When a new notification may first be sent: now, or when business hours next open. */
export function firstAttemptTime(input: Pick<QueueInput, "policy" | "severity" | "now">): number {
  const rule = input.policy.severities[input.severity];
  if (!rule.businessHoursOnly) return input.now;
  return nextBusinessTime(input.now, input.policy.businessHours) ?? input.now;
}

const settled = (n: NotificationDelivery): boolean =>
  n.deliveredAt !== undefined || n.failed === true;

/** Keeps at most MAX_NOTIFICATIONS, dropping the oldest settled entries first. */
export function boundNotifications(entries: NotificationDelivery[]): NotificationDelivery[] {
  let excess = entries.length - MAX_NOTIFICATIONS;
  if (excess <= 0) return entries;
  const kept = entries.filter((n) => {
    if (excess > 0 && settled(n)) {
      excess--;
      return false;
    }
    return true;
  });
  return kept.slice(-MAX_NOTIFICATIONS);
}

/** The status with a pending delivery for every receiver of every request (existing keys kept). */
export function queueNotifications(status: IncidentStatus, input: QueueInput): IncidentStatus {
  if (input.requests.length === 0) return status;
  const entries = [...(status.notifications ?? [])];
  const known = new Set(entries.map((n) => n.key));
  const at = formatTime(firstAttemptTime(input));
  for (const request of input.requests) {
    for (const receiver of receiversOf(input, request)) {
      const key = notificationKey(input.uid, status, request, receiver.name);
      if (known.has(key)) continue;
      known.add(key);
      entries.push({
        key,
        receiver: receiver.name,
        event: request.event,
        level: request.level,
        attempts: 0,
        nextAttemptTime: at,
      });
    }
  }
  return entries.length === (status.notifications ?? []).length
    ? status
    : { ...status, notifications: boundNotifications(entries) };
}

/** Pending deliveries due at `now`. */
export function dueNotifications(status: IncidentStatus, now: number): NotificationDelivery[] {
  return (status.notifications ?? []).filter(
    (n) => !settled(n) && Date.parse(n.nextAttemptTime ?? "") <= now,
  );
}
