// Pure: one backup run → its Job. The operator image runs
// `pake-operator run backup` with the policy's settings as its config; the
// database credentials reach it only through secretKeyRef env, and the
// storage claim is mounted at BACKUP_ROOT.
import { API_GROUP_VERSION } from "../../crds/common.ts";
import { backupPolicyDescriptor, type BackupPolicySpec } from "../../crds/backuppolicy.ts";
import { parseDuration } from "../../lib/duration.ts";
import { BACKUP_ROOT, BACKUP_VOLUME } from "../../tasks/backup/manifest.ts";
import {
  buildRunJob,
  mountClaim,
  postgresEnv,
  runnerPod,
  type Job,
  type JobOwnerRef,
  type RunPod,
  type RunRequest,
} from "../jobrun/index.ts";
import { backupIdOfRun } from "./backups.ts";

/** Label on a policy's Jobs whose value is the policy's name. */
export const POLICY_LABEL = "pake.dev/backuppolicy";

export interface BackupOwner {
  namespace: string;
  name: string;
  uid: string;
  spec: BackupPolicySpec;
}

/** The backup runner's config (the contract in src/tasks/backup/). */
export function backupConfig(owner: BackupOwner, id: string): Record<string, unknown> {
  const { spec } = owner;
  return {
    policy: { namespace: owner.namespace, name: owner.name },
    id,
    root: BACKUP_ROOT,
    path: spec.storage.path,
    ...(spec.database.databases ? { databases: spec.database.databases } : {}),
    format: spec.format,
    compression: spec.compression,
    retention: spec.retention,
    timeZone: spec.timeZone,
  };
}

function backupPod(owner: BackupOwner, id: string, image: string): RunPod {
  const pod = runnerPod("backup", backupConfig(owner, id), image);
  pod.container.env.push(...postgresEnv(owner.spec.database.connectionSecretRef.name));
  mountClaim(pod, {
    volume: BACKUP_VOLUME,
    claimName: owner.spec.storage.persistentVolumeClaim.claimName,
    mountPath: BACKUP_ROOT,
  });
  return pod;
}

/** The owner reference of a policy's Jobs. */
export function policyOwnerRef(owner: BackupOwner): JobOwnerRef {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: backupPolicyDescriptor.kind,
    name: owner.name,
    uid: owner.uid,
  };
}

/** The Job of one backup run. */
export function buildBackupJob(
  owner: BackupOwner,
  run: RunRequest,
  opts: { image: string; now: Date },
): Job {
  const { image, now } = opts;
  return buildRunJob({
    owner: policyOwnerRef(owner),
    namespace: owner.namespace,
    ownerLabel: POLICY_LABEL,
    run,
    pod: backupPod(owner, backupIdOfRun(run, now), image),
    timeoutMs: parseDuration(owner.spec.timeout),
    retries: owner.spec.retries,
  });
}
