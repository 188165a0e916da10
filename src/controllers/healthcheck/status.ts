// HealthCheck status: pure mutators for what the reconcile owns (target,
// observedGeneration, Ready/Suspended conditions) and for what the probe
// reports own (state, metrics, counters, availability, score, Healthy).
// Both run through updateStatus, which reads the object fresh and writes only
// on a change, so they never overwrite each other's fields.
import { CommonConditionType, CommonReason } from "../../crds/conditions.ts";
import {
  HealthCheckCondition,
  HealthCheckReason as HealthReason,
  type HealthCheck,
  type HealthCheckStatus,
  type HealthState,
} from "../../crds/healthcheck.ts";
import { redactText } from "../../lib/redact.ts";
import type { KubeObject } from "../../runtime/kube.ts";
import type { HealthStatusFields } from "../../health/check.ts";
import {
  setCondition,
  type ConditionInput,
  type StatusWithConditions,
} from "../../runtime/conditions.ts";

export type Status = HealthCheckStatus & StatusWithConditions;

/** A HealthCheck as read from the API (timestamps as strings). */
export type HealthCheckObject = HealthCheck & KubeObject;

/** The Healthy condition for a state. */
export function healthyCondition(state: HealthState, message: string): ConditionInput {
  const type = HealthCheckCondition.Healthy;
  switch (state) {
    case "Healthy":
      return { type, status: "True", reason: HealthReason.Healthy, message };
    case "Warning":
      return { type, status: "True", reason: HealthReason.Degraded, message };
    case "Critical":
      return { type, status: "False", reason: HealthReason.Critical, message };
    default:
      return { type, status: "Unknown", reason: HealthReason.NotProbed, message };
  }
}

export interface ReportStatusInput {
  fields: HealthStatusFields;
  now: number;
  /** The open Incident's name; null removes incidentRef; undefined leaves it. */
  incident?: string | null;
  /** The run suppressing the Incident (suppressedBy); null removes it; undefined leaves it. */
  suppressedBy?: string | null;
}

/** Applies a probe report's fields to a status (in place). */
export function applyReport(status: Status, input: ReportStatusInput): void {
  const message = redactText(input.fields.message);
  Object.assign(status, { ...input.fields, message });
  for (const key of Object.keys(status) as (keyof Status)[]) {
    if (status[key] === undefined) delete status[key];
  }
  setCondition(status, healthyCondition(input.fields.state, message), undefined, input.now);
  if (input.incident === null) delete status.incidentRef;
  else if (input.incident !== undefined) status.incidentRef = { name: input.incident };
  if (input.suppressedBy === null) delete status.suppressedBy;
  else if (input.suppressedBy !== undefined) status.suppressedBy = input.suppressedBy;
}

export interface ReconcileStatusInput {
  generation: number | undefined;
  target: string;
  now: number;
  suspended: boolean;
  /** Set when the target cannot be resolved (missing Secret or key). */
  problem?: { reason: string; message: string };
  intervalText: string;
}

/** Applies the reconcile's outcome to a status (in place). */
export function applyReconcile(status: Status, input: ReconcileStatusInput): void {
  const { generation, now } = input;
  status.target = input.target;
  setCondition(
    status,
    {
      type: CommonConditionType.Suspended,
      status: input.suspended ? "True" : "False",
      reason: input.suspended ? CommonReason.Suspended : HealthReason.Probing,
      message: input.suspended ? "spec.suspend is true: not probing" : "",
    },
    generation,
    now,
  );
  setCondition(status, readyCondition(input), generation, now);
}

function readyCondition(input: ReconcileStatusInput): ConditionInput {
  const type = CommonConditionType.Ready;
  if (input.problem) return { type, status: "False", ...input.problem };
  if (input.suspended)
    return { type, status: "False", reason: CommonReason.Suspended, message: "Suspended" };
  return {
    type,
    status: "True",
    reason: HealthReason.Probing,
    message: `Probing ${input.target} every ${input.intervalText}`,
  };
}
