// The BackupPolicy module: backups as Jobs (`pake-operator run backup` in the
// operator image) on the policy's schedule and on pake.dev/backup-now, each
// backup recorded in status from the runner's result.
import {
  BackupPolicySpec,
  backupPolicyDescriptor,
  type BackupPolicy,
} from "../../crds/backuppolicy.ts";
import { JobKind } from "../../lib/kinds.ts";
import { kindModule, type KindDefinition } from "../kit/kind-controller.ts";
import {
  reconcileBackupPolicy,
  type BackupPolicyObject,
  type BackupPolicyOptions,
} from "./reconcile.ts";
import type { Status } from "./status.ts";
import { validateBackupPolicy } from "./validate.ts";

export type { BackupPolicyObject } from "./reconcile.ts";

export const BACKUP_POLICY_CONTROLLER = "backuppolicy";

/** The kind definition (exported so tests can drive one reconcile with a FakeClock). */
export function backupPolicyDefinition(
  options: BackupPolicyOptions,
): KindDefinition<BackupPolicyObject, BackupPolicySpec, Status> {
  return {
    name: BACKUP_POLICY_CONTROLLER,
    kind: backupPolicyDescriptor,
    schema: BackupPolicySpec,
    // The validator reads the same fields the CRD type declares.
    validate: (policy) => validateBackupPolicy(policy as unknown as BackupPolicy),
    reconcile: (policy, spec, ctx) => reconcileBackupPolicy(policy, spec, ctx, options),
  };
}

export const backupPolicyModule = kindModule(
  BACKUP_POLICY_CONTROLLER,
  (ctx) => backupPolicyDefinition({ runnerImage: ctx.config.runnerImage }),
  { owns: [JobKind], workers: 4 },
);
