// Standard status conditions (metav1.Condition): type, status, reason,
// message, lastTransitionTime, observedGeneration. Rules:
// - lastTransitionTime moves only when `status` flips (True/False/Unknown);
//   a new reason or message alone keeps it;
// - every condition and the status root carry observedGeneration, so a reader
//   can tell whether the status describes the current spec;
// - `Ready` summarises the others (see summarizeReady).
import { formatTime } from "./normalize.ts";

/**
 * The condition words the runtime itself writes. Product condition types and
 * reasons (SpecValid, Healthy, LastRunSucceeded, …) are API and live with the
 * schemas in src/crds (conditions.ts and each kind's file).
 */
export const ConditionType = {
  /** The object is fully reconciled and doing its job. */
  Ready: "Ready",
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType] | (string & {});

/** Reasons (CamelCase, stable: alerts and tests match on them). */
export const ConditionReason = {
  /** The reconcile completed and everything is in the desired state. */
  ReconcileSucceeded: "ReconcileSucceeded",
  /** The reconcile failed; the message carries the error. */
  ReconcileError: "ReconcileError",
  /** Not yet reconciled since the object was created or changed. */
  Pending: "Pending",
  /** All dependent conditions are True. */
  AllConditionsMet: "AllConditionsMet",
} as const;
export type ConditionReason =
  (typeof ConditionReason)[keyof typeof ConditionReason] | (string & {});

export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ConditionInput {
  type: ConditionType;
  status: ConditionStatus;
  reason: ConditionReason;
  message?: string;
}

/** Any status object with conditions. */
export interface StatusWithConditions {
  observedGeneration?: number;
  conditions?: Condition[];
  [key: string]: unknown;
}

/** Kubernetes limits a condition message to 32 KiB; keep them far shorter. */
const MAX_MESSAGE = 1024;

export function getCondition(
  status: StatusWithConditions | undefined,
  type: string,
): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

export function isConditionTrue(status: StatusWithConditions | undefined, type: string): boolean {
  return getCondition(status, type)?.status === "True";
}

/**
 * Sets (or adds) a condition in place. Returns true when anything changed.
 * Also stamps the status root's observedGeneration.
 */
export function setCondition(
  status: StatusWithConditions,
  input: ConditionInput,
  generation: number | undefined,
  now: Date | number,
): boolean {
  const conditions = (status.conditions ??= []);
  const rootChanged = markObserved(status, generation);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: truncate(input.message ?? ""),
    lastTransitionTime: formatTime(now),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  const i = conditions.findIndex((c) => c.type === input.type);
  const existing = conditions[i];
  if (!existing) {
    conditions.push(next);
    return true;
  }
  // lastTransitionTime moves only when the status flips.
  if (existing.status === next.status) next.lastTransitionTime = existing.lastTransitionTime;
  if (generation === undefined && existing.observedGeneration !== undefined) {
    next.observedGeneration = existing.observedGeneration;
  }
  conditions[i] = next;
  return rootChanged || !sameCondition(existing, next);
}

function sameCondition(a: Condition, b: Condition): boolean {
  return (
    a.status === b.status &&
    a.reason === b.reason &&
    a.message === b.message &&
    a.lastTransitionTime === b.lastTransitionTime &&
    a.observedGeneration === b.observedGeneration
  );
}

export function removeCondition(status: StatusWithConditions, type: string): boolean {
  const before = status.conditions?.length ?? 0;
  status.conditions = (status.conditions ?? []).filter((c) => c.type !== type);
  return status.conditions.length !== before;
}

/** Sets status.observedGeneration; returns true when it changed. */
export function markObserved(
  status: StatusWithConditions,
  generation: number | undefined,
): boolean {
  if (generation === undefined || status.observedGeneration === generation) return false;
  status.observedGeneration = generation;
  return true;
}

/**
 * Sets `Ready` from other conditions: True (AllConditionsMet) when every type
 * in `dependsOn` is True; otherwise False (or Unknown when a dependency is
 * missing or Unknown) with the first offending condition's reason and message.
 */
export function summarizeReady(
  status: StatusWithConditions,
  dependsOn: string[],
  generation: number | undefined,
  now: Date | number,
): boolean {
  for (const type of dependsOn) {
    const c = getCondition(status, type);
    if (c?.status === "True") continue;
    const input: ConditionInput = c
      ? { type: ConditionType.Ready, status: c.status, reason: c.reason, message: c.message }
      : {
          type: ConditionType.Ready,
          status: "Unknown",
          reason: ConditionReason.Pending,
          message: `${type} not yet reported`,
        };
    return setCondition(status, input, generation, now);
  }
  const ready: ConditionInput = {
    type: ConditionType.Ready,
    status: "True",
    reason: ConditionReason.AllConditionsMet,
    message: "",
  };
  return setCondition(status, ready, generation, now);
}

function truncate(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE - 1)}…`;
}
