// Flap damping, like Kubernetes probes: the check's state moves to a worse
// state only after `failureThreshold` consecutive probes grade worse than it,
// and back to a better one only after `successThreshold` consecutive probes
// grade better.
//
// - A worse streak moves to the *least* bad state seen in the streak
//   (Warning, Critical, Critical → Warning).
// - A better streak moves to the *worst* state seen in the streak
//   (Healthy, Warning → Warning from Critical).
// - A probe that grades the same as the current state ends both streaks.
// - From Unknown (a new check), a Healthy or Warning probe is adopted at
//   once; Critical needs failureThreshold probes like any other worsening.
import type { HealthState } from "../crds/healthcheck.ts";

export const DEFAULT_FAILURE_THRESHOLD = 3;
export const DEFAULT_SUCCESS_THRESHOLD = 2;

const RANK: Record<Exclude<HealthState, "Unknown">, number> = {
  Healthy: 0,
  Warning: 1,
  Critical: 2,
};
type Graded = Exclude<HealthState, "Unknown">;

export interface DampingState {
  state: HealthState;
  /** Consecutive probes worse than `state`, and the least bad among them. */
  worse: number;
  worseFloor?: Graded;
  /** Consecutive probes better than `state`, and the worst among them. */
  better: number;
  betterCeiling?: Graded;
}

export interface DampingThresholds {
  failureThreshold?: number;
  successThreshold?: number;
}

export function initialDamping(state: HealthState = "Unknown"): DampingState {
  return { state, worse: 0, better: 0 };
}

function rankOf(state: HealthState): number {
  return state === "Unknown" ? -1 : RANK[state];
}

function worsen(prev: DampingState, raw: Graded, threshold: number): DampingState {
  const worse = prev.worse + 1;
  const floor = prev.worseFloor && RANK[prev.worseFloor] < RANK[raw] ? prev.worseFloor : raw;
  if (worse >= threshold) return initialDamping(floor);
  return { state: prev.state, worse, worseFloor: floor, better: 0 };
}

function improve(prev: DampingState, raw: Graded, threshold: number): DampingState {
  const better = prev.better + 1;
  const ceiling =
    prev.betterCeiling && RANK[prev.betterCeiling] > RANK[raw] ? prev.betterCeiling : raw;
  if (better >= threshold) return initialDamping(ceiling);
  return { state: prev.state, worse: 0, better, betterCeiling: ceiling };
}

/** The damped state after one more probe graded `raw` (Healthy, Warning or Critical). */
export function damp(prev: DampingState, raw: Graded, t: DampingThresholds = {}): DampingState {
  if (raw === prev.state) return initialDamping(raw);
  if (prev.state === "Unknown" && raw !== "Critical") return initialDamping(raw);
  if (RANK[raw] > rankOf(prev.state)) {
    return worsen(prev, raw, t.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD);
  }
  return improve(prev, raw, t.successThreshold ?? DEFAULT_SUCCESS_THRESHOLD);
}
