// Pure: run history. Finished runs go into the owner's status history newest
// first, bounded by its history limits (successful and failed counted apart),
// and the same limits decide which finished Jobs are deleted, so every Job
// kept has its history entry.
import { jobOutcome } from "./results.ts";
import type { JobObject, RunRecord } from "./types.ts";

/** Entries the history holds at most unless an owner says otherwise (its CRD's maxItems). */
export const DEFAULT_MAX_HISTORY = 20;

export interface HistoryLimits {
  successful: number;
  failed: number;
  /** Hard bound on kept entries and Jobs. Default DEFAULT_MAX_HISTORY. */
  max?: number;
}

/** The part of a record history needs: a kind may keep a richer record. */
export type HistoryEntry = Pick<RunRecord, "job" | "result" | "startTime" | "endTime">;

function endOf(r: HistoryEntry): number {
  return Date.parse(r.endTime ?? r.startTime ?? "") || 0;
}

function startOf(r: { startTime?: string | undefined }): number {
  return Date.parse(r.startTime ?? "") || 0;
}

/** Keeps `limits.successful` Succeeded and `limits.failed` other records, newest first. */
export function boundHistory<R extends HistoryEntry>(records: R[], limits: HistoryLimits): R[] {
  let ok = 0;
  let bad = 0;
  const kept: R[] = [];
  for (const r of records) {
    const success = r.result === "Succeeded";
    if (success ? ok >= limits.successful : bad >= limits.failed) continue;
    if (success) ok++;
    else bad++;
    kept.push(r);
  }
  return kept.slice(0, limits.max ?? DEFAULT_MAX_HISTORY);
}

/** Adds finished records (replacing entries of the same Job), newest first, bounded. */
export function mergeHistory<R extends HistoryEntry>(
  history: R[] | undefined,
  records: R[],
  limits: HistoryLimits,
): R[] {
  const names = new Set(records.map((r) => r.job));
  const all = [...records, ...(history ?? []).filter((r) => !names.has(r.job))];
  all.sort((a, b) => endOf(b) - endOf(a));
  return boundHistory(all, limits);
}

/** Whether `candidate` should become the last run instead of `current`. */
export function supersedes(candidate: HistoryEntry, current: HistoryEntry | undefined): boolean {
  if (current === undefined || current.job === candidate.job) return true;
  return startOf(candidate) >= startOf(current);
}

/** The newest successful end time among the records and the previous value. */
export function lastSuccessfulTime(
  previous: string | undefined,
  records: HistoryEntry[],
): string | undefined {
  let best = previous;
  for (const r of records) {
    if (r.result !== "Succeeded" || r.endTime === undefined) continue;
    if (best === undefined || Date.parse(r.endTime) > Date.parse(best)) best = r.endTime;
  }
  return best;
}

/** Finished Jobs beyond the history limits (oldest first out), to delete. */
export function jobsToPrune(jobs: JobObject[], limits: HistoryLimits): string[] {
  const max = limits.max ?? DEFAULT_MAX_HISTORY;
  const finished = jobs
    .map((job) => ({ job, outcome: jobOutcome(job) }))
    .filter((j) => j.outcome !== undefined && !j.job.metadata.deletionTimestamp)
    .sort(
      (a, b) => (Date.parse(b.outcome!.time ?? "") || 0) - (Date.parse(a.outcome!.time ?? "") || 0),
    );
  let ok = 0;
  let bad = 0;
  const prune: string[] = [];
  let kept = 0;
  for (const { job, outcome } of finished) {
    // Same bounds as boundHistory, so every kept Job has its history entry.
    const withinLimit = outcome!.succeeded ? ok++ < limits.successful : bad++ < limits.failed;
    if (withinLimit && kept < max) kept++;
    else prune.push(job.metadata.name!);
  }
  return prune;
}
