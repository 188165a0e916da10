// The MaintenanceTask's crash points (test/integration/incident-sources-crash):
// the mechanism is runtime/crash-points.ts.
import { crashPoint as crashAt } from "../../runtime/crash-points.ts";

export const CrashPoint = {
  /** The status recording a finished run is written; its Incident is neither opened nor resolved. */
  RunRecorded: "task-run-recorded",
  /** The source API opened (or resolved) the task's Incident; status.incidentRef does not say so yet. */
  IncidentChanged: "task-incident-changed",
} as const;
export type CrashPoint = (typeof CrashPoint)[keyof typeof CrashPoint];

/** Kills the process here when PAKE_CRASH_AT names this point. */
export function crashPoint(point: CrashPoint): void {
  crashAt(point);
}
