// Durations, one parser for two grammars:
// - "api" (default): what the CRDs admit, DURATION_PATTERN ("30s", "1h30m";
//   units ms, s, m, h) or AGE_PATTERN ("7d", "2w"; units w, d, h, m, s),
//   whole numbers only, so that the API server's CEL duration() agrees;
// - "flag": Go's time.ParseDuration as the operator's flags and environment
//   variables take it ("1.5h", "1m30s", a bare "0"; units ms, s, m, h).
// A malformed text throws DurationError in both.

/** Go-style duration: one or more <number><unit> with unit ms, s, m or h ("30s", "1h30m"). */
export const DURATION_PATTERN = /^([0-9]{1,6}(ms|s|m|h))+$/;
/** An age: like a duration, with days and weeks too ("7d", "2w", "36h"). */
export const AGE_PATTERN = /^([0-9]{1,5}(w|d|h|m|s))+$/;

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

export type DurationSyntax = "api" | "flag";

export interface DurationOptions {
  /** "api" (default) for spec fields, "flag" for command-line flags and environment variables. */
  syntax?: DurationSyntax;
}

export class DurationError extends Error {
  override readonly name = "DurationError";
  constructor(text: string) {
    super(`invalid duration ${JSON.stringify(text)}`);
  }
}

/** Milliseconds of a duration; throws DurationError when the text is malformed. */
export function parseDuration(text: string, options: DurationOptions = {}): number {
  const ms = options.syntax === "flag" ? flagDuration(text) : apiDuration(text);
  if (ms === undefined) throw new DurationError(text);
  return ms;
}

function apiDuration(text: string): number | undefined {
  if (!DURATION_PATTERN.test(text) && !AGE_PATTERN.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)(ms|s|m|h|d|w)/g)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? 0);
  }
  return total;
}

function flagDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  let total = 0;
  let consumed = 0;
  // Sticky: each match must start where the previous one ended.
  for (const m of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/gy)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? NaN);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}
