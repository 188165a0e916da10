// Semantic checks of a BackupPolicy behind the CRD schema: the backup
// schedule and time zone, and verify.schedule (resolved under the name its
// slots are planned with, so hashed-random forms resolve as they will run).
import { BackupPolicySpec, type BackupPolicy } from "../../crds/backuppolicy.ts";
import { schemaProblems, scheduleProblems, type SpecProblem } from "../kit/spec-validation.ts";
import { verifyScheduleName } from "./verify-schedule.ts";

function verifyScheduleProblems(bp: BackupPolicy): SpecProblem[] {
  const schedule = bp.spec?.verify?.schedule;
  if (schedule === undefined) return [];
  const owner = {
    namespace: bp.metadata.namespace,
    name: verifyScheduleName(bp.metadata.name ?? ""),
  };
  return scheduleProblems({ schedule }, owner, "spec.verify.schedule");
}

export function validateBackupPolicy(bp: BackupPolicy): SpecProblem[] {
  return [
    ...schemaProblems(BackupPolicySpec, bp.spec),
    ...scheduleProblems(bp.spec ?? {}, bp.metadata),
    ...verifyScheduleProblems(bp),
  ];
}
