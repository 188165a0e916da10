// Prometheus gauges per policy (labels: namespace and policy only, so the
// series count is bounded by the number of policies), set from the status a
// reconcile wrote.
import { Gauge } from "prom-client";
import type { BackupPolicyStatus, BackupRecord } from "../../crds/backuppolicy.ts";
import { registry } from "../../runtime/metrics.ts";

const labelNames = ["namespace", "policy"] as const;

const lastSuccess = new Gauge({
  name: "pake_backup_last_success_timestamp_seconds",
  help: "When the policy's last successful backup completed (Unix time).",
  labelNames,
  registers: [registry],
});
const lastDuration = new Gauge({
  name: "pake_backup_last_duration_seconds",
  help: "How long the policy's most recent backup attempt took.",
  labelNames,
  registers: [registry],
});
const lastSize = new Gauge({
  name: "pake_backup_last_size_bytes",
  help: "Size of the policy's most recent successful backup.",
  labelNames,
  registers: [registry],
});
const lastSucceeded = new Gauge({
  name: "pake_backup_last_succeeded",
  help: "1 when the policy's most recent backup attempt succeeded, 0 when it failed.",
  labelNames,
  registers: [registry],
});
const verificationPassed = new Gauge({
  name: "pake_backup_verification_passed",
  help: "1 when the policy's last verification restore passed, 0 when it failed.",
  labelNames,
  registers: [registry],
});

const seconds = (iso: string | undefined): number | undefined => {
  const t = iso === undefined ? NaN : Date.parse(iso);
  return Number.isNaN(t) ? undefined : t / 1000;
};

function recordLastAttempt(
  labels: { namespace: string; policy: string },
  last: BackupRecord | undefined,
): void {
  if (last === undefined) return;
  lastSucceeded.set(labels, last.result === "Succeeded" ? 1 : 0);
  const start = seconds(last.startTime);
  const end = seconds(last.endTime);
  if (start !== undefined && end !== undefined) lastDuration.set(labels, Math.max(0, end - start));
}

/** Sets the policy's gauges from its status (a gauge without data is left unset). */
export function recordPolicyMetrics(
  policy: { namespace: string; name: string },
  status: BackupPolicyStatus,
): void {
  const labels = { namespace: policy.namespace, policy: policy.name };
  const success = seconds(status.lastSuccessfulTime);
  if (success !== undefined) lastSuccess.set(labels, success);
  recordLastAttempt(labels, status.lastBackup);
  const newest = status.backups?.[0];
  if (newest?.sizeBytes !== undefined) lastSize.set(labels, newest.sizeBytes);
  const verification = status.lastVerification;
  if (verification !== undefined)
    verificationPassed.set(labels, verification.result === "Passed" ? 1 : 0);
}
