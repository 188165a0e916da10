// spec.concurrencyPolicy when a run is due: Forbid (default) skips it while a
// run is active, Allow starts it anyway, Replace stops the active runs first.
export type ConcurrencyPolicy = "Forbid" | "Allow" | "Replace";

export interface ConcurrencyInput {
  policy: ConcurrencyPolicy | undefined;
  /** Runs whose Jobs have not finished. */
  active: readonly { job: string }[];
}

export interface ConcurrencyDecision {
  action: "start" | "skip" | "replace";
  /** Jobs to stop (delete with propagation) before starting: Replace only. */
  stop: string[];
  reason: "NoActiveRun" | "ConcurrentAllowed" | "ConcurrentForbidden" | "ReplacingActiveRun";
  message: string;
}

export function decideConcurrency(input: ConcurrencyInput): ConcurrencyDecision {
  const jobs = input.active.map((a) => a.job);
  if (jobs.length === 0) {
    return { action: "start", stop: [], reason: "NoActiveRun", message: "no run is active" };
  }
  const list = jobs.join(", ");
  switch (input.policy ?? "Forbid") {
    case "Allow":
      return {
        action: "start",
        stop: [],
        reason: "ConcurrentAllowed",
        message: `starting alongside active run(s) ${list} (concurrencyPolicy Allow)`,
      };
    case "Replace":
      return {
        action: "replace",
        stop: jobs,
        reason: "ReplacingActiveRun",
        message: `stopping active run(s) ${list} before starting (concurrencyPolicy Replace)`,
      };
    default:
      return {
        action: "skip",
        stop: [],
        reason: "ConcurrentForbidden",
        message: `skipped: run(s) ${list} still active (concurrencyPolicy Forbid)`,
      };
  }
}
