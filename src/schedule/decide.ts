// What a scheduled task should do now: the CronJob controller's decision with
// its traps fixed.
// - After an outage, at most ONE run starts: the most recent missed slot.
//   It is found directly (prevTime), so a years-long outage costs the same as
//   a minute-long one, and there is no "too many missed start times" refusal.
// - A slot older than startingDeadlineSeconds is reported as "missed": the
//   controller records it (an Event, and lastScheduleTime = slot, so that it is
//   reported once) and does not run it.
// - `next` is exactly the next schedule time after `now`, for the re-queue.
import type { CronExpression } from "./cron.ts";
import { nextTime, prevTime } from "./next.ts";

export type DecisionAction = "run" | "wait" | "missed";

export interface DecideInput {
  /** A parsed expression or a five-field/macro string (hashed-random forms: resolve first). */
  cron: CronExpression | string;
  timeZone: string;
  now: Date;
  /** Scheduled time of the last run started (or missed slot recorded) by the schedule. */
  lastScheduleTime?: Date | undefined;
  /** The object's creationTimestamp: slots before it never run. */
  creationTime: Date;
  startingDeadlineSeconds?: number | undefined;
  suspend?: boolean | undefined;
}

export interface Decision {
  action: DecisionAction;
  /** The slot to run ("run") or that was missed ("missed"). */
  slot?: Date;
  /** The next schedule time strictly after now: when to re-queue. */
  next: Date;
  /** Slots that passed without a run before `slot` (only the newest runs). */
  missedCount?: number;
  /** missedCount stopped counting at MISSED_COUNT_LIMIT. */
  missedCountCapped?: boolean;
  /** CamelCase reason, suitable for an Event or condition. */
  reason: "Due" | "CatchingUp" | "NotDue" | "Suspended" | "MissedStartingDeadline";
  message: string;
}

/** missedCount counts at most this many slots (counting is the only iteration). */
export const MISSED_COUNT_LIMIT = 100;

function countBetween(
  cron: CronExpression | string,
  timeZone: string,
  range: { after: Date; before: Date },
): { count: number; capped: boolean } {
  let count = 0;
  let t: Date | undefined = range.after;
  while (count < MISSED_COUNT_LIMIT) {
    t = nextTime(cron, timeZone, t);
    if (t === undefined || t >= range.before) return { count, capped: false };
    count++;
  }
  return { count, capped: true };
}

function requireNext(input: DecideInput): Date {
  const next = nextTime(input.cron, input.timeZone, input.now);
  if (next === undefined) throw new Error("the schedule has no next time");
  return next;
}

function iso(d: Date): string {
  return d.toISOString();
}

function missedFields(missed: { count: number; capped: boolean }) {
  return {
    ...(missed.count > 0 ? { missedCount: missed.count } : {}),
    ...(missed.capped ? { missedCountCapped: true } : {}),
  };
}

function skippedText(missed: { count: number; capped: boolean }): string {
  if (missed.count === 0) return "";
  const n = missed.capped ? `at least ${missed.count}` : String(missed.count);
  return `; ${n} earlier missed run(s) skipped`;
}

/** The schedule decision for one reconcile. Pure: all time comes from the input. */
export function decide(input: DecideInput): Decision {
  const next = requireNext(input);
  if (input.suspend === true) {
    return { action: "wait", next, reason: "Suspended", message: "suspended: no new runs start" };
  }
  const last = input.lastScheduleTime;
  const earliest = last !== undefined && last > input.creationTime ? last : input.creationTime;
  const slot = prevTime(input.cron, input.timeZone, input.now);
  if (slot === undefined || slot <= earliest) {
    return { action: "wait", next, reason: "NotDue", message: `next run at ${iso(next)}` };
  }
  const missed = countBetween(input.cron, input.timeZone, { after: earliest, before: slot });
  const lateMs = input.now.getTime() - slot.getTime();
  const deadline = input.startingDeadlineSeconds;
  if (deadline !== undefined && lateMs > deadline * 1000) {
    return {
      action: "missed",
      slot,
      next,
      ...missedFields(missed),
      reason: "MissedStartingDeadline",
      message: `missed the run scheduled at ${iso(slot)}: ${Math.round(lateMs / 1000)}s late, startingDeadlineSeconds is ${deadline}`,
    };
  }
  return {
    action: "run",
    slot,
    next,
    ...missedFields(missed),
    reason: missed.count > 0 ? "CatchingUp" : "Due",
    message: `run scheduled at ${iso(slot)}${skippedText(missed)}`,
  };
}
