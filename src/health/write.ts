// When to write status: at once on a change of the state, the message or any
// metric's state (a metric appearing or disappearing counts), otherwise at
// most once per interval (default 60 s) to refresh values, availability and
// score. Never once per probe.
import type { HealthState, MetricValue } from "../crds/healthcheck.ts";

export const DEFAULT_STATUS_INTERVAL_MS = 60_000;

/** What the last successful status write said. */
export interface WrittenStatus {
  at: number;
  state: HealthState;
  message: string;
  metricStates: Record<string, HealthState>;
}

export interface WriteCandidate {
  state: HealthState;
  message: string;
  metrics: readonly Pick<MetricValue, "name" | "state">[];
}

export interface WriteDecision {
  write: boolean;
  /** Why: "first", "state", "message", "metric <name>", "interval". Empty when not writing. */
  reasons: string[];
}

export function metricStates(
  metrics: readonly Pick<MetricValue, "name" | "state">[],
): Record<string, HealthState> {
  return Object.fromEntries(metrics.map((m) => [m.name, m.state]));
}

function changedMetrics(
  before: Record<string, HealthState>,
  after: Record<string, HealthState>,
): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => before[n] !== after[n]).sort();
}

export function shouldWriteStatus(
  last: WrittenStatus | undefined,
  next: WriteCandidate,
  now: number,
  intervalMs = DEFAULT_STATUS_INTERVAL_MS,
): WriteDecision {
  if (!last) return { write: true, reasons: ["first"] };
  const reasons: string[] = [];
  if (last.state !== next.state) reasons.push("state");
  if (last.message !== next.message) reasons.push("message");
  for (const name of changedMetrics(last.metricStates, metricStates(next.metrics))) {
    reasons.push(`metric ${name}`);
  }
  if (reasons.length === 0 && now - last.at >= intervalMs) reasons.push("interval");
  return { write: reasons.length > 0, reasons };
}

export function writtenStatus(candidate: WriteCandidate, at: number): WrittenStatus {
  return {
    at,
    state: candidate.state,
    message: candidate.message,
    metricStates: metricStates(candidate.metrics),
  };
}
