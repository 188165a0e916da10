// spec.schedule → the cron expression in force. Hashed-random macros
// (@hourly-random, @daily-random, …) pick fixed fields from a hash of
// "namespace/name", so many tasks with the same macro spread out over the
// period, and one task keeps the same time across restarts and operators.
import { sha256 } from "../lib/hash.ts";
import { CRON_MACROS, tryParseCron, type CronExpression } from "./cron.ts";

export interface ScheduleOwner {
  namespace: string;
  name: string;
}

export interface ResolvedSchedule {
  /** The five-field expression in force ("" when the input is invalid). */
  cron: string;
  /** The parsed expression, when valid. */
  expression?: CronExpression;
  /** A message for status/Events when the input is invalid. */
  error?: string;
}

/** Hash-derived numbers for one owner: four independent 32-bit values. */
function seeds(owner: ScheduleOwner): number[] {
  const digest = sha256(`${owner.namespace}/${owner.name}`);
  return [0, 4, 8, 12, 16].map((offset) => digest.readUInt32BE(offset));
}

type RandomBuilder = (s: number[]) => string;

/** Day-of-month is capped at 27 so that a monthly run exists in every month. */
const RANDOM_MACROS: Readonly<Record<string, RandomBuilder>> = {
  "@hourly-random": (s) => `${s[0]! % 60} * * * *`,
  "@daily-random": (s) => `${s[0]! % 60} ${s[1]! % 24} * * *`,
  // Between 00:00 and 02:59, like Jenkins' H H(0-2) * * *.
  "@midnight-random": (s) => `${s[0]! % 60} ${s[1]! % 3} * * *`,
  "@weekly-random": (s) => `${s[0]! % 60} ${s[1]! % 24} * * ${s[2]! % 7}`,
  "@monthly-random": (s) => `${s[0]! % 60} ${s[1]! % 24} ${1 + (s[3]! % 27)} * *`,
  "@yearly-random": (s) => `${s[0]! % 60} ${s[1]! % 24} ${1 + (s[3]! % 27)} ${1 + (s[4]! % 12)} *`,
  "@annually-random": (s) =>
    `${s[0]! % 60} ${s[1]! % 24} ${1 + (s[3]! % 27)} ${1 + (s[4]! % 12)} *`,
};

/** The hashed-random macros understood by resolveSchedule. */
export const RANDOM_MACRO_NAMES: readonly string[] = Object.keys(RANDOM_MACROS);

/**
 * Resolves spec.schedule for one object: standard macros expand to their
 * five fields, hashed-random macros to fields derived from "namespace/name",
 * anything else is parsed as a five-field expression. Never throws.
 */
export function resolveSchedule(expr: string, owner: ScheduleOwner): ResolvedSchedule {
  const trimmed = expr.trim();
  const key = trimmed.toLowerCase();
  const random = RANDOM_MACROS[key];
  const cron = random ? random(seeds(owner)) : (CRON_MACROS[key] ?? trimmed.replace(/\s+/g, " "));
  const parsed = tryParseCron(cron);
  if (parsed.error !== undefined) {
    return { cron: "", error: parsed.error.replace(`"${cron}"`, JSON.stringify(expr)) };
  }
  return { cron: parsed.cron.source, expression: parsed.cron };
}
