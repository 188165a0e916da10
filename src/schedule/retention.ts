// Grandfather-father-son retention with restic/borg semantics, pure: which
// backups a policy keeps, and the rules that keep each one. Calendar buckets
// (days, ISO weeks, months) are read in the policy's time zone, so a backup at
// 00:30 CEST belongs to that Berlin day, not to the UTC day before.
import { parseDuration } from "../lib/duration.ts";
import { assertTimeZone, wallTime } from "./zone.ts";

export type BackupResult = "Succeeded" | "Failed";

export interface RetentionBackup {
  id: string;
  time: Date;
  result: BackupResult;
}

export interface RetentionRules {
  keepLast?: number | undefined;
  keepDaily?: number | undefined;
  keepWeekly?: number | undefined;
  keepMonthly?: number | undefined;
  /** An age ("7d", "2w", "36h"): how long a backup no rule keeps survives. */
  maxAge?: string | undefined;
}

export interface RetentionOptions {
  timeZone: string;
  now: Date;
}

export interface RetentionDecision extends RetentionBackup {
  kept: boolean;
  /** The rules keeping it ("last", "daily 2026-11-30", …); ["failed"] for a failed backup. */
  reasons: string[];
}

const DAY_MS = 86_400_000;
const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** "2026-11-30": the calendar day of an instant in a zone. */
function dayKey(wall: Date): string {
  return `${wall.getUTCFullYear()}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}`;
}

/** "2026-11": the calendar month of an instant in a zone. */
function monthKey(wall: Date): string {
  return `${wall.getUTCFullYear()}-${pad(wall.getUTCMonth() + 1)}`;
}

/** "2026-W48": the ISO 8601 week (Monday start; the week-year is that of its Thursday). */
function isoWeekKey(wall: Date): string {
  const midnight = Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate());
  const isoWeekday = ((wall.getUTCDay() + 6) % 7) + 1;
  const thursday = new Date(midnight + (4 - isoWeekday) * DAY_MS);
  const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.floor((thursday.getTime() - yearStart) / DAY_MS / 7) + 1;
  return `${thursday.getUTCFullYear()}-W${pad(week)}`;
}

type BucketRule = { name: "daily" | "weekly" | "monthly"; keep: number; key: (w: Date) => string };

/**
 * Keeps the newest backup of each of the `keep` most recent buckets that hold
 * one; `walls` are the successful backups' wall times, newest first. Returns
 * the reason per index.
 */
function bucketReasons(walls: Date[], rule: BucketRule): Map<number, string> {
  const reasons = new Map<number, string>();
  let previous: string | undefined;
  for (let i = 0; i < walls.length && reasons.size < rule.keep; i++) {
    const key = rule.key(walls[i]!);
    if (key !== previous) reasons.set(i, `${rule.name} ${key}`);
    previous = key;
  }
  return reasons;
}

function checkedCount(name: string, n: number | undefined): number {
  if (n === undefined) return 0;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name}: not a whole number ≥ 0: ${n}`);
  return n;
}

/** The reasons keeping each successful backup (newest first), index-aligned. */
function successReasons(
  successes: RetentionBackup[],
  rules: RetentionRules,
  opts: RetentionOptions,
): string[][] {
  const zone = assertTimeZone(opts.timeZone);
  const maxAgeMs = rules.maxAge === undefined ? undefined : parseDuration(rules.maxAge);
  const walls = successes.map((b) => new Date(wallTime(b.time.getTime(), zone)));
  const keepLast = checkedCount("keepLast", rules.keepLast);
  const buckets = [
    bucketReasons(walls, {
      name: "daily",
      keep: checkedCount("keepDaily", rules.keepDaily),
      key: dayKey,
    }),
    bucketReasons(walls, {
      name: "weekly",
      keep: checkedCount("keepWeekly", rules.keepWeekly),
      key: isoWeekKey,
    }),
    bucketReasons(walls, {
      name: "monthly",
      keep: checkedCount("keepMonthly", rules.keepMonthly),
      key: monthKey,
    }),
  ];
  return successes.map((b, i) => {
    const reasons = i < keepLast ? ["last"] : [];
    for (const bucket of buckets) {
      const reason = bucket.get(i);
      if (reason !== undefined) reasons.push(reason);
    }
    if (i === 0) reasons.push("newest");
    const age = opts.now.getTime() - b.time.getTime();
    if (maxAgeMs !== undefined && age <= maxAgeMs) reasons.push("maxAge");
    return reasons;
  });
}

function newestFirst(a: RetentionBackup, b: RetentionBackup): number {
  const byTime = b.time.getTime() - a.time.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * Every backup, newest first, with whether retention keeps it and why.
 * Failed backups count for no rule and are never kept (reason "failed").
 * Throws RangeError on an unknown time zone or a negative count, and
 * DurationError on a malformed maxAge.
 */
export function explainRetention(
  backups: readonly RetentionBackup[],
  rules: RetentionRules,
  opts: RetentionOptions,
): RetentionDecision[] {
  const sorted = [...backups].sort(newestFirst);
  const successes = sorted.filter((b) => b.result === "Succeeded");
  const reasons = successReasons(successes, rules, opts);
  const reasonsOf = new Map(successes.map((b, i) => [b, reasons[i] ?? []]));
  return sorted.map(({ id, time, result }, i) => {
    const kept = reasonsOf.get(sorted[i]!);
    if (kept === undefined) return { id, time, result, kept: false, reasons: ["failed"] };
    return { id, time, result, kept: kept.length > 0, reasons: kept };
  });
}
