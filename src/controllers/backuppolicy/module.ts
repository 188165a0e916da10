// The BackupPolicy module. Backups themselves come with the BackupPolicy
// issue (Jobs through controllers/jobrun); today the controller checks the
// spec semantically (schedule, time zone, verify.schedule) and reports
// SpecValid and Ready, so a wrong spec is visible at once.
import {
  BackupPolicySpec,
  backupPolicyDescriptor,
  type BackupPolicy,
  type BackupPolicyStatus,
} from "../../crds/backuppolicy.ts";
import type { StatusWithConditions } from "../../runtime/conditions.ts";
import type { KubeObject } from "../../runtime/kube.ts";
import { kindModule, type KindDefinition } from "../kit/kind-controller.ts";
import { validateBackupPolicy } from "./validate.ts";

/** A BackupPolicy as read from the API (timestamps as strings). */
export type BackupPolicyObject = BackupPolicy & KubeObject;

export const backupPolicyDefinition: KindDefinition<
  BackupPolicyObject,
  BackupPolicySpec,
  BackupPolicyStatus & StatusWithConditions
> = {
  name: "backuppolicy",
  kind: backupPolicyDescriptor,
  schema: BackupPolicySpec,
  validate: validateBackupPolicy,
  reconcile: () => Promise.resolve({}),
};

export const backupPolicyModule = kindModule(
  backupPolicyDefinition.name,
  () => backupPolicyDefinition,
);
