// Verification runs: a Job restores a backup into a scratch database and
// checks it (`pake-operator run backupVerify`). Without verify.schedule,
// after each successful backup, level-triggered: the newest retained backup
// should be verified; while status.lastVerification names another backup,
// its verify Job (one deterministic name per backup id, AlreadyExists =
// already started) is ensured. With verify.schedule, on that schedule
// instead (verify-schedule.ts), one Job per slot.
import {
  type BackupPolicySpec,
  type BackupPolicyStatus,
  type Verification,
} from "../../crds/backuppolicy.ts";
import { parseDuration } from "../../lib/duration.ts";
import { keyedJobName } from "../../schedule/index.ts";
import {
  buildRunJob,
  mountClaim,
  postgresEnv,
  runnerPod,
  type Job,
  type RunRecord,
  type RunRequest,
  type RunnerResult,
} from "../jobrun/index.ts";
import { BACKUP_ROOT, BACKUP_VOLUME } from "../../tasks/backup/manifest.ts";
import { policyOwnerRef, type BackupOwner } from "./job-builder.ts";

/** Label on a policy's verify Jobs whose value is the policy's name. */
export const VERIFY_LABEL = "pake.dev/backuppolicy-verify";

/** Whether backups are verified right after they are taken. */
export function verifiesAfterBackup(spec: BackupPolicySpec): boolean {
  return spec.verify !== undefined && spec.verify.enabled && spec.verify.schedule === undefined;
}

/** The backup that should be verified: the newest retained one. */
export function backupToVerify(status: BackupPolicyStatus | undefined): string | undefined {
  return status?.backups?.find((b) => b.result !== "Failed")?.id;
}

export function verifyJobName(policy: string, backupId: string): string {
  return keyedJobName(policy, "verify", backupId);
}

/**
 * The verify Job of one backup: the storage claim read-only, the restore
 * server from a Secret. `run` names it (a verify.schedule slot); default: the
 * one Job of that backup id.
 */
export function buildVerifyJob(
  owner: BackupOwner,
  backupId: string,
  image: string,
  run?: RunRequest,
): Job {
  const verify = owner.spec.verify!;
  const config = {
    policy: { namespace: owner.namespace, name: owner.name },
    root: BACKUP_ROOT,
    path: owner.spec.storage.path,
    backupId,
    ...(verify.scratchDatabase ? { scratchDatabase: verify.scratchDatabase } : {}),
    compareRowCounts: verify.compareRowCounts,
  };
  const secret = (verify.connectionSecretRef ?? owner.spec.database.connectionSecretRef).name;
  const pod = runnerPod("backupVerify", config, image);
  pod.container.env.push(...postgresEnv(secret));
  mountClaim(pod, {
    volume: BACKUP_VOLUME,
    claimName: owner.spec.storage.persistentVolumeClaim.claimName,
    mountPath: BACKUP_ROOT,
    readOnly: true,
  });
  return buildRunJob({
    owner: policyOwnerRef(owner),
    namespace: owner.namespace,
    ownerLabel: VERIFY_LABEL,
    run: run ?? { job: verifyJobName(owner.name, backupId), trigger: "Once" },
    pod,
    timeoutMs: parseDuration(verify.timeout),
    // A failed verification is a finding, not a flake: no retry.
    retries: 0,
  });
}

const int = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : undefined;

/** tables and rows, when the runner counted them. */
function counts(data: Record<string, unknown>): Pick<Verification, "tables" | "rows"> {
  const tables = int(data.tables);
  const rows = int(data.rows);
  return { ...(tables !== undefined ? { tables } : {}), ...(rows !== undefined ? { rows } : {}) };
}

/** The verification a finished verify run reports (a run that could not verify is Failed). */
export function verificationOf(
  record: RunRecord,
  runner: RunnerResult | undefined,
): Verification | undefined {
  const data = (runner?.data ?? {}) as Record<string, unknown>;
  if (typeof data.backupId !== "string") return undefined;
  const passed = record.result === "Succeeded" && data.result === "Passed";
  const message = typeof data.message === "string" ? data.message : record.summary;
  return {
    backupId: data.backupId,
    job: record.job,
    time: record.endTime ?? record.startTime ?? new Date(0).toISOString(),
    result: passed ? "Passed" : "Failed",
    ...counts(data),
    ...(message ? { message: message.slice(0, 4096) } : {}),
  };
}
