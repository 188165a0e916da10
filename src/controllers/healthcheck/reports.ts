// What happens with each probe report: incidents on transitions, an Event
// on every state change, and a status write only when the engine's write
// decision says so (a change of state, message or a metric's state, else at
// most once per status interval), never once per probe. Reports of one check
// are handled one after another (the engine does not await them). A report
// that arrives while the previous write of the same check is still in flight
// carries a stale write decision (the engine learns of a write only when it
// completes): it is checked again against what was actually written last, so
// a slow API server does not turn into two writes per refresh.
//
// A Critical check named by an active MaintenanceTask run (suppression.ts)
// opens no Incident: its status says which run suppresses it (suppressedBy),
// with one IncidentSuppressed Event when that starts; when the run ends, the
// next report of a still-Critical check opens the Incident at once.
import { redactText } from "../../lib/redact.ts";
import { healthCheckDescriptor, stateChangeReason } from "../../crds/index.ts";
import { HealthCheckEventReason } from "../../crds/healthcheck.ts";
import {
  DEFAULT_STATUS_INTERVAL_MS,
  shouldWriteStatus,
  writtenStatus,
  type WrittenStatus,
} from "../../health/write.ts";
import type { CheckReport } from "../../probes/engine.ts";
import { errorMessage } from "../../lib/errors.ts";
import { isNotFound } from "../../runtime/errors.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import type { KubeClient } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import { updateStatus } from "../../runtime/status.ts";
import type {
  IncidentSourceApi,
  IncidentSourceRef,
  OpenIncidentRequest,
} from "../incident/source.ts";
import {
  applyReport,
  type HealthCheckObject as HealthCheck,
  type ReportStatusInput,
  type Status,
} from "./status.ts";
import type { Suppression } from "./suppression.ts";

export interface ReportHandlerDeps {
  client: KubeClient;
  events: EventRecorder;
  /** The Incident source API (controllers/incident/source.ts). */
  incidents: IncidentSourceApi;
  /** The MaintenanceTask run suppressing a check's Incidents now, if any (suppression.ts). */
  suppressions: { find(check: HealthCheck): Promise<Suppression | undefined> };
  log: Logger;
  /** The cached HealthCheck of a key (undefined once deleted). */
  lookup: (key: string) => HealthCheck | undefined;
  /** Drops a check from the engine (its object is gone). */
  remove: (key: string) => Promise<void>;
  now: () => number;
  statusIntervalMs?: number;
}

export class ReportHandler {
  private readonly deps: ReportHandlerDeps;
  private readonly chains = new Map<string, Promise<void>>();
  /** What the last successful status write of each check said. */
  private readonly written = new Map<string, WrittenStatus>();

  constructor(deps: ReportHandlerDeps) {
    this.deps = deps;
  }

  /** Queues the report behind the previous one of the same check. */
  handle(report: CheckReport): Promise<void> {
    const previous = this.chains.get(report.key) ?? Promise.resolve();
    const next = previous
      .then(() => this.process(report))
      .catch((err: unknown) => {
        this.deps.log.error(
          { hc: report.key, err: redactText(errorMessage(err)) },
          "Failed to handle probe report",
        );
      });
    this.chains.set(report.key, next);
    void next.finally(() => {
      if (this.chains.get(report.key) === next) this.chains.delete(report.key);
    });
    return next;
  }

  /** Forgets a removed check. */
  forget(key: string): void {
    this.written.delete(key);
  }

  /** The engine's write decision, checked against the last write that really happened. */
  private due(report: CheckReport): boolean {
    if (!report.decision.write) return false;
    const last = this.written.get(report.key);
    if (!last) return true;
    const at = Date.parse(report.status.lastProbeTime);
    const interval = this.deps.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS;
    return shouldWriteStatus(last, report.status, at, interval).write;
  }

  private async process(report: CheckReport): Promise<void> {
    const check = this.deps.lookup(report.key);
    if (!check) {
      await this.deps.remove(report.key);
      return;
    }
    if (report.transition) await this.recordTransition(check, report);
    const due = this.due(report);
    const suppression = await this.suppression(check, report);
    const incident = await this.incidentChange(check, report, due, suppression);
    const suppressedBy = suppression?.text ?? null;
    if (!due && incident === undefined && !suppressionChanged(check, suppressedBy)) return;
    const started = await this.writeStatus(check, report, { incident, suppressedBy });
    if (started && suppression) await this.recordSuppressed(check, report, suppression);
  }

  /** The incidentRef change; a failure is logged, and the next Critical write retries it. */
  private async incidentChange(
    check: HealthCheck,
    report: CheckReport,
    due: boolean,
    suppression: Suppression | undefined,
  ): Promise<string | null | undefined> {
    try {
      return await this.incidents(check, report, due, suppression);
    } catch (err) {
      this.deps.log.error(
        { hc: report.key, err: redactText(errorMessage(err)) },
        "Failed to update Incident",
      );
      return undefined;
    }
  }

