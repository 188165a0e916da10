// A MaintenanceTask as an Incident source: a run that failed after its
// retries (Failed, TimedOut, also a vanished Job) or that succeeded with a
// critical finding (the runner's result says severity "critical", e.g. a
// capacity forecast below criticalDaysUntilFull) opens one Incident per task
// through the Incident module's source API (dedup by the task's uid); a
// repeat raises its occurrences; the next clean success resolves it, also
// when spec.incident.enabled was turned off since. Called after the status
// write, for the runs that write recorded for the first time (the status
// mutator's onRecorded), so a reconcile on a stale cache, or a re-read
// status, never counts as a new occurrence.
import type { TaskIncidentPolicy } from "../../crds/maintenancetask.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { IncidentSourceApi, type IncidentSourceRef } from "../incident/source.ts";
import { recordOutcome, runIncidentDecision, type RunRecord } from "../jobrun/index.ts";

export interface TaskRunsRecorded {
  source: IncidentSourceRef;
  policy: TaskIncidentPolicy;
  /** Final records the status write added (finished, overdue, stopped, vanished runs). */
  records: RunRecord[];
  /** Jobs among `records` whose runner marked a critical finding. */
  critical: ReadonlySet<string>;
}

/** Opens, repeats or resolves the task's Incident for the runs recorded in this reconcile. */
export async function reportRunIncidents(
  ctx: ReconcileContext,
  recorded: TaskRunsRecorded,
): Promise<void> {
  const { source, policy } = recorded;
  const outcomes = recorded.records.flatMap(
    (r) => recordOutcome(r, recorded.critical.has(r.job)) ?? [],
  );
  const decision = runIncidentDecision(`MaintenanceTask ${source.name}`, outcomes);
  if (decision.action === "none") return;
  const api = new IncidentSourceApi({ client: ctx.client, events: ctx.events, log: ctx.log });
  const now = ctx.clock.now();
  if (decision.action === "resolve") {
    await api.resolve({ source, now, message: `MaintenanceTask ${source.name} succeeded again` });
    return;
  }
  if (!policy.enabled) return;
  await api.open({
    source,
    severity: policy.severity,
    title: decision.title,
    description: decision.message,
    message: decision.message,
    episode: decision.episode,
    now,
    occurrence: true,
  });
}
