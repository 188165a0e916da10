// Delivering queued notifications, at least once: the sender (receivers.ts)
// tries each due delivery once per reconcile; applyDeliveries records the
// outcome in status (attempts, deliveredAt or lastError, the next attempt
// after an exponential back-off, given up after the policy's maxAttempts).
// A delivery is recorded only after the receiver answered, so an operator
// killed in between sends it again, with the same idempotency key.
import type { IncidentPolicy } from "../../config/incident-policy.ts";
import {
  IncidentEventReason,
  type IncidentStatus,
  type NotificationDelivery,
} from "../../crds/incident.ts";
import type { EventInput } from "../../runtime/events.ts";
import type { IncidentObject } from "./source.ts";
import type { Logger } from "../../runtime/log.ts";
import { formatTime } from "../../runtime/normalize.ts";
import { withTimelineEntry, OPERATOR_ACTOR } from "./lifecycle.ts";

/** The outcome of one attempt to deliver one notification. */
export interface DeliveryOutcome {
  key: string;
  /** When the attempt was made. */
  at: number;
  /** Undefined when the receiver accepted it; else why not (no secret values). */
  error?: string;
}

/** Sends due notifications of an Incident; one outcome per delivery tried. Never throws. */
export interface NotificationSender {
  send(
    incident: IncidentObject,
    due: NotificationDelivery[],
    opts: { now: number; log: Logger },
  ): Promise<DeliveryOutcome[]>;
}

const MAX_ERROR = 512;

/** Back-off before attempt n+1 after n failed attempts: initial × 2^(n−1), capped. */
export function backoffMs(policy: IncidentPolicy, attempts: number): number {
  const { initialBackoffMs, maxBackoffMs } = policy.delivery;
  return Math.min(maxBackoffMs, initialBackoffMs * 2 ** Math.max(0, attempts - 1));
}

interface Applied {
  status: IncidentStatus;
  events: EventInput[];
}

function applyOne(entry: NotificationDelivery, outcome: DeliveryOutcome, policy: IncidentPolicy) {
  const attempts = entry.attempts + 1;
  const base = { ...entry, attempts, lastAttemptTime: formatTime(outcome.at) };
  if (outcome.error === undefined) {
    const { nextAttemptTime, lastError, ...rest } = base;
    void [nextAttemptTime, lastError];
    return { ...rest, deliveredAt: formatTime(outcome.at) };
  }
  const lastError = outcome.error.slice(0, MAX_ERROR);
  if (attempts >= policy.delivery.maxAttempts) {
    const { nextAttemptTime, ...rest } = base;
    void nextAttemptTime;
    return { ...rest, lastError, failed: true };
  }
  return {
    ...base,
    lastError,
    nextAttemptTime: formatTime(outcome.at + backoffMs(policy, attempts)),
  };
}

function describe(entry: NotificationDelivery): string {
  return `${entry.event} (level ${entry.level}) to ${entry.receiver}`;
}

/** Records the outcomes (by key; an outcome already recorded is not applied twice). */
export function applyDeliveries(
  status: IncidentStatus,
  outcomes: DeliveryOutcome[],
  policy: IncidentPolicy,
): Applied {
  const events: EventInput[] = [];
  let next: IncidentStatus = status;
  for (const outcome of outcomes) {
    const entries = next.notifications ?? [];
    const i = entries.findIndex((n) => n.key === outcome.key);
    const entry = entries[i];
    if (entry === undefined || entry.deliveredAt !== undefined || entry.failed) continue;
    if (entry.lastAttemptTime === formatTime(outcome.at)) continue;
    const updated = applyOne(entry, outcome, policy);
    next = { ...next, notifications: entries.map((n, j) => (j === i ? updated : n)) };
    const time = formatTime(outcome.at);
    if (updated.deliveredAt !== undefined) {
      next = withTimelineEntry(
        { ...next, lastNotificationTime: time },
        { time, type: "Notified", message: describe(entry), actor: OPERATOR_ACTOR },
      );
    } else if (updated.failed) {
      const message = `${describe(entry)} failed after ${updated.attempts} attempts: ${outcome.error ?? ""}`;
      next = withTimelineEntry(next, {
        time,
        type: "NotificationFailed",
        message,
        actor: OPERATOR_ACTOR,
      });
      events.push({ type: "Warning", reason: IncidentEventReason.NotificationFailed, message });
    }
  }
  return { status: next, events };
}
