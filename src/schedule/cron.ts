// Five-field cron expressions (minute hour day-of-month month day-of-week) and
// the standard macros, parsed into bit tables. Semantics follow the
// Kubernetes CronJob controller (robfig/cron), which follows Vixie cron:
//
// - lists "1,15", ranges "1-5", steps "*/15", "0-30/10" and "5/15" (= 5-max/15);
// - month names JAN-DEC and weekday names SUN-SAT (any case); weekday 7 = Sunday;
// - "?" is a synonym of "*";
// - day-of-month and day-of-week: when both are restricted, a day matches when
//   EITHER matches (Vixie's OR rule); when one of them is "*" (or "?"), only
//   the other restricts. As in Kubernetes, a stepped star such as "*/2" counts
//   as restricted (Vixie cron would treat any field starting with "*" as a star).
//
// An expression that can never fire (such as "0 0 31 4 *", April 31st) is
// rejected with a message instead of silently never running.

export interface CronExpression {
  /** The five-field form, e.g. "0 2 * * *" (macros expanded). */
  readonly source: string;
  readonly minute: readonly boolean[];
  readonly hour: readonly boolean[];
  /** Index 1..31. */
  readonly dayOfMonth: readonly boolean[];
  /** Index 1..12. */
  readonly month: readonly boolean[];
  /** Index 0..6, Sunday = 0. */
  readonly dayOfWeek: readonly boolean[];
  /** Day-of-month was "*" or "?" (does not restrict). */
  readonly dayOfMonthStar: boolean;
  /** Day-of-week was "*" or "?" (does not restrict). */
  readonly dayOfWeekStar: boolean;
}

export class CronError extends Error {
  override name = "CronError";
}

/** The standard macros and the five-field expressions they stand for. */
export const CRON_MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Offset of names[0] (JAN = 1, SUN = 0). */
  nameBase?: number;
}

const MONTH_NAMES = [
  "JAN",
  "FEB",
  "MAR",
  "APR",
  "MAY",
  "JUN",
  "JUL",
  "AUG",
  "SEP",
  "OCT",
  "NOV",
  "DEC",
] as const;
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] as const;

const FIELDS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 },
  // 7 is accepted as Sunday and folded onto 0 after parsing.
  { name: "day-of-week", min: 0, max: 7, names: DAY_NAMES, nameBase: 0 },
];

/** Longest day of each month (February may have 29). */
const MAX_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function parseValue(text: string, spec: FieldSpec): number {
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n < spec.min || n > spec.max) {
      throw new CronError(`${spec.name} field: ${text} is out of range ${spec.min}-${spec.max}`);
    }
    return n;
  }
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index >= 0) return index + (spec.nameBase ?? 0);
  const hint = spec.names
    ? ` (use ${spec.min}-${spec.max} or ${spec.names[0]}-${spec.names[spec.names.length - 1]})`
    : ` (use ${spec.min}-${spec.max})`;
  throw new CronError(
    `${spec.name} field: "${text}" is not a number${spec.names ? " or name" : ""}${hint}`,
  );
}

function parseStep(text: string | undefined, spec: FieldSpec): number {
  if (text === undefined) return 1;
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) {
    throw new CronError(`${spec.name} field: step "${text}" must be a positive number`);
  }
  return Number(text);
}

interface PartRange {
  start: number;
  end: number;
  star: boolean;
}

function parseRange(rangeText: string, hasStep: boolean, spec: FieldSpec): PartRange {
  if (rangeText === "*" || rangeText === "?") return { start: spec.min, end: spec.max, star: true };
  const bounds = rangeText.split("-");
  if (bounds.length > 2 || bounds.some((b) => b === "")) {
    throw new CronError(`${spec.name} field: "${rangeText}" is not a valid range`);
  }
  const start = parseValue(bounds[0]!, spec);
  // "5/15" means "5-max/15", as in Kubernetes.
  const end = bounds.length === 2 ? parseValue(bounds[1]!, spec) : hasStep ? spec.max : start;
  if (start > end) {
    throw new CronError(`${spec.name} field: range ${rangeText} starts after it ends`);
  }
  return { start, end, star: false };
}

