// Fault injection for the crash tests: with PAKE_CRASH_AT=<point> the
// operator SIGKILLs itself when a reconcile reaches that point, as a node
// failure would at the worst moment. Each kind names its points (e.g.
// controllers/backuppolicy/crash-points.ts). Unset (as always outside those
// tests), every point is a no-op.
export const CRASH_AT_ENV = "PAKE_CRASH_AT";

/** Kills the process here when PAKE_CRASH_AT names this point. */
export function crashPoint(point: string): void {
  if (process.env[CRASH_AT_ENV] === point) process.kill(process.pid, "SIGKILL");
}
