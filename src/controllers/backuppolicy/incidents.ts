// A failed backup or verification opens one Incident per policy through the
// Incident module's source API (spec.incident: severity, default high; not
// at all when disabled); a repeat raises its occurrences; the next success
// resolves an open one, also when disabled since. Called after the status write,
// for the outcomes recorded in that reconcile only, so a re-read status never
// counts as a new occurrence.
import type { BackupIncident, BackupRecord, Verification } from "../../crds/backuppolicy.ts";
import { redactText } from "../../lib/redact.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { IncidentSourceApi, type IncidentSourceRef } from "../incident/source.ts";

export interface PolicyOutcomes {
  source: IncidentSourceRef;
  /** The policy's spec.incident. */
  policy: BackupIncident;
  /** Backup attempts recorded in this reconcile, oldest first. */
  backups: BackupRecord[];
  /** Verifications recorded in this reconcile, oldest first. */
  verifications: Verification[];
}

interface Failure {
  what: string;
  message: string;
  episode: string;
}

/** The newest failure, when the newest outcome of this reconcile is one. */
function newestFailure(outcomes: PolicyOutcomes): Failure | "recovered" | undefined {
  const events = [
    ...outcomes.backups.map((b) => ({
      time: b.endTime ?? b.startTime ?? "",
      failed: b.result === "Failed",
      what: `backup ${b.job ?? b.id}`,
      message: b.message ?? "failed",
    })),
    ...outcomes.verifications.map((v) => ({
      time: v.time,
      failed: v.result === "Failed",
      what: `verification of backup ${v.backupId}`,
      message: v.message ?? "failed",
    })),
  ].sort((a, b) => a.time.localeCompare(b.time));
  const last = events.at(-1);
  if (last === undefined) return undefined;
  if (!last.failed) return "recovered";
  return { what: last.what, message: redactText(last.message), episode: last.time };
}

export async function reportIncidents(
  ctx: ReconcileContext,
  outcomes: PolicyOutcomes,
): Promise<void> {
  const outcome = newestFailure(outcomes);
  if (outcome === undefined) return;
  const api = new IncidentSourceApi({ client: ctx.client, events: ctx.events, log: ctx.log });
  const { source } = outcomes;
  const now = ctx.clock.now();
  if (outcome === "recovered") {
    await api.resolve({ source, now, message: `BackupPolicy ${source.name} succeeded again` });
    return;
  }
  if (!outcomes.policy.enabled) return;
  await api.open({
    source,
    severity: outcomes.policy.severity,
    title: `BackupPolicy ${source.name}: ${outcome.what} failed`,
    description: outcome.message,
    message: outcome.message,
    episode: outcome.episode,
    now,
    occurrence: true,
  });
}
