// Schedule times of a cron expression in a time zone. The search runs over
// wall-clock minutes (jumping field by field, never minute by minute over a
// long span) and maps each matching wall time to an instant with
// wallToInstant, whose DST rules are:
// - a wall time in a spring-forward gap runs when the gap ends (a daily 02:30
//   run happens at 03:00 on that day; several gap times collapse into one run);
// - a wall time in a fall-back overlap runs once, at its first occurrence.
import { dayMatches, parseCron, type CronExpression } from "./cron.ts";
import { assertTimeZone, offsetAt, wallTime, wallToInstant } from "./zone.ts";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Any valid expression fires within 8 years (29 February); search a bit longer. */
const SEARCH_YEARS = 9;

function nextSet(bits: readonly boolean[], from: number): number | undefined {
  for (let i = from; i < bits.length; i++) if (bits[i]) return i;
  return undefined;
}

function prevSet(bits: readonly boolean[], from: number): number | undefined {
  for (let i = Math.min(from, bits.length - 1); i >= 0; i--) if (bits[i]) return i;
  return undefined;
}

interface Fields {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
}

function fields(wall: number): Fields {
  const t = new Date(wall);
  return {
    y: t.getUTCFullYear(),
    mo: t.getUTCMonth(),
    d: t.getUTCDate(),
    h: t.getUTCHours(),
    mi: t.getUTCMinutes(),
  };
}

function dayOk(cron: CronExpression, f: Fields): boolean {
  const dayOfWeek = new Date(Date.UTC(f.y, f.mo, f.d)).getUTCDay();
  return dayMatches(cron, { dayOfMonth: f.d, dayOfWeek });
}

/** One step of the forward search: the matching wall time, or where to look next. */
function stepForward(cron: CronExpression, wall: number): { match?: number; next: number } {
  const f = fields(wall);
  if (!cron.month[f.mo + 1]) {
    const m = nextSet(cron.month, f.mo + 2);
    return { next: m === undefined ? Date.UTC(f.y + 1, 0, 1) : Date.UTC(f.y, m - 1, 1) };
  }
  if (!dayOk(cron, f)) return { next: Date.UTC(f.y, f.mo, f.d + 1) };
  if (!cron.hour[f.h]) {
    const h = nextSet(cron.hour, f.h + 1);
    return { next: h === undefined ? Date.UTC(f.y, f.mo, f.d + 1) : Date.UTC(f.y, f.mo, f.d, h) };
  }
  if (!cron.minute[f.mi]) {
    const mi = nextSet(cron.minute, f.mi + 1);
    return {
      next:
        mi === undefined ? Date.UTC(f.y, f.mo, f.d, f.h + 1) : Date.UTC(f.y, f.mo, f.d, f.h, mi),
    };
  }
  return { match: wall, next: wall };
}

/** One step of the backward search. */
function stepBackward(cron: CronExpression, wall: number): { match?: number; next: number } {
  const f = fields(wall);
  if (!cron.month[f.mo + 1]) {
    const m = prevSet(cron.month, f.mo);
    return { next: (m === undefined ? Date.UTC(f.y, 0, 1) : Date.UTC(f.y, m, 1)) - MINUTE };
  }
  if (!dayOk(cron, f)) return { next: Date.UTC(f.y, f.mo, f.d) - MINUTE };
  if (!cron.hour[f.h]) {
    const h = prevSet(cron.hour, f.h - 1);
    return {
      next: h === undefined ? Date.UTC(f.y, f.mo, f.d) - MINUTE : Date.UTC(f.y, f.mo, f.d, h, 59),
    };
  }
  if (!cron.minute[f.mi]) {
    const mi = prevSet(cron.minute, f.mi - 1);
    return {
      next:
        mi === undefined
          ? Date.UTC(f.y, f.mo, f.d, f.h) - MINUTE
          : Date.UTC(f.y, f.mo, f.d, f.h, mi),
    };
  }
  return { match: wall, next: wall };
}

/** First matching wall minute at or after `wall` (minute-aligned), within the search horizon. */
export function nextWall(cron: CronExpression, wall: number): number | undefined {
  const limit = wall + SEARCH_YEARS * 366 * DAY;
  let t = wall;
  while (t <= limit) {
    const s = stepForward(cron, t);
    if (s.match !== undefined) return s.match;
    t = s.next;
  }
  return undefined;
}

/** Last matching wall minute at or before `wall` (minute-aligned), within the search horizon. */
export function prevWall(cron: CronExpression, wall: number): number | undefined {
  const limit = wall - SEARCH_YEARS * 366 * DAY;
  let t = wall;
  while (t >= limit) {
    const s = stepBackward(cron, t);
    if (s.match !== undefined) return s.match;
    t = s.next;
  }
  return undefined;
}

function floorMinute(ms: number): number {
  return Math.floor(ms / MINUTE) * MINUTE;
}

function toCron(cron: CronExpression | string): CronExpression {
  return typeof cron === "string" ? parseCron(cron) : cron;
}

/** The first schedule time strictly after `from`, or undefined when there is none. */
export function nextTime(
  cronExpr: CronExpression | string,
  timeZone: string,
  from: Date,
): Date | undefined {
  const cron = toCron(cronExpr);
  const zone = assertTimeZone(timeZone);
  const at = from.getTime();
  let w = floorMinute(wallTime(at, zone)) + MINUTE;
  // Each loop skips one wall time that maps to `from` or earlier (DST overlap
  // or gap); a day's worth of minutes bounds it.
  for (let i = 0; i < 1500; i++) {
    const cw = nextWall(cron, w);
    if (cw === undefined) return undefined;
    const instant = wallToInstant(cw, zone);
    if (instant > at) return new Date(instant);
    w = cw + MINUTE;
  }
  return undefined;
}

/**
 * The latest schedule time at or before `at`, computed directly (no
 * iteration over the times in between), or undefined when there is none
 * within the search horizon.
 */
export function prevTime(
  cronExpr: CronExpression | string,
  timeZone: string,
  at: Date,
): Date | undefined {
  const cron = toCron(cronExpr);
  const zone = assertTimeZone(timeZone);
  const t = at.getTime();
  // In a fall-back overlap the wall clock reads earlier than wall times whose
  // first occurrence has already passed: start as far ahead as the clock went back.
  const back = Math.max(0, offsetAt(t - DAY - 2 * HOUR, zone) - offsetAt(t, zone));
  let w = floorMinute(wallTime(t, zone) + back);
  for (let i = 0; i < 1500; i++) {
    const cw = prevWall(cron, w);
    if (cw === undefined) return undefined;
    const instant = wallToInstant(cw, zone);
    if (instant <= t) return new Date(instant);
    w = cw - MINUTE;
  }
  return undefined;
}

/** The next `n` schedule times strictly after `from`, in order, without duplicates. */
export function nextTimes(
  cronExpr: CronExpression | string,
  timeZone: string,
  from: Date,
  n: number,
): Date[] {
  const cron = toCron(cronExpr);
  const out: Date[] = [];
  let cursor = from;
  while (out.length < n) {
    const next = nextTime(cron, timeZone, cursor);
    if (next === undefined) break;
    out.push(next);
    cursor = next;
  }
  return out;
}
