// The contract between the manager and what it runs (controllers, the probe
// engine, the HTTP server): start once, stop within a deadline.

export interface Runnable {
  /** Short name used in logs and metrics, e.g. "healthcheck". */
  readonly name: string;
  /** True when it should run only while this process holds the leader lease. */
  readonly needsLeaderElection: boolean;
  /** Starts work; resolves once started (not when finished). */
  start(): Promise<void>;
  /** Stops taking work and waits for in-flight work up to deadlineMs. */
  stop(deadlineMs: number): Promise<void>;
}
