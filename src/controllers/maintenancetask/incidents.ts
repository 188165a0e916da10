// A MaintenanceTask as an Incident source: a run that failed after its
// retries (Failed, TimedOut, also a vanished Job) or that succeeded with a
// critical finding (the runner's result says severity "critical", e.g. a
// capacity forecast below criticalDaysUntilFull; kept in the run record as
// details.severity) opens one Incident per task through the Incident
// module's source API (dedup by the task's uid); a repeat raises its
// occurrences; the next clean success resolves it, also when
// spec.incident.enabled was turned off since. Called after the status
// write: the runs that write recorded for the first time (the status
// mutator's onRecorded) are the edge, so a reconcile on a stale cache never
// counts an occurrence twice; the newest run in the written status and
// status.incidentRef are the level, so a crash between the write and the
// call converges (jobrun/run-incidents.ts has the rules).
import {
  maintenanceTaskDescriptor,
  type MaintenanceTaskStatus,
  type TaskIncidentPolicy,
} from "../../crds/maintenancetask.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import type { KubeObject } from "../../runtime/kube.ts";
import { runIncidentCalls, type IncidentSourceRef } from "../incident/source.ts";
import {
  confirmedIncidentStep,
  followIncidentStep,
  newestOutcome,
  recordOutcome,
  writeIncidentRef,
  type IncidentCalls,
  type IncidentLevel,
  type RunOutcome,
  type RunRecord,
} from "../jobrun/index.ts";
import { crashPoint, CrashPoint } from "./crash-points.ts";

/** The runner's severity that asks for a response, as a run record keeps it. */
const CRITICAL = "critical";
const MAX_DETAILS = 32;

/** Whether the run's runner marked a critical finding. */
export function isCritical(record: RunRecord): boolean {
  return record.details?.severity === CRITICAL;
}

/** The record's details with severity: critical first (within the CRD's 32 entries). */
export function criticalDetails(
  details: Record<string, string> | undefined,
): Record<string, string> {
  const rest = Object.entries(details ?? {}).filter(([k]) => k !== "severity");
  return Object.fromEntries([["severity", CRITICAL], ...rest.slice(0, MAX_DETAILS - 1)]);
}

/** The newest finished run in the task's status (lastRun, else history), as an outcome. */
export function newestTaskOutcome(
  status: MaintenanceTaskStatus | undefined,
): RunOutcome | undefined {
  const runs = [status?.lastRun, ...(status?.history ?? [])];
  return newestOutcome(runs.map((r) => (r ? recordOutcome(r, isCritical(r)) : undefined)));
}

type MaintenanceTaskObject = KubeObject & { status?: MaintenanceTaskStatus };

export interface TaskRunsRecorded {
  source: IncidentSourceRef;
  policy: TaskIncidentPolicy;
  /** Final records the status write added (finished, overdue, stopped, vanished runs). */
  records: RunRecord[];
  /** The status as written (undefined when the reconcile wrote none). */
  status: MaintenanceTaskStatus | undefined;
}

function sourceCalls(ctx: ReconcileContext, recorded: TaskRunsRecorded): IncidentCalls {
  const deps = { client: ctx.client, events: ctx.events, log: ctx.log, now: () => ctx.clock.now() };
  return runIncidentCalls(deps, recorded.source, recorded.policy.severity);
}

/** Opens, repeats or resolves the task's Incident, then records it in status.incidentRef. */
export async function reportRunIncidents(
  ctx: ReconcileContext,
  recorded: TaskRunsRecorded,
): Promise<void> {
  const { source } = recorded;
  const owner = { kind: maintenanceTaskDescriptor, namespace: source.namespace, name: source.name };
  const levelOf = (status: MaintenanceTaskStatus | undefined): IncidentLevel => ({
    recorded: recorded.records.flatMap((r) => recordOutcome(r, isCritical(r)) ?? []),
    newest: newestTaskOutcome(status),
    incidentRef: status?.incidentRef?.name,
    enabled: recorded.policy.enabled,
  });
  const { step, level } = await confirmedIncidentStep(
    `MaintenanceTask ${source.name}`,
    levelOf(recorded.status),
    async () => levelOf((await ctx.client.get<MaintenanceTaskObject>(owner.kind, owner)).status),
  );
  const change = await followIncidentStep(step, sourceCalls(ctx, recorded), level.incidentRef);
  if (change === undefined) return;
  crashPoint(CrashPoint.IncidentChanged);
  await writeIncidentRef(ctx, owner, change, level.incidentRef);
}
