// Pure: what the runs recorded in one reconcile mean for the owner's Incident
// (one per owner, opened and resolved through the Incident source API by the
// owning kind, which alone may import it). The newest outcome decides, so a
// failure followed by a success in the same reconcile resolves, and the
// reverse opens:
//   failed after its retries (Failed, TimedOut)  → open, or repeat the open one
//   succeeded with a critical finding            → open, or repeat the open one
//   succeeded cleanly                            → resolve the open one
//   cancelled (Replace), still running           → no say
import { redactText } from "../../lib/redact.ts";
import type { RunRecord } from "./types.ts";

/** One finished run (or verification, …) as its owner's Incident sees it. */
export interface RunOutcome {
  /** When it ended (ISO time): orders outcomes and names the Incident's episode. */
  time: string;
  /** What ran, e.g. "run vacuum-29000000", "verification of backup b-1". */
  what: string;
  /** Why it needs a response, e.g. "failed"; undefined for a clean success. */
  problem?: string | undefined;
  /** The run's own words (summary, error); redacted here. */
  message: string;
}

export type RunIncidentDecision =
  | { action: "open"; title: string; message: string; episode: string }
  | { action: "resolve" }
  | { action: "none" };

/** A run record as an outcome; undefined for a record that says nothing (Running, Cancelled). */
export function recordOutcome(record: RunRecord, critical = false): RunOutcome | undefined {
  const base = {
    time: record.endTime ?? record.startTime ?? "",
    what: `run ${record.job}`,
    message: record.summary ?? record.result,
  };
  switch (record.result) {
    case "Failed":
    case "TimedOut":
      return { ...base, problem: record.result === "TimedOut" ? "timed out" : "failed" };
    case "Succeeded":
      return critical ? { ...base, problem: "reported a critical finding" } : base;
    default:
      return undefined;
  }
}

/** The Incident action the newest outcome calls for; `owner` starts the title, e.g. "MaintenanceTask vacuum". */
export function runIncidentDecision(owner: string, outcomes: RunOutcome[]): RunIncidentDecision {
  const newest = [...outcomes].sort((a, b) => a.time.localeCompare(b.time)).at(-1);
  if (newest === undefined) return { action: "none" };
  if (newest.problem === undefined) return { action: "resolve" };
  return {
    action: "open",
    title: `${owner}: ${newest.what} ${newest.problem}`,
    message: redactText(newest.message),
    episode: newest.time,
  };
}