  /** Writes the report's status; true when the write started a suppression (judged on the fresh read). */
  private async writeStatus(
    check: HealthCheck,
    report: CheckReport,
    change: Pick<ReportStatusInput, "incident" | "suppressedBy">,
  ): Promise<boolean> {
    let started = false;
    try {
      await updateStatus<HealthCheck, Status>(
        this.deps.client,
        { kind: healthCheckDescriptor, namespace: check.metadata.namespace, name: report.name },
        (status) => {
          started = !!change.suppressedBy && status.suppressedBy !== change.suppressedBy;
          applyReport(status, { fields: report.status, now: this.deps.now(), ...change });
        },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.deps.remove(report.key);
      return false;
    }
    report.markWritten();
    this.deps.log.debug(
      { hc: report.key, state: report.status.state, reasons: report.decision.reasons },
      "Wrote HealthCheck status",
    );
    this.written.set(
      report.key,
      writtenStatus(report.status, Date.parse(report.status.lastProbeTime)),
    );
    return started;
  }

  /** The run suppressing the check's Incident: only a Critical check with an Incident policy has one. */
  private async suppression(
    check: HealthCheck,
    report: CheckReport,
  ): Promise<Suppression | undefined> {
    if (report.status.state !== "Critical" || !check.spec.incident?.enabled) return undefined;
    return this.deps.suppressions.find(check);
  }

  private async recordSuppressed(
    check: HealthCheck,
    report: CheckReport,
    suppression: Suppression,
  ): Promise<void> {
    const until = new Date(suppression.until).toISOString();
    this.deps.log.info(
      { hc: report.key, task: suppression.task, job: suppression.job, until },
      "Suppressed Incident during maintenance",
    );
    await this.deps.events.normal(
      check,
      HealthCheckEventReason.IncidentSuppressed,
      `Critical, but Incidents are suppressed while ${suppression.text} runs (until ${until} at the latest): ${redactText(report.status.message)}`,
    );
  }

  private async recordTransition(check: HealthCheck, report: CheckReport): Promise<void> {
    const { from, to } = report.transition!;
    const message = `State changed from ${from} to ${to}: ${redactText(report.status.message)}`;
    const reason = stateChangeReason(to);
    if (to === "Critical" || to === "Warning")
      await this.deps.events.warning(check, reason, message);
    else await this.deps.events.normal(check, reason, message);
  }

  /**
   * Opens, refreshes or resolves the check's Incident; returns the incidentRef
   * change. Suppressed: neither opens nor refreshes. A suppression that just
   * ended (status still names it) opens at once, without waiting for a write.
   */
  private async incidents(
    check: HealthCheck,
    report: CheckReport,
    due: boolean,
    suppression: Suppression | undefined,
  ): Promise<string | null | undefined> {
    const policy = check.spec.incident;
    if (!policy?.enabled || suppression) return undefined;
    if (opensIncident(report, due || !!check.status?.suppressedBy)) {
      return this.deps.incidents.open(
        incidentRequest(check, {
          severity: policy.severity,
          message: report.status.message,
          since: report.status.lastTransitionTime ?? report.status.lastProbeTime,
          now: this.deps.now(),
          occurrence: report.transition !== undefined,
        }),
      );
    }
    if (!policy.autoResolve || !resolvesIncident(report, check, due)) return undefined;
    return this.resolveIncidents(check);
  }

  /** Resolves the check's open Incidents; null clears incidentRef. */
  private async resolveIncidents(check: HealthCheck): Promise<null | undefined> {
    const resolved = await this.deps.incidents.resolve({
      source: incidentSource(check),
      now: this.deps.now(),
      message: `HealthCheck ${check.metadata.name ?? ""} is Healthy again`,
    });
    return resolved.length > 0 || check.status?.incidentRef ? null : undefined;
  }
}

/** Whether status.suppressedBy (as cached) differs from what it should say now. */
function suppressionChanged(check: HealthCheck, suppressedBy: string | null): boolean {
  return (check.status?.suppressedBy ?? null) !== suppressedBy;
}

/** A check as the source of its Incidents. */
export function incidentSource(check: HealthCheck): IncidentSourceRef {
  return {
    kind: "HealthCheck",
    namespace: check.metadata.namespace,
    name: check.metadata.name ?? "",
    uid: check.metadata.uid ?? "",
  };
}

/** What a Critical check tells the Incident source API (redacted here: the check knows its URLs). */
export function incidentRequest(
  check: HealthCheck,
  report: {
    severity: OpenIncidentRequest["severity"];
    message: string;
    /** When the check turned Critical: one Incident per Critical episode. */
    since: string;
    now: number;
    occurrence: boolean;
  },
): OpenIncidentRequest {
  const name = check.metadata.name ?? "";
  return {
    source: incidentSource(check),
    severity: report.severity,
    title: `HealthCheck ${name} is Critical`,
    description: redactText(`${check.status?.target ?? name}: ${report.message}`),
    message: redactText(report.message),
    episode: report.since,
    now: report.now,
    occurrence: report.occurrence,
  };
}

/** Critical, and a transition or a status write due (the Incident's lastSeen follows the status). */
function opensIncident(report: CheckReport, due: boolean): boolean {
  return report.status.state === "Critical" && (!!report.transition || due);
}

/** Healthy again: on the transition, or later while status still names an Incident. */
function resolvesIncident(report: CheckReport, check: HealthCheck, due: boolean): boolean {
  if (report.status.state !== "Healthy") return false;
  return !!report.transition || (due && !!check.status?.incidentRef);
}
