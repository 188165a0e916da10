// The health state of one HealthCheck as a pure reducer: each probe result
// goes in, the next status fields and the write decision come out.
//
//   let memory = memoryFromStatus(object.status);   // survives restarts
//   const o = observe(memory, result, policy, now);
//   memory = o.memory;
//   if (o.decision.write && (await patchStatus(o.status))) memory = markWritten(memory, o.status, now);
import type {
  AvailabilityBuckets,
  HealthCheckStatus,
  HealthState,
  Threshold,
} from "../crds/healthcheck.ts";
import type { ProbeResult } from "./probe-result.ts";
import { availability, emptyBuckets, recordProbe } from "./availability.ts";
import { damp, initialDamping, type DampingState } from "./damping.ts";
import { healthScore, nextTrendState, trendOf, type TrendState } from "./score.ts";
import { gradeMetrics, metricProblems, worstState } from "./thresholds.ts";
import {
  DEFAULT_STATUS_INTERVAL_MS,
  metricStates,
  shouldWriteStatus,
  writtenStatus,
  type WriteDecision,
  type WrittenStatus,
} from "./write.ts";

export const MAX_MESSAGE_LENGTH = 4096;

/** The HealthCheck spec fields that shape the state (failure/successThreshold as in the spec). */
export interface HealthPolicy {
  thresholds?: readonly Threshold[];
  failureThreshold?: number;
  successThreshold?: number;
  /** Longest time between status writes when nothing changes. Default 60 s. */
  statusIntervalMs?: number;
}

export interface HealthMemory {
  damping: DampingState;
  lastTransitionTime?: string;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  successCount: number;
  failureCount: number;
  lastSuccessTime?: string;
  lastFailureTime?: string;
  buckets?: AvailabilityBuckets;
  trend?: TrendState;
  lastWritten?: WrittenStatus;
}

/** The status fields this module owns; the controller adds observedGeneration, conditions, target, incidentRef. */
export type HealthStatusFields = Required<
  Pick<
    HealthCheckStatus,
    | "state"
    | "message"
    | "lastProbeTime"
    | "latencyMs"
    | "metrics"
    | "consecutiveFailures"
    | "consecutiveSuccesses"
    | "successCount"
    | "failureCount"
    | "availability"
    | "availabilityBuckets"
    | "healthScore"
    | "trend"
  >
> &
  Pick<HealthCheckStatus, "lastTransitionTime" | "lastSuccessTime" | "lastFailureTime">;

export interface Observation {
  memory: HealthMemory;
  status: HealthStatusFields;
  /** The probe's own grade, before damping. */
  rawState: Exclude<HealthState, "Unknown">;
  /** Set when the damped state changed with this probe. */
  transition?: { from: HealthState; to: HealthState };
  decision: WriteDecision;
}

function writtenFrom(status: HealthCheckStatus): WrittenStatus | undefined {
  if (!status.state || status.message === undefined || !status.lastProbeTime) return undefined;
  return {
    at: Date.parse(status.lastProbeTime),
    state: status.state,
    message: status.message,
    metricStates: metricStates(status.metrics ?? []),
  };
}

function countersFrom(
  status: HealthCheckStatus,
): Pick<
  HealthMemory,
  "consecutiveFailures" | "consecutiveSuccesses" | "successCount" | "failureCount"
> {
  return {
    consecutiveFailures: status.consecutiveFailures ?? 0,
    consecutiveSuccesses: status.consecutiveSuccesses ?? 0,
    successCount: status.successCount ?? 0,
    failureCount: status.failureCount ?? 0,
  };
}

/** Memory for a check, seeded from its status so that a restart keeps counts, availability and state. */
export function memoryFromStatus(status: HealthCheckStatus = {}): HealthMemory {
  const score = status.healthScore;
  return {
    damping: initialDamping(status.state ?? "Unknown"),
    lastTransitionTime: status.lastTransitionTime,
    ...countersFrom(status),
    lastSuccessTime: status.lastSuccessTime,
    lastFailureTime: status.lastFailureTime,
    buckets: status.availabilityBuckets,
    trend: score === undefined ? undefined : { fast: score, slow: score },
    lastWritten: writtenFrom(status),
  };
}

function composeMessage(result: ProbeResult, problems: string[]): string {
  const text = [result.message, ...problems].filter((s) => s.length > 0).join("; ");
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : text;
}

function countProbe(memory: HealthMemory, ok: boolean, at: string): HealthMemory {
  return ok
    ? {
        ...memory,
        consecutiveSuccesses: memory.consecutiveSuccesses + 1,
        consecutiveFailures: 0,
        successCount: memory.successCount + 1,
        lastSuccessTime: at,
      }
    : {
        ...memory,
        consecutiveFailures: memory.consecutiveFailures + 1,
        consecutiveSuccesses: 0,
        failureCount: memory.failureCount + 1,
        lastFailureTime: at,
      };
}

export function observe(
  memory: HealthMemory,
  result: ProbeResult,
  policy: HealthPolicy,
  now: number,
): Observation {
  const at = new Date(now).toISOString();
  const metrics = gradeMetrics(result.metrics, policy.thresholds);
  const rawState = result.ok ? worstState(metrics.map((m) => m.state)) : "Critical";
  const graded = rawState === "Unknown" ? "Warning" : rawState;
  const damping = damp(memory.damping, graded, policy);
  const transition =
    damping.state !== memory.damping.state
      ? { from: memory.damping.state, to: damping.state }
      : undefined;
  const buckets = recordProbe(memory.buckets ?? emptyBuckets(now), now, result.ok);
  const avail = availability(buckets, now);
  const score = healthScore({
    state: damping.state,
    availability: avail,
    metrics,
    probeOk: result.ok,
  });
  const trend = nextTrendState(memory.trend, score);
  const next: HealthMemory = {
    ...countProbe(memory, result.ok, at),
    damping,
    lastTransitionTime: transition ? at : memory.lastTransitionTime,
    buckets,
    trend,
  };
  const status: HealthStatusFields = {
    state: damping.state,
    message: composeMessage(result, result.ok ? metricProblems(metrics) : []),
    lastProbeTime: at,
    lastTransitionTime: next.lastTransitionTime,
    latencyMs: Math.max(0, Math.round(result.latencyMs * 10) / 10),
    metrics: metrics.slice(0, 64),
    consecutiveFailures: next.consecutiveFailures,
    consecutiveSuccesses: next.consecutiveSuccesses,
    successCount: next.successCount,
    failureCount: next.failureCount,
    lastSuccessTime: next.lastSuccessTime,
    lastFailureTime: next.lastFailureTime,
    availability: avail,
    availabilityBuckets: buckets,
    healthScore: score,
    trend: trendOf(trend),
  };
  const decision = shouldWriteStatus(
    memory.lastWritten,
    status,
    now,
    policy.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS,
  );
  return { memory: next, status, rawState: graded, transition, decision };
}

/** Memory after the status was written successfully (the write decision compares with it). */
export function markWritten(
  memory: HealthMemory,
  status: HealthStatusFields,
  now: number,
): HealthMemory {
  return { ...memory, lastWritten: writtenStatus(status, now) };
}
