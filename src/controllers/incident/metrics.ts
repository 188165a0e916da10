// Incident metrics. Labels are bounded: severity (4), phase (4), receiver
// (the policy's receivers), result (2); never the Incident's name.
// - pake_incidents: Incidents by namespace, severity and phase, counted at
//   scrape time from the informer's cache (level, not a running sum);
// - pake_incident_time_to_acknowledge_seconds / _time_to_resolve_seconds:
//   MTTA and MTTR histograms per severity, observed once per transition
//   after the status write that recorded it;
// - pake_incident_escalations_total per severity;
// - pake_incident_notification_attempts_total per receiver and result.
import { Counter, Gauge, Histogram } from "prom-client";
import type { IncidentStatus } from "../../crds/incident.ts";
import { registry } from "../../runtime/metrics.ts";
import type { DeliveryOutcome } from "./delivery.ts";
import type { IncidentObject } from "./source.ts";

/** 1 min … 1 week: response times from "immediate" to "next business day". */
const RESPONSE_BUCKETS = [60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400, 259_200, 604_800];

const timeToAcknowledge = new Histogram({
  name: "pake_incident_time_to_acknowledge_seconds",
  help: "Time from an Incident's opening to its acknowledgement (MTTA), per severity.",
  labelNames: ["severity"] as const,
  buckets: RESPONSE_BUCKETS,
  registers: [registry],
});
const timeToResolve = new Histogram({
  name: "pake_incident_time_to_resolve_seconds",
  help: "Time from an Incident's opening to its resolution (MTTR), per severity.",
  labelNames: ["severity"] as const,
  buckets: RESPONSE_BUCKETS,
  registers: [registry],
});
const escalations = new Counter({
  name: "pake_incident_escalations_total",
  help: "Escalations: response deadlines passed unacknowledged, and each level after.",
  labelNames: ["severity"] as const,
  registers: [registry],
});
const notificationAttempts = new Counter({
  name: "pake_incident_notification_attempts_total",
  help: "Notification delivery attempts per receiver and result (delivered or failed).",
  labelNames: ["receiver", "result"] as const,
  registers: [registry],
});

let incidentsSource: (() => IncidentObject[]) | undefined;

new Gauge({
  name: "pake_incidents",
  help: "Incidents by namespace, severity and phase.",
  labelNames: ["namespace", "severity", "phase"] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const incident of incidentsSource?.() ?? []) {
      const phase = incident.status?.phase;
      if (phase === undefined) continue;
      this.inc({
        namespace: incident.metadata.namespace ?? "",
        severity: incident.spec?.severity ?? "",
        phase,
      });
    }
  },
});

/** Where pake_incidents counts from (the Incident controller's informer). */
export function countIncidentsFrom(source: () => IncidentObject[]): void {
  incidentsSource = source;
}

export interface RecordedChange {
  severity: string;
  before: IncidentStatus;
  after: IncidentStatus;
  outcomes: DeliveryOutcome[];
  /** Receiver of each delivery key. */
  receiverOf: (key: string) => string | undefined;
}

/** A time recorded by this change (absent before, present after). */
function newlySet(
  before: string | undefined,
  after: string | undefined,
  seconds: number | undefined,
): number | undefined {
  return before === undefined && after !== undefined ? seconds : undefined;
}

function observeResponseTimes(change: RecordedChange): void {
  const { severity, before, after } = change;
  const tta = newlySet(before.acknowledgedAt, after.acknowledgedAt, after.timeToAcknowledgeSeconds);
  if (tta !== undefined) timeToAcknowledge.observe({ severity }, tta);
  const ttr = newlySet(before.resolvedAt, after.resolvedAt, after.timeToResolveSeconds);
  if (ttr !== undefined) timeToResolve.observe({ severity }, ttr);
}

/** Observes what one reconcile's status write recorded. */
export function recordIncidentChange(change: RecordedChange): void {
  observeResponseTimes(change);
  const levels = (change.after.escalationLevel ?? 0) - (change.before.escalationLevel ?? 0);
  if (levels > 0) escalations.inc({ severity: change.severity }, levels);
  for (const outcome of change.outcomes) {
    const receiver = change.receiverOf(outcome.key) ?? "unknown";
    const result = outcome.error === undefined ? "delivered" : "failed";
    notificationAttempts.inc({ receiver, result });
  }
}
