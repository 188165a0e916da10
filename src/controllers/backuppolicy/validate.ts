// Semantic checks of a BackupPolicy behind the CRD schema.
import { BackupPolicySpec, type BackupPolicy } from "../../crds/backuppolicy.ts";
import { schemaProblems, scheduleProblems, type SpecProblem } from "../kit/spec-validation.ts";

/**
 * Verification on its own schedule is not built yet (backups are verified
 * right after they are taken): a policy asking for it is told so rather than
 * silently never verified.
 */
const VERIFY_SCHEDULE_UNSUPPORTED: SpecProblem = {
  field: "spec.verify.schedule",
  message:
    "verification on its own schedule is not supported yet; remove it to verify every backup right after it is taken",
};

export function validateBackupPolicy(bp: BackupPolicy): SpecProblem[] {
  const verify = bp.spec?.verify?.schedule;
  return [
    ...schemaProblems(BackupPolicySpec, bp.spec),
    ...scheduleProblems(bp.spec ?? {}, bp.metadata),
    ...(verify !== undefined ? [VERIFY_SCHEDULE_UNSUPPORTED] : []),
  ];
}
