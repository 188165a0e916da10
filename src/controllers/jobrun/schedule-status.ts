// Pure: the status fields every owner of scheduled Job runs keeps the same
// way (the schedule in force, the next and last slot, the last run-now token)
// and its Suspended condition.
import { CommonConditionType, CommonReason } from "../../crds/conditions.ts";
import { formatTime } from "../../runtime/normalize.ts";
import type { SchedulePlan } from "./plan.ts";

export interface ScheduleStatus {
  resolvedSchedule?: string | undefined;
  nextScheduleTime?: string | undefined;
  lastScheduleTime?: string | undefined;
  lastRunNowToken?: string | undefined;
}

/** Writes a reconcile's plan into the schedule fields (no next time while suspended). */
export function applyPlan(status: ScheduleStatus, plan: SchedulePlan, suspend: boolean): void {
  if (plan.resolved) status.resolvedSchedule = plan.resolved;
  else delete status.resolvedSchedule;
  if (plan.next && !suspend) status.nextScheduleTime = formatTime(plan.next);
  else delete status.nextScheduleTime;
  if (plan.lastScheduleTime) status.lastScheduleTime = formatTime(plan.lastScheduleTime);
  if (plan.runNowToken !== undefined) status.lastRunNowToken = plan.runNowToken;
}

/** Suspended=True/False from spec.suspend. */
export function suspendedCondition(suspend: boolean): {
  type: string;
  status: "True" | "False";
  reason: string;
  message: string;
} {
  return {
    type: CommonConditionType.Suspended,
    status: suspend ? "True" : "False",
    reason: suspend ? CommonReason.Suspended : CommonReason.NotSuspended,
    message: "",
  };
}
