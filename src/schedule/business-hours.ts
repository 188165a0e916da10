// Business hours: weekly opening windows in a time zone (Mon–Fri 09:00–17:00
// by default). Low-severity Incident notifications are held until the next
// window opens. Pure; wall-clock arithmetic through zone.ts, so DST days are
// handled the same way as schedules.
import { wallTime, wallToInstant } from "./zone.ts";

export interface BusinessWindow {
  timeZone: string;
  /** Days open, as 0 = Sunday … 6 = Saturday or their three-letter names. */
  days: readonly (number | string)[];
  /** Minutes after local midnight the window opens and closes (start < end). */
  startMinute: number;
  endMinute: number;
}

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MINUTE = 60_000;
const DAY = 86_400_000;

function openDays(window: BusinessWindow): Set<number> {
  return new Set(window.days.map((d) => (typeof d === "number" ? d : DAY_NAMES.indexOf(d))));
}

/** Whether an instant falls inside business hours. */
export function inBusinessHours(instant: number, window: BusinessWindow): boolean {
  const wall = wallTime(instant, window.timeZone);
  const minute = Math.floor((wall % DAY) / MINUTE);
  const day = new Date(wall).getUTCDay();
  return openDays(window).has(day) && minute >= window.startMinute && minute < window.endMinute;
}

/**
 * The first instant at or after `instant` inside business hours: the instant
 * itself when it is inside, else the opening of the next open day's window.
 * Undefined only when no day is open.
 */
export function nextBusinessTime(instant: number, window: BusinessWindow): number | undefined {
  if (inBusinessHours(instant, window)) return instant;
  const days = openDays(window);
  if (days.size === 0) return undefined;
  const wall = wallTime(instant, window.timeZone);
  const midnight = wall - (wall % DAY);
  // Today's window if it has not opened yet, else the next open day's.
  for (let i = 0; i <= 7; i++) {
    const day = midnight + i * DAY;
    if (!days.has(new Date(day).getUTCDay())) continue;
    const opening = wallToInstant(day + window.startMinute * MINUTE, window.timeZone);
    if (opening >= instant) return opening;
  }
  return undefined;
}