interface ParsedField {
  bits: boolean[];
  star: boolean;
}

function parsePart(part: string, spec: FieldSpec, bits: boolean[]): boolean {
  const pieces = part.split("/");
  if (pieces.length > 2 || pieces[0] === "") {
    throw new CronError(`${spec.name} field: "${part}" is not valid`);
  }
  const step = parseStep(pieces[1], spec);
  const range = parseRange(pieces[0]!, pieces.length === 2, spec);
  for (let v = range.start; v <= range.end; v += step) bits[v] = true;
  return range.star && step === 1;
}

function parseField(text: string, spec: FieldSpec): ParsedField {
  const bits = new Array<boolean>(spec.max + 1).fill(false);
  const parts = text.split(",");
  let star = false;
  for (const part of parts) {
    if (part === "") throw new CronError(`${spec.name} field: empty list element in "${text}"`);
    star = parsePart(part, spec, bits) || star;
  }
  return { bits, star };
}

function canFire(dayOfMonth: readonly boolean[], month: readonly boolean[]): boolean {
  for (let m = 1; m <= 12; m++) {
    if (!month[m]) continue;
    for (let d = 1; d <= MAX_DAYS[m]!; d++) if (dayOfMonth[d]) return true;
  }
  return false;
}

/** Expands a standard macro ("@daily" → "0 0 * * *"); other input is returned trimmed. */
export function expandMacro(expr: string): string {
  const trimmed = expr.trim();
  return CRON_MACROS[trimmed.toLowerCase()] ?? trimmed;
}

/** Parses a five-field cron expression or a standard macro; throws CronError. */
export function parseCron(expr: string): CronExpression {
  const source = expandMacro(expr);
  if (source === "") throw new CronError("empty schedule");
  if (source.startsWith("@")) {
    throw new CronError(
      `unknown macro "${source}" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or a -random form)`,
    );
  }
  if (/^(CRON_)?TZ=/i.test(source)) {
    throw new CronError("a time zone in the schedule is not supported: use spec.timeZone");
  }
  const texts = source.split(/\s+/);
  if (texts.length !== 5) {
    throw new CronError(
      `expected 5 fields (minute hour day-of-month month day-of-week), got ${texts.length}`,
    );
  }
  const [minute, hour, dom, month, dow] = texts.map((t, i) => parseField(t, FIELDS[i]!)) as [
    ParsedField,
    ParsedField,
    ParsedField,
    ParsedField,
    ParsedField,
  ];
  if (dow.bits[7]) dow.bits[0] = true;
  dow.bits.length = 7;
  // Only day-of-month restricts (AND with a star weekday): it must exist in some month.
  if (!dom.star && dow.star && !canFire(dom.bits, month.bits)) {
    throw new CronError(
      `the schedule never fires: no selected day-of-month exists in the selected months`,
    );
  }
  return {
    source: texts.join(" "),
    minute: minute.bits,
    hour: hour.bits,
    dayOfMonth: dom.bits,
    month: month.bits,
    dayOfWeek: dow.bits,
    dayOfMonthStar: dom.star,
    dayOfWeekStar: dow.star,
  };
}

/** Like parseCron, returning the error message instead of throwing. */
export function tryParseCron(
  expr: string,
): { cron: CronExpression; error?: undefined } | { cron?: undefined; error: string } {
  try {
    return { cron: parseCron(expr) };
  } catch (err) {
    if (err instanceof CronError) return { error: `invalid schedule "${expr}": ${err.message}` };
    throw err;
  }
}

/** Whether a calendar day matches the day-of-month / day-of-week fields. */
export function dayMatches(
  cron: CronExpression,
  date: { dayOfMonth: number; dayOfWeek: number },
): boolean {
  const dom = cron.dayOfMonth[date.dayOfMonth] === true;
  const dow = cron.dayOfWeek[date.dayOfWeek] === true;
  if (cron.dayOfMonthStar || cron.dayOfWeekStar) return dom && dow;
  return dom || dow;
}
