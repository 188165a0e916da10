// Semantic checks of a BackupPolicy behind the CRD schema.
import { BackupPolicySpec, type BackupPolicy } from "../../crds/backuppolicy.ts";
import { schemaProblems, scheduleProblems, type SpecProblem } from "../kit/spec-validation.ts";

export function validateBackupPolicy(bp: BackupPolicy): SpecProblem[] {
  const verify = bp.spec?.verify?.schedule;
  return [
    ...schemaProblems(BackupPolicySpec, bp.spec),
    ...scheduleProblems(bp.spec ?? {}, bp.metadata),
    ...(verify !== undefined
      ? scheduleProblems({ schedule: verify }, bp.metadata, "spec.verify.schedule")
      : []),
  ];
}
