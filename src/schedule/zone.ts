// IANA time zones through Intl (Node ships full ICU). Wall-clock times are
// represented as "wall milliseconds": the epoch milliseconds of the same
// calendar fields read as UTC, so calendar arithmetic is plain Date.UTC.

export type ZoneValidation = { valid: true; zone: string } | { valid: false; error: string };

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, f);
  }
  return f;
}

/**
 * Checks an IANA time zone name ("Europe/Berlin", "UTC"). Returns the
 * name, or an error message a user can act on.
 */
export function validateTimeZone(zone: string): ZoneValidation {
  const hint = 'use an IANA name such as "UTC", "Europe/Berlin" or "America/New_York"';
  if (zone.trim() === "") return { valid: false, error: `time zone is empty: ${hint}` };
  if (/^[+-]|^(CRON_)?TZ=|^local(time)?$/i.test(zone)) {
    return { valid: false, error: `time zone "${zone}" is not supported: ${hint}` };
  }
  try {
    // Intl's resolved name can be an ICU alias (Asia/Kolkata → Asia/Calcutta):
    // keep the user's spelling, which Intl accepts.
    new Intl.DateTimeFormat("en-US", { timeZone: zone }).format(0);
    return { valid: true, zone };
  } catch {
    return { valid: false, error: `unknown time zone "${zone}": ${hint}` };
  }
}

/** Throws when the zone is not valid; returns it. */
export function assertTimeZone(zone: string): string {
  const v = validateTimeZone(zone);
  if (!v.valid) throw new RangeError(v.error);
  return v.zone;
}

function isUtc(zone: string): boolean {
  return zone === "UTC" || zone === "Etc/UTC";
}

/** Wall milliseconds (second precision) of an instant in a zone. */
export function wallTime(instant: number, zone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  if (isUtc(zone)) return whole;
  const fields: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(whole)) {
    if (part.type !== "literal") fields[part.type] = Number(part.value);
  }
  return Date.UTC(
    fields.year!,
    fields.month! - 1,
    fields.day,
    fields.hour,
    fields.minute,
    fields.second,
  );
}

/** UTC offset of a zone at an instant, in milliseconds (east positive). */
export function offsetAt(instant: number, zone: string): number {
  return wallTime(instant, zone) - Math.floor(instant / 1000) * 1000;
}

const DAY = 86_400_000;

/** The first instant in (lo, hi] whose offset differs from the offset at lo. */
function findTransition(lo: number, hi: number, zone: string): number {
  const before = offsetAt(lo, zone);
  let a = lo;
  let b = hi;
  while (b - a > 1000) {
    const mid = Math.floor((a + b) / 2000) * 1000;
    if (offsetAt(mid, zone) === before) a = mid;
    else b = mid;
  }
  return b;
}

/**
 * The instant of a wall time in a zone:
 * - a wall time that occurs twice (clocks go back) maps to the FIRST
 *   occurrence, so a repeated hour runs once;
 * - a wall time that does not exist (clocks go forward) maps to the instant
 *   the gap ends (02:30 on the spring-forward day in Europe/Berlin → 03:00
 *   CEST), so a daily run is never lost to DST.
 * The mapping is monotonic (never decreasing) in the wall time.
 */
export function wallToInstant(wall: number, zone: string): number {
  if (isUtc(zone)) return wall;
  const before = wall - offsetAt(wall - DAY, zone);
  const after = wall - offsetAt(wall + DAY, zone);
  const valid = [before, after].filter((t) => wallTime(t, zone) === wall);
  if (valid.length > 0) return Math.min(...valid);
  if (after < before) return findTransition(after, before, zone);
  return before;
}

/** "2024-03-31 03:00:00 +02:00": a wall time with its offset, for humans. */
export function formatInZone(instant: number, zone: string): string {
  const wall = wallTime(instant, zone);
  const offsetMinutes = Math.round((wall - Math.floor(instant / 1000) * 1000) / 60_000);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  const text = new Date(wall).toISOString().replace("T", " ").slice(0, 19);
  return `${text} ${sign}${hh}:${mm}`;
}
