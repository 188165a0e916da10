// Pure: backups as the policy's status lists them. A backup run's result
// (the runner's termination message) carries the backup it took and the ids
// retention pruned; status.backups is the retained list, newest first.
import { MAX_BACKUPS_IN_STATUS, type BackupRecord } from "../../crds/backuppolicy.ts";
import { backupIdOf } from "../../tasks/backup/manifest.ts";
import type { RunRecord, RunRequest, RunnerResult } from "../jobrun/index.ts";

/** The backup id of a run: its slot, else when it was planned (stable: the Job keeps its config). */
export function backupIdOfRun(run: RunRequest, now: Date): string {
  return backupIdOf(run.slot ?? now);
}

/** What a backup run reports, read from the runner's result data. */
export interface BackupRun {
  backup?: BackupRecord;
  pruned: string[];
}

interface RunnerBackup {
  id?: unknown;
  startTime?: unknown;
  endTime?: unknown;
  bytes?: unknown;
  sha256?: unknown;
  databases?: unknown;
  serverVersion?: unknown;
  format?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** "1.2 GiB": bytes for people. */
export function humanSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatOf(v: unknown): BackupRecord["format"] {
  return v === "custom" || v === "plain" || v === "directory" ? v : undefined;
}

function databasesOf(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((d): d is string => typeof d === "string") : undefined;
}

function sizeOf(v: unknown): Pick<BackupRecord, "sizeBytes" | "size"> {
  return typeof v === "number" && Number.isInteger(v) && v >= 0
    ? { sizeBytes: v, size: humanSize(v) }
    : {};
}

function recordOf(b: RunnerBackup, record: RunRecord): BackupRecord | undefined {
  const id = str(b.id);
  if (id === undefined) return undefined;
  const sha = str(b.sha256);
  const out: BackupRecord = {
    id,
    job: record.job,
    result: "Succeeded",
    startTime: str(b.startTime) ?? record.startTime,
    endTime: str(b.endTime) ?? record.endTime,
    ...sizeOf(b.bytes),
    ...(sha !== undefined && /^[a-f0-9]{64}$/.test(sha) ? { sha256: sha } : {}),
    databases: databasesOf(b.databases),
    serverVersion: str(b.serverVersion),
    format: formatOf(b.format),
  };
  for (const k of Object.keys(out) as (keyof BackupRecord)[])
    if (out[k] === undefined) delete out[k];
  return out;
}

/** The backup and pruned ids a finished run reports (a failed run reports none). */
export function backupRunOf(record: RunRecord, runner: RunnerResult | undefined): BackupRun {
  const data = (runner?.data ?? {}) as { backup?: RunnerBackup; pruned?: unknown };
  const pruned = Array.isArray(data.pruned)
    ? data.pruned.filter((p): p is string => typeof p === "string")
    : [];
  if (record.result !== "Succeeded" || data.backup === undefined) return { pruned };
  const backup = recordOf(data.backup, record);
  return backup ? { backup, pruned } : { pruned };
}

/** The record of a run that did not produce a backup. */
export function failedBackup(record: RunRecord): BackupRecord {
  return {
    id: record.job,
    job: record.job,
    result: "Failed",
    ...(record.startTime ? { startTime: record.startTime } : {}),
    ...(record.endTime ? { endTime: record.endTime } : {}),
    message: (record.summary ?? record.result).slice(0, 4096),
  };
}

/** Retained backups after a run: the new one added, pruned ids removed, newest first, bounded. */
export function mergeBackups(
  current: readonly BackupRecord[] | undefined,
  run: BackupRun,
): BackupRecord[] {
  const pruned = new Set(run.pruned);
  const kept = (current ?? []).filter((b) => !pruned.has(b.id) && b.id !== run.backup?.id);
  const all = run.backup ? [run.backup, ...kept] : kept;
  return all.sort((a, b) => b.id.localeCompare(a.id)).slice(0, MAX_BACKUPS_IN_STATUS);
}
