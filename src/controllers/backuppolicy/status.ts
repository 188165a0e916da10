// Pure: the status a BackupPolicy reconcile writes, applied to the status the
// kit hands it (the cached one, or a fresh read after a 409), so it never
// undoes what an earlier reconcile recorded.
import { CommonConditionType, CommonReason } from "../../crds/conditions.ts";
import {
  BackupPolicyCondition,
  BackupPolicyReason,
  type BackupPolicySpec,
  type BackupPolicyStatus,
  type BackupRecord,
  type Verification,
} from "../../crds/backuppolicy.ts";
import { setCondition, type StatusWithConditions } from "../../runtime/conditions.ts";
import { formatTime } from "../../runtime/normalize.ts";
import {
  applyPlan,
  suspendedCondition,
  type ActiveRun,
  type Blocked,
  type SchedulePlan,
} from "../jobrun/index.ts";
import { mergeBackups, type BackupRun } from "./backups.ts";

export type Status = BackupPolicyStatus & StatusWithConditions;

/** A finished run as status records it: its attempt, and what it left on the volume. */
export interface FinishedBackup {
  attempt: BackupRecord;
  run: BackupRun;
}

export interface StatusInput {
  spec: BackupPolicySpec;
  plan: SchedulePlan;
  /** The verify.schedule plan (absent without verify.schedule). */
  verifyPlan?: SchedulePlan | undefined;
  /** Runs finished (or ended by the watchdog) in this reconcile, oldest first. */
  finished: FinishedBackup[];
  /** Verifications finished in this reconcile, oldest first. */
  verifications: Verification[];
  active: ActiveRun[];
  /** Verifications whose Jobs have not finished. */
  verifying: ActiveRun[];
  /** Why runs are held: Ready=False with this reason and message. */
  blocked?: Blocked | undefined;
  now: Date;
}

function applySchedule(status: Status, input: StatusInput): void {
  applyPlan(status, input.plan, input.spec.suspend);
  if (input.active.length > 0) status.active = input.active;
  else delete status.active;
  if (input.verifying.length > 0) status.verifying = input.verifying;
  else delete status.verifying;
  const verify = input.verifyPlan;
  if (verify?.next && !input.spec.suspend) status.nextVerifyTime = formatTime(verify.next);
  else delete status.nextVerifyTime;
  if (verify?.lastScheduleTime) status.lastVerifyScheduleTime = formatTime(verify.lastScheduleTime);
}

/** A newer attempt (by start time) replaces lastBackup; an older one re-read never does. */
function newer(candidate: BackupRecord, current: BackupRecord | undefined): boolean {
  if (current === undefined || current.job === candidate.job) return true;
  return (candidate.startTime ?? "") >= (current.startTime ?? "");
}

function applyFinished(status: Status, finished: FinishedBackup[]): void {
  for (const f of finished) {
    if (newer(f.attempt, status.lastBackup)) status.lastBackup = f.attempt;
    if (f.attempt.result === "Succeeded") {
      const end = f.attempt.endTime;
      if (end && end > (status.lastSuccessfulTime ?? "")) status.lastSuccessfulTime = end;
    }
    const backups = mergeBackups(status.backups, f.run);
    if (backups.length > 0) status.backups = backups;
    else delete status.backups;
  }
}

function applyVerifications(status: Status, verifications: Verification[]): void {
  for (const v of verifications)
    if (status.lastVerification === undefined || v.time >= status.lastVerification.time)
      status.lastVerification = v;
}

type Cond = { type: string; status: "True" | "False"; reason: string; message: string };

function readyCondition(status: Status, input: StatusInput): Cond {
  const { spec, blocked } = input;
  const type = CommonConditionType.Ready;
  if (blocked) return { type, status: "False", ...blocked };
  if (spec.suspend)
    return {
      type,
      status: "True",
      reason: CommonReason.Suspended,
      message: "suspended: no new scheduled backups",
    };
  const next = status.nextScheduleTime ?? "never";
  const verify = status.nextVerifyTime ? `, next verification at ${status.nextVerifyTime}` : "";
  return {
    type,
    status: "True",
    reason: BackupPolicyReason.Scheduled,
    message: `next backup at ${next}${verify}`,
  };
}

function progressingCondition(active: ActiveRun[]): Cond {
  const type = CommonConditionType.Progressing;
  if (active.length === 0)
    return { type, status: "False", reason: BackupPolicyReason.Idle, message: "" };
  const running = active.map((a) => a.job).join(", ");
  return {
    type,
    status: "True",
    reason: BackupPolicyReason.BackupRunning,
    message: `running: ${running}`,
  };
}

function backupSucceededCondition(last: BackupRecord | undefined): Cond | undefined {
  if (last === undefined) return undefined;
  const type = BackupPolicyCondition.BackupSucceeded;
  if (last.result === "Succeeded")
    return {
      type,
      status: "True",
      reason: BackupPolicyReason.Succeeded,
      message: `backup ${last.id}: ${last.size ?? "size unknown"}`,
    };
  const message = `${last.job ?? last.id}: ${last.message ?? "failed"}`;
  return { type, status: "False", reason: BackupPolicyReason.BackupFailed, message };
}

function verifiedCondition(v: Verification | undefined): Cond | undefined {
  if (v === undefined) return undefined;
  const type = BackupPolicyCondition.Verified;
  const message = `backup ${v.backupId}: ${v.message ?? v.result}`.slice(0, 1024);
  return v.result === "Passed"
    ? { type, status: "True", reason: BackupPolicyReason.VerificationPassed, message }
    : { type, status: "False", reason: BackupPolicyReason.VerificationFailed, message };
}

function conditionsOf(status: Status, input: StatusInput): Cond[] {
  return [
    readyCondition(status, input),
    suspendedCondition(input.spec.suspend),
    progressingCondition(input.active),
    backupSucceededCondition(status.lastBackup),
    verifiedCondition(status.lastVerification),
  ].filter((c): c is Cond => c !== undefined);
}

/** The status mutator of one reconcile. */
export function statusMutator(input: StatusInput) {
  return (status: Status, obj: { metadata: { generation?: number } }): void => {
    const generation = obj.metadata.generation;
    status.observedGeneration = generation;
    applySchedule(status, input);
    applyFinished(status, input.finished);
    applyVerifications(status, input.verifications);
    for (const c of conditionsOf(status, input)) setCondition(status, c, generation, input.now);
  };
}
