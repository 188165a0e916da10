// `pake-operator retention explain`: which backups a retention policy keeps
// and the rules that keep each one, as JSON. The same pure code the backup
// runner prunes with (schedule/retention.ts).
import { readFile } from "node:fs/promises";
import { DurationError, parseDuration } from "../lib/duration.ts";
import {
  explainRetention,
  formatInZone,
  validateTimeZone,
  type BackupResult,
  type RetentionBackup,
  type RetentionRules,
} from "../schedule/index.ts";
import { backupIdOf } from "../tasks/backup/manifest.ts";
import { parseFlags } from "./flags.ts";
import type { Command, CommandContext } from "./types.ts";

const FLAGS = [
  "keep-last",
  "keep-daily",
  "keep-weekly",
  "keep-monthly",
  "max-age",
  "time-zone",
  "now",
  "backups",
] as const;

const MAX_KEEP = 1000;

const usage = (): string =>
  [
    "Usage: pake-operator retention explain [flags] [--backups FILE | < backups.json]",
    "",
    "  --keep-last <n>           the n newest successful backups",
    "  --keep-daily <n>          the newest backup of each of the n latest days with one",
    "  --keep-weekly <n>         … of each of the n latest ISO weeks with one",
    "  --keep-monthly <n>        … of each of the n latest months with one",
    "  --max-age <age>           keep what no rule keeps until this old (7d, 2w, 36h);",
    "                            without it, such a backup is deleted at once",
    "  --time-zone <IANA zone>   the zone days, weeks and months are read in (default UTC)",
    "  --now <RFC 3339>          default: the current time",
    "  --backups <file>          a JSON list of {time, result: Succeeded|Failed, id?};",
    "                            default: read from stdin",
  ].join("\n");

type Flags = Map<string, string>;

interface RetentionInput {
  rules: RetentionRules;
  timeZone: string;
  now: Date;
}

function countFlag(flags: Flags, name: string, problems: string[]): number | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_KEEP) {
    problems.push(`--${name}: not a whole number from 0 to ${MAX_KEEP}: "${raw}"`);
  }
  return Number(raw);
}

function maxAgeFlag(flags: Flags, problems: string[]): string | undefined {
  const raw = flags.get("max-age");
  if (raw === undefined) return undefined;
  try {
    parseDuration(raw);
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    problems.push(`--max-age: invalid age "${raw}" (use e.g. 36h, 7d, 2w)`);
  }
  return raw;
}

function inputOf(flags: Flags, problems: string[]): RetentionInput {
  const zone = validateTimeZone(flags.get("time-zone") ?? "UTC");
  if (!zone.valid) problems.push(`--time-zone: ${zone.error}`);
  const rawNow = flags.get("now");
  const now = rawNow === undefined ? new Date() : new Date(rawNow);
  if (Number.isNaN(now.getTime())) problems.push(`--now: invalid time "${rawNow}"`);
  const rules: RetentionRules = {
    keepLast: countFlag(flags, "keep-last", problems),
    keepDaily: countFlag(flags, "keep-daily", problems),
    keepWeekly: countFlag(flags, "keep-weekly", problems),
    keepMonthly: countFlag(flags, "keep-monthly", problems),
    maxAge: maxAgeFlag(flags, problems),
  };
  return { rules, timeZone: zone.valid ? zone.zone : "UTC", now };
}

function timeField(time: unknown, at: string, problems: string[]): Date | undefined {
  const date = typeof time === "string" ? new Date(time) : undefined;
  if (date !== undefined && !Number.isNaN(date.getTime())) return date;
  problems.push(`${at}.time: not an RFC 3339 time: ${JSON.stringify(time)}`);
  return undefined;
}

function resultField(result: unknown, at: string, problems: string[]): BackupResult | undefined {
  if (result === "Succeeded" || result === "Failed") return result;
  problems.push(`${at}.result: must be "Succeeded" or "Failed", not ${JSON.stringify(result)}`);
  return undefined;
}

/** The id, or null when it is malformed; undefined when absent. */
function idField(id: unknown, at: string, problems: string[]): string | null | undefined {
  if (id === undefined || (typeof id === "string" && id !== "")) return id;
  problems.push(`${at}.id: must be a non-empty string, not ${JSON.stringify(id)}`);
  return null;
}

