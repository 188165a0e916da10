// A failed backup or verification opens one Incident per policy through the
// Incident module's source API (spec.incident: severity, default high; not
// at all when disabled); a repeat raises its occurrences; the next success
// resolves an open one, also when disabled since. Called after the status
// write: the outcomes recorded in that reconcile are the edge, so a re-read
// status never counts as a new occurrence; the newer of lastBackup and
// lastVerification in the written status and status.incidentRef are the
// level, so a crash between the write and the call converges. The rules are
// MaintenanceTask's too (jobrun/run-incidents.ts).
import {
  backupPolicyDescriptor,
  type BackupIncident,
  type BackupPolicyStatus,
  type BackupRecord,
  type Verification,
} from "../../crds/backuppolicy.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import type { KubeObject } from "../../runtime/kube.ts";
import { runIncidentCalls, type IncidentSourceRef } from "../incident/source.ts";
import {
  confirmedIncidentStep,
  followIncidentStep,
  newestOutcome,
  writeIncidentRef,
  type IncidentCalls,
  type IncidentLevel,
  type RunOutcome,
} from "../jobrun/index.ts";

type BackupPolicyObject = KubeObject & { status?: BackupPolicyStatus };

export interface PolicyOutcomes {
  source: IncidentSourceRef;
  /** The policy's spec.incident. */
  policy: BackupIncident;
  /** Backup attempts recorded in this reconcile, oldest first. */
  backups: BackupRecord[];
  /** Verifications recorded in this reconcile, oldest first. */
  verifications: Verification[];
  /** The status as written. */
  status: BackupPolicyStatus | undefined;
}

/** A backup attempt as an outcome. */
export function backupOutcome(b: BackupRecord): RunOutcome {
  return {
    time: b.endTime ?? b.startTime ?? "",
    what: `backup ${b.job ?? b.id}`,
    message: b.message ?? "failed",
    ...(b.result === "Failed" ? { problem: "failed" } : {}),
  };
}

/** A verification as an outcome. */
export function verificationOutcome(v: Verification): RunOutcome {
  return {
    time: v.time,
    what: `verification of backup ${v.backupId}`,
    message: v.message ?? "failed",
    ...(v.result === "Failed" ? { problem: "failed" } : {}),
  };
}

/** The newer of lastBackup and lastVerification, as an outcome. */
export function newestPolicyOutcome(
  status: BackupPolicyStatus | undefined,
): RunOutcome | undefined {
  const backup = status?.lastBackup;
  const verification = status?.lastVerification;
  return newestOutcome([
    backup ? backupOutcome(backup) : undefined,
    verification ? verificationOutcome(verification) : undefined,
  ]);
}

function sourceCalls(ctx: ReconcileContext, outcomes: PolicyOutcomes): IncidentCalls {
  const deps = { client: ctx.client, events: ctx.events, log: ctx.log, now: () => ctx.clock.now() };
  return runIncidentCalls(deps, outcomes.source, outcomes.policy.severity);
}

/** Opens, repeats or resolves the policy's Incident, then records it in status.incidentRef. */
export async function reportIncidents(
  ctx: ReconcileContext,
  outcomes: PolicyOutcomes,
): Promise<void> {
  const { source } = outcomes;
  const owner = { kind: backupPolicyDescriptor, namespace: source.namespace, name: source.name };
  const levelOf = (status: BackupPolicyStatus | undefined): IncidentLevel => ({
    recorded: [
      ...outcomes.backups.map(backupOutcome),
      ...outcomes.verifications.map(verificationOutcome),
    ],
    newest: newestPolicyOutcome(status),
    incidentRef: status?.incidentRef?.name,
    enabled: outcomes.policy.enabled,
  });
  const { step, level } = await confirmedIncidentStep(
    `BackupPolicy ${source.name}`,
    levelOf(outcomes.status),
    async () => levelOf((await ctx.client.get<BackupPolicyObject>(owner.kind, owner)).status),
  );
  const change = await followIncidentStep(step, sourceCalls(ctx, outcomes), level.incidentRef);
  if (change === undefined) return;
  await writeIncidentRef(ctx, owner, change, level.incidentRef);
}
