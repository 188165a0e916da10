// A databaseRestore task restores from the storage of the BackupPolicy it
// names: the reconcile reads that policy (fresh from the API server, same
// namespace) before any run starts. A missing or unusable policy holds the
// task's runs back and is reported on the task (Ready=False, the field named)
// instead of starting a Job that could only fail.
import { BackupPolicySpec, backupPolicyDescriptor } from "../../crds/backuppolicy.ts";
import { CommonReason } from "../../crds/conditions.ts";
import type { MaintenanceTaskSpec } from "../../crds/maintenancetask.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { isNotFound } from "../../runtime/errors.ts";
import type { Blocked } from "../jobrun/index.ts";
import type { KubeObject } from "../../runtime/kube.ts";

export const BACKUP_POLICY_REF_FIELD = "spec.task.databaseRestore.backupPolicyRef";

/** Where a policy's backups are: its claim and spec.storage.path. */
export interface BackupStorage {
  policy: string;
  claimName: string;
  path: string;
}

export type BackupRef = { storage: BackupStorage } | { blocked: Blocked };

function invalidPolicy(name: string): Blocked {
  return {
    reason: CommonReason.InvalidSpec,
    message: `${BACKUP_POLICY_REF_FIELD}: BackupPolicy ${name} has an invalid spec`,
  };
}

/** Reads the policy a databaseRestore task names; undefined for other task types. */
export async function resolveBackupRef(
  spec: MaintenanceTaskSpec,
  namespace: string,
  ctx: ReconcileContext,
): Promise<BackupRef | undefined> {
  const restore = spec.task.databaseRestore;
  if (restore === undefined) return undefined;
  const name = restore.backupPolicyRef.name;
  let policy: KubeObject & { spec?: unknown };
  try {
    policy = await ctx.client.get(backupPolicyDescriptor, { namespace, name });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return {
      blocked: {
        reason: CommonReason.ReferenceNotFound,
        message: `${BACKUP_POLICY_REF_FIELD}: BackupPolicy ${name} not found in namespace ${namespace}`,
      },
    };
  }
  const parsed = BackupPolicySpec.safeParse(policy.spec);
  if (!parsed.success) return { blocked: invalidPolicy(name) };
  const storage = parsed.data.storage;
  return {
    storage: {
      policy: name,
      claimName: storage.persistentVolumeClaim.claimName,
      path: storage.path,
    },
  };
}