/** One element of the backups list; pushes a problem naming the field when it is malformed. */
function backupOf(item: unknown, at: string, problems: string[]): RetentionBackup | undefined {
  if (typeof item !== "object" || item === null || Array.isArray(item)) {
    problems.push(`${at}: not an object {time, result, id?}`);
    return undefined;
  }
  const fields = item as Record<string, unknown>;
  const time = timeField(fields.time, at, problems);
  const result = resultField(fields.result, at, problems);
  const id = idField(fields.id, at, problems);
  if (time === undefined || result === undefined || id === null) return undefined;
  return { id: id ?? backupIdOf(time), time, result };
}

/** Parses the backups list; `source` names where it came from in messages. */
function backupsOf(text: string, source: string, problems: string[]): RetentionBackup[] {
  if (text.trim() === "") {
    problems.push(`${source}: empty: expected a JSON list of {time, result, id?}`);
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    problems.push(`${source}: invalid JSON: ${(err as Error).message}`);
    return [];
  }
  if (!Array.isArray(parsed)) {
    problems.push(`${source}: must be a JSON list of {time, result, id?}`);
    return [];
  }
  const backups = parsed.map((item, i) => backupOf(item, `${source}: backups[${i}]`, problems));
  return backups.filter((b) => b !== undefined);
}

/** Reads the backups text from --backups FILE or stdin; undefined (and a problem) when it cannot. */
async function backupsText(
  file: string | undefined,
  readStdin: () => Promise<string>,
  problems: string[],
): Promise<string | undefined> {
  try {
    return file === undefined ? await readStdin() : await readFile(file, "utf8");
  } catch (err) {
    const what = file === undefined ? "stdin" : `--backups: cannot read "${file}"`;
    problems.push(`${what}: ${(err as Error).message}`);
    return undefined;
  }
}

function report(input: RetentionInput, backups: RetentionBackup[]): unknown {
  const decisions = explainRetention(backups, input.rules, input);
  return {
    timeZone: input.timeZone,
    now: input.now.toISOString(),
    rules: input.rules,
    backups: decisions.map((d) => ({
      id: d.id,
      time: d.time.toISOString(),
      local: formatInZone(d.time.getTime(), input.timeZone),
      result: d.result,
      kept: d.kept,
      reasons: d.reasons,
    })),
  };
}

async function readProcessStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new Error("is a terminal: pass --backups FILE or pipe a JSON list");
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function fail(ctx: CommandContext, problems: string[]): number {
  const lines = problems.map((p) => `pake-operator retention explain: ${p}\n`).join("");
  ctx.stderr(`${lines}\n${usage()}\n`);
  return 2;
}

async function explain(
  args: string[],
  ctx: CommandContext,
  readStdin: () => Promise<string>,
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "explain") {
    ctx.stderr(`${usage()}\n`);
    return 2;
  }
  const parsed = parseFlags(rest, FLAGS);
  const problems = [...parsed.problems];
  if (parsed.positional.length > 0) problems.push(`unexpected argument "${parsed.positional[0]}"`);
  const input = inputOf(parsed.flags, problems);
  if (problems.length > 0) return fail(ctx, problems);
  const file = parsed.flags.get("backups");
  const text = await backupsText(file, readStdin, problems);
  const backups = backupsOf(text ?? "[]", file === undefined ? "stdin" : "--backups", problems);
  if (problems.length > 0) return fail(ctx, problems);
  ctx.stdout(`${JSON.stringify(report(input, backups), null, 2)}\n`);
  return 0;
}

/** The command, reading the backups list from `readStdin` when no --backups is given (tests pass their own). */
export function createRetentionCommand(
  readStdin: () => Promise<string> = readProcessStdin,
): Command {
  return {
    name: "retention",
    summary: "Explain a retention policy: which backups it keeps and why, as JSON",
    usage,
    run: (args, ctx) => explain(args, ctx, readStdin),
  };
}

export const retentionCommand: Command = createRetentionCommand();
