// What happens with each probe report: incidents on transitions, an Event
// on every state change, and a status write only when the engine's write
// decision says so (a change of state, message or a metric's state, else at
// most once per status interval), never once per probe. Reports of one check
// are handled one after another (the engine does not await them). A report
// that arrives while the previous write of the same check is still in flight
// carries a stale write decision (the engine learns of a write only when it
// completes): it is checked again against what was actually written last, so
// a slow API server does not turn into two writes per refresh.
import { healthCheckDescriptor } from "../../crds/index.ts";
import {
  DEFAULT_STATUS_INTERVAL_MS,
  shouldWriteStatus,
  writtenStatus,
  type WrittenStatus,
} from "../../health/write.ts";
import type { CheckReport } from "../../probes/engine.ts";
import { errorMessage, isNotFound } from "../../runtime/errors.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import type { KubeClient } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import { updateStatus } from "../../runtime/status.ts";
import type { IncidentManager } from "./incidents.ts";
import {
  applyReport,
  redact,
  type HealthCheckObject as HealthCheck,
  type Status,
} from "./status.ts";

export interface ReportHandlerDeps {
  client: KubeClient;
  events: EventRecorder;
  incidents: IncidentManager;
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
          { hc: report.key, err: redact(errorMessage(err)) },
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
    const incident = await this.incidents(check, report, due).catch((err: unknown) => {
      // The status write goes ahead; the next Critical write retries the Incident.
      this.deps.log.error(
        { hc: report.key, err: redact(errorMessage(err)) },
        "Failed to update Incident",
      );
      return undefined;
    });
    if (!due && incident === undefined) return;
    try {
      await updateStatus<HealthCheck, Status>(
        this.deps.client,
        { kind: healthCheckDescriptor, namespace: check.metadata.namespace, name: report.name },
        (status) => applyReport(status, { fields: report.status, now: this.deps.now(), incident }),
      );
      report.markWritten();
      this.deps.log.debug(
        { hc: report.key, state: report.status.state, reasons: report.decision.reasons },
        "Wrote HealthCheck status",
      );
      this.written.set(
        report.key,
        writtenStatus(report.status, Date.parse(report.status.lastProbeTime)),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.deps.remove(report.key);
    }
  }

  private async recordTransition(check: HealthCheck, report: CheckReport): Promise<void> {
    const { from, to } = report.transition!;
    const message = `State changed from ${from} to ${to}: ${redact(report.status.message)}`;
    if (to === "Critical" || to === "Warning")
      await this.deps.events.warning(check, `Turned${to}`, message);
    else await this.deps.events.normal(check, `Turned${to}`, message);
  }

  /** Opens, refreshes or resolves the check's Incident; returns the incidentRef change. */
  private async incidents(
    check: HealthCheck,
    report: CheckReport,
    due: boolean,
  ): Promise<string | null | undefined> {
    const policy = check.spec.incident;
    if (!policy?.enabled) return undefined;
    if (opensIncident(report, due)) {
      return this.deps.incidents.ensureOpen({
        check,
        severity: policy.severity,
        message: report.status.message,
        since: report.status.lastTransitionTime ?? report.status.lastProbeTime,
        now: this.deps.now(),
        occurrence: report.transition !== undefined,
      });
    }
    if (!policy.autoResolve || !resolvesIncident(report, check, due)) return undefined;
    const resolved = await this.deps.incidents.resolve(check, this.deps.now());
    return resolved.length > 0 || check.status?.incidentRef ? null : undefined;
  }
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
