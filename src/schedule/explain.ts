// `pake-operator schedule explain`: what a schedule means, as JSON — the
// resolved cron, the next times (UTC and wall clock), and what the controller
// would decide now.
import { decide, type Decision } from "./decide.ts";
import { nextTimes } from "./next.ts";
import { resolveSchedule } from "./resolve.ts";
import { formatInZone, validateTimeZone } from "./zone.ts";

export interface ExplainInput {
  schedule: string;
  timeZone?: string | undefined;
  now: Date;
  lastScheduleTime?: Date | undefined;
  /** Defaults to lastScheduleTime, else now (a new object: nothing is due yet). */
  creationTime?: Date | undefined;
  startingDeadlineSeconds?: number | undefined;
  suspend?: boolean | undefined;
  /** How many next times to list (default 5, at most 100). */
  count?: number | undefined;
  /** Owner for hashed-random macros (default "default/explain"). */
  namespace?: string | undefined;
  name?: string | undefined;
}

export interface ExplainOutput {
  schedule: string;
  resolvedCron?: string;
  timeZone: string;
  now: string;
  next: { time: string; local: string }[];
  decision?: {
    action: string;
    reason: string;
    message: string;
    slot?: string;
    next: string;
    missedCount?: number;
    missedCountCapped?: boolean;
  };
  error?: string;
}

type Explained = NonNullable<ExplainOutput["decision"]>;

function decisionJson(d: Decision): Explained {
  return {
    action: d.action,
    reason: d.reason,
    message: d.message,
    ...(d.slot ? { slot: d.slot.toISOString() } : {}),
    next: d.next.toISOString(),
    ...(d.missedCount !== undefined ? { missedCount: d.missedCount } : {}),
    ...(d.missedCountCapped ? { missedCountCapped: true } : {}),
  };
}

function creationOf(input: ExplainInput): Date {
  return input.creationTime ?? input.lastScheduleTime ?? input.now;
}

export function explainSchedule(input: ExplainInput): ExplainOutput {
  const tz = input.timeZone ?? "UTC";
  const base = { schedule: input.schedule, timeZone: tz, now: input.now.toISOString(), next: [] };
  const zone = validateTimeZone(tz);
  if (!zone.valid) return { ...base, error: zone.error };
  const owner = { namespace: input.namespace ?? "default", name: input.name ?? "explain" };
  const resolved = resolveSchedule(input.schedule, owner);
  if (resolved.expression === undefined) return { ...base, error: resolved.error ?? "invalid" };
  const count = Math.min(Math.max(input.count ?? 5, 0), 100);
  const times = nextTimes(resolved.expression, zone.zone, input.now, count);
  const d = decide({
    cron: resolved.expression,
    timeZone: zone.zone,
    now: input.now,
    lastScheduleTime: input.lastScheduleTime,
    creationTime: creationOf(input),
    startingDeadlineSeconds: input.startingDeadlineSeconds,
    suspend: input.suspend,
  });
  return {
    ...base,
    timeZone: zone.zone,
    resolvedCron: resolved.cron,
    next: times.map((t) => ({
      time: t.toISOString(),
      local: formatInZone(t.getTime(), zone.zone),
    })),
    decision: decisionJson(d),
  };
}
