// jobrun's crash points (test/integration/jobrun-recorded-crash): the
// mechanism is runtime/crash-points.ts.
import { crashPoint as crashAt } from "../../runtime/crash-points.ts";

export const JobRunCrashPoint = {
  /** The owner's status is written; finished Jobs beyond the history limits are not deleted yet. */
  BeforePrune: "jobrun-before-prune",
} as const;
export type JobRunCrashPoint = (typeof JobRunCrashPoint)[keyof typeof JobRunCrashPoint];

/** Kills the process here when PAKE_CRASH_AT names this point. */
export function crashPoint(point: JobRunCrashPoint): void {
  crashAt(point);
}
