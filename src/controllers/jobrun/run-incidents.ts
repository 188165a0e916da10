// What the runs recorded in one reconcile mean for the owner's Incident
// (one per owner, opened and resolved through the Incident source API by the
// owning kind, which alone may import it: the kind passes its calls in). The
// decisions are pure; status.incidentRef is written here. The newest outcome
// decides, so a failure followed by a success in the same reconcile
// resolves, and the reverse opens:
//   failed after its retries (Failed, TimedOut)  → open, or repeat the open one
//   succeeded with a critical finding            → open, or repeat the open one
//   succeeded cleanly                            → resolve the open one
//   cancelled (Replace), still running           → no say
import { redactText } from "../../lib/redact.ts";
import type { KubeClient, KubeObject } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import { updateStatus, type StatusRef } from "../../runtime/status.ts";
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

// Level-triggered on top of the edge: the decision above sees only the runs a
// status write recorded for the first time, so an operator that dies after
// that write and before the source API call (or a call that fails) would
// never open or resolve the Incident. status.incidentRef (the open Incident
// the owner raised, written after the source API answered) closes the gap:
// each reconcile compares it with the newest outcome in the status it wrote.
//   recorded outcomes               → the edge decision (a repeat raises occurrences)
//   none; newest a problem, no ref  → open (occurrence: false, see below)
//   none; newest clean, ref set     → resolve, then clear the ref
//   otherwise (the steady state)    → nothing, no API call
// The safety net opens with occurrence: false: it cannot tell whether the
// call it replaces counted the run before the crash, and counting it twice is
// worse than a repeat that only moves lastSeen. A person who resolves the
// Incident while the owner still fails leaves incidentRef set, so the safety
// net does not re-open it; the next recorded failure opens a new one.

/** Where the owner's Incident stands after one status write. */
export interface IncidentLevel {
  /** Outcomes that status write recorded for the first time (the edge). */
  recorded: RunOutcome[];
  /** The newest outcome in the written status, recorded now or earlier (the level). */
  newest: RunOutcome | undefined;
  /** status.incidentRef.name as written. */
  incidentRef: string | undefined;
  /** spec.incident.enabled: whether problems open Incidents (an open one is resolved anyway). */
  enabled: boolean;
}

export type OpenIncidentStep = Extract<RunIncidentDecision, { action: "open" }> & {
  /** True when this reconcile recorded the problem (a new occurrence). */
  occurrence: boolean;
};

export type IncidentStep = OpenIncidentStep | { action: "resolve" } | { action: "none" };

/** The newest of some outcomes (by time); undefined when none. */
export function newestOutcome(outcomes: (RunOutcome | undefined)[]): RunOutcome | undefined {
  return outcomes
    .filter((o): o is RunOutcome => o !== undefined)
    .sort((a, b) => a.time.localeCompare(b.time))
    .at(-1);
}

const NONE = { action: "none" } as const;
const RESOLVE = { action: "resolve" } as const;

/** What the Incident needs after one status write; `owner` starts the title. */
export function incidentStep(owner: string, level: IncidentLevel): IncidentStep {
  const edge = runIncidentDecision(owner, level.recorded);
  if (edge.action === "resolve") return edge;
  if (edge.action === "open") return level.enabled ? { ...edge, occurrence: true } : NONE;
  const { newest, incidentRef } = level;
  if (newest === undefined) return NONE;
  if (newest.problem === undefined) return incidentRef !== undefined ? RESOLVE : NONE;
  if (!level.enabled || incidentRef !== undefined) return NONE;
  const open = runIncidentDecision(owner, [newest]);
  return open.action === "open" ? { ...open, occurrence: false } : NONE;
}

/**
 * The step for the status the kit wrote; when only the safety net calls for
 * one, confirmed on a fresh read (`fresh`): the cache may not hold this
 * owner's last incidentRef write yet, and acting on it would repeat or
 * resolve for nothing.
 */
export async function confirmedIncidentStep(
  owner: string,
  written: IncidentLevel,
  fresh: () => Promise<IncidentLevel>,
): Promise<{ step: IncidentStep; level: IncidentLevel }> {
  const step = incidentStep(owner, written);
  if (written.recorded.length > 0 || step.action === "none") return { step, level: written };
  const level = await fresh();
  return { step: incidentStep(owner, level), level };
}

/** The owner's calls into the Incident source API (only the kinds may import it). */
export interface IncidentCalls {
  /** Opens or repeats the owner's Incident; its name. */
  open(step: OpenIncidentStep): Promise<string>;
  /** Resolves the owner's open Incidents. */
  resolve(): Promise<unknown>;
}

/**
 * Carries out the step; returns the incidentRef change it calls for: a name
 * to set, null to clear, undefined to leave it.
 */
export async function followIncidentStep(
  step: IncidentStep,
  calls: IncidentCalls,
  incidentRef: string | undefined,
): Promise<string | null | undefined> {
  if (step.action === "open") {
    const name = await calls.open(step);
    return name === incidentRef ? undefined : name;
  }
  if (step.action === "resolve") {
    await calls.resolve();
    return incidentRef !== undefined ? null : undefined;
  }
  return undefined;
}

/** Applies an incidentRef change to a status (null removes it). */
export function applyIncidentRef(
  status: { incidentRef?: { name: string } | undefined },
  change: string | null,
): void {
  if (change === null) delete status.incidentRef;
  else status.incidentRef = { name: change };
}

/**
 * Writes an incidentRef change (null clears it; `previous` is what status
 * said): a second, small status write, only on open and resolve transitions.
 */
export async function writeIncidentRef(
  deps: { client: KubeClient; log: Logger },
  owner: StatusRef,
  change: string | null,
  previous: string | undefined,
): Promise<void> {
  const result = await updateStatus<KubeObject, { incidentRef?: { name: string } }>(
    deps.client,
    owner,
    (status) => applyIncidentRef(status, change),
  );
  if (!result.updated) return;
  if (change === null) deps.log.info({ incident: previous }, "Cleared incidentRef");
  else deps.log.info({ incident: change }, "Set incidentRef");
}
