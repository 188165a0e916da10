// The Incident's response lifecycle fields: phase, responseDeadline,
// escalationLevel, breached, resolvedAt, timeToResolveSeconds and the
// timeline. These belong to the Incident controller (issue 10). Until its
// reconcile exists, the source API (source.ts) applies them when a source
// opens, repeats or resolves an Incident, so behaviour is unchanged; in
// issue 10 these functions move behind the Incident controller and
// source.ts stops calling them. Pure functions, no I/O.
import {
  MAX_TIMELINE,
  SEVERITY_POLICY,
  type IncidentSeverity,
  type IncidentStatus,
  type TimelineEntry,
} from "../../crds/incident.ts";
import { formatTime } from "../../runtime/normalize.ts";

/** Timeline actor of what the operator does (issue 10 adds people, from pake.dev/actor). */
export const OPERATOR_ACTOR = "pake-operator";

/** Longest timeline message the CRD accepts. */
const TIMELINE_MESSAGE_MAX = 1024;

/** The status with one more timeline entry, oldest dropped beyond MAX_TIMELINE. */
export function withTimelineEntry(status: IncidentStatus, entry: TimelineEntry): IncidentStatus {
  const timeline = [...(status.timeline ?? []), entry].slice(-MAX_TIMELINE);
  return { ...status, timeline };
}

function operatorEntry(type: TimelineEntry["type"], now: number, message: string): TimelineEntry {
  return {
    time: formatTime(now),
    type,
    message: message.slice(0, TIMELINE_MESSAGE_MAX),
    actor: OPERATOR_ACTOR,
  };
}

/** Open, with the response deadline from the severity policy and no escalation yet. */
export function openedLifecycle(
  status: IncidentStatus,
  event: { now: number; severity: IncidentSeverity; message: string },
): IncidentStatus {
  const deadline = event.now + SEVERITY_POLICY[event.severity].responseSeconds * 1000;
  const opened: IncidentStatus = {
    ...status,
    phase: "Open",
    responseDeadline: formatTime(deadline),
    escalationLevel: 0,
    breached: false,
  };
  return withTimelineEntry(opened, operatorEntry("Opened", event.now, event.message));
}

/** A timeline entry for another occurrence of the problem while the Incident is open. */
export function repeatedLifecycle(
  status: IncidentStatus,
  event: { now: number; message: string },
): IncidentStatus {
  return withTimelineEntry(status, operatorEntry("Occurred", event.now, event.message));
}

/** Resolved, with resolvedAt and the time to resolve from firstSeen; a resolved or closed Incident is kept. */
export function resolvedLifecycle(
  status: IncidentStatus,
  event: { now: number; message: string },
): IncidentStatus {
  if (status.phase === "Resolved" || status.phase === "Closed") return status;
  const opened = status.firstSeen ? Date.parse(status.firstSeen) : event.now;
  const resolved: IncidentStatus = {
    ...status,
    phase: "Resolved",
    resolvedAt: formatTime(event.now),
    timeToResolveSeconds: Math.max(0, Math.round((event.now - opened) / 1000)),
  };
  return withTimelineEntry(resolved, operatorEntry("Resolved", event.now, event.message));
}
