// `pake-operator schedule explain`: the next run times of a schedule in a
// time zone, and the decision the controller would take for the given
// lastScheduleTime, now and startingDeadlineSeconds, as JSON.
import { explainSchedule, type ExplainInput } from "../schedule/index.ts";
import type { Command, CommandContext } from "./types.ts";
import { parseFlags } from "./flags.ts";

const FLAGS = [
  "schedule",
  "time-zone",
  "now",
  "last-schedule-time",
  "creation-time",
  "starting-deadline-seconds",
  "count",
  "suspend",
  "namespace",
  "name",
] as const;

const usage = (): string =>
  [
    "Usage: pake-operator schedule explain --schedule <cron> [flags]",
    "",
    "  --schedule <cron>                    five fields, @daily, @daily-random, …",
    "  --time-zone <IANA zone>              default UTC",
    "  --now <RFC 3339>                     default: the current time",
    "  --last-schedule-time <RFC 3339>      the task's status.lastScheduleTime",
    "  --creation-time <RFC 3339>           default: last-schedule-time, else now",
    "  --starting-deadline-seconds <n>",
    "  --count <n>                          next times to list (default 5)",
    "  --suspend <true|false>",
    "  --namespace <ns> --name <name>       owner for hashed-random schedules",
  ].join("\n");

type Flags = Map<string, string>;

function dateFlag(flags: Flags, name: string, problems: string[]): Date | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  const d = new Date(raw);
  if (Number.isNaN(d.getTime())) problems.push(`--${name}: invalid time "${raw}"`);
  return d;
}

function intFlag(flags: Flags, name: string, problems: string[]): number | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) problems.push(`--${name}: not a whole number "${raw}"`);
  return Number(raw);
}

function inputOf(flags: Flags, problems: string[], now: () => Date): ExplainInput {
  const schedule = flags.get("schedule");
  if (schedule === undefined) problems.push("--schedule is required");
  return {
    schedule: schedule ?? "",
    timeZone: flags.get("time-zone"),
    now: dateFlag(flags, "now", problems) ?? now(),
    lastScheduleTime: dateFlag(flags, "last-schedule-time", problems),
    creationTime: dateFlag(flags, "creation-time", problems),
    startingDeadlineSeconds: intFlag(flags, "starting-deadline-seconds", problems),
    count: intFlag(flags, "count", problems),
    suspend: flags.get("suspend") === "true",
    namespace: flags.get("namespace"),
    name: flags.get("name"),
  };
}

function explain(args: string[], ctx: CommandContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "explain") {
    ctx.stderr(`${usage()}\n`);
    return Promise.resolve(2);
  }
  const parsed = parseFlags(rest, FLAGS);
  const problems = [...parsed.problems];
  if (parsed.positional.length > 0) problems.push(`unexpected argument "${parsed.positional[0]}"`);
  const input = inputOf(parsed.flags, problems, () => new Date());
  if (problems.length > 0) {
    ctx.stderr(
      `${problems.map((p) => `pake-operator schedule explain: ${p}\n`).join("")}\n${usage()}\n`,
    );
    return Promise.resolve(2);
  }
  const out = explainSchedule(input);
  ctx.stdout(`${JSON.stringify(out, null, 2)}\n`);
  return Promise.resolve(out.error === undefined ? 0 : 1);
}

export const scheduleCommand: Command = {
  name: "schedule",
  summary: "Explain a schedule: next run times and the controller's decision, as JSON",
  usage,
  run: explain,
};
