// logCleanup: delete files older than maxAge whose names match the patterns,
// under a directory of a volume. Symbolic links are never followed nor
// deleted, and the directory must resolve inside the volume's mount (root).
import { lstat, opendir, realpath, unlink } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { z } from "zod";
import { AGE_PATTERN, parseDuration } from "../lib/duration.ts";
import { parseConfig } from "./config.ts";
import { globMatcher, globProblem } from "./glob.ts";
import { runTaskBody } from "./result.ts";
import type { TaskContext, TaskResult } from "./types.ts";

/** Where the controller mounts the task's PersistentVolumeClaim in the Job. */
export const DEFAULT_VOLUME_ROOT = "/pake/volume";

function checkPattern(pattern: string, ctx: z.RefinementCtx): void {
  const problem = globProblem(pattern);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
}

/**
 * The CRD's logCleanup fields (claimName is the controller's business and
 * ignored here) plus `root`, the volume's mount path in the Job.
 */
export const LogCleanupConfig = z.object({
  root: z.string().min(1).default(DEFAULT_VOLUME_ROOT),
  path: z.string().min(1).default("/"),
  patterns: z
    .array(z.string().min(1).max(256).superRefine(checkPattern))
    .min(1)
    .max(16)
    .default(["*.log", "*.log.*"]),
  maxAge: z.string().regex(AGE_PATTERN, 'an age such as "7d", "36h" or "2w"').default("7d"),
  recursive: z.boolean().default(true),
  dryRun: z.boolean().default(false),
});
export type LogCleanupConfig = z.output<typeof LogCleanupConfig>;
export type LogCleanupInput = z.input<typeof LogCleanupConfig>;

interface Tally {
  scanned: number;
  matched: number;
  deleted: number;
  bytes: number;
  symlinksSkipped: number;
  errors: string[];
  files: { path: string; bytes: number; ageDays: number }[];
}

/** The directory to clean, resolved and checked to be inside the root. */
async function resolveTarget(root: string, path: string): Promise<{ root: string; dir: string }> {
  const realRoot = await realpath(root);
  const dir = await realpath(join(realRoot, path));
  if (dir !== realRoot && !dir.startsWith(realRoot + sep)) {
    throw new Error(`path ${JSON.stringify(path)} resolves outside the volume root`);
  }
  return { root: realRoot, dir };
}

interface Walk {
  config: LogCleanupConfig;
  base: string;
  cutoff: number;
  now: number;
  matches: (rel: string) => boolean;
  tally: Tally;
  signal?: AbortSignal | undefined;
}

async function visitFile(w: Walk, full: string): Promise<void> {
  w.tally.scanned++;
  const rel = relative(w.base, full).split(sep).join("/");
  if (!w.matches(rel)) return;
  const st = await lstat(full);
  if (!st.isFile() || st.mtimeMs >= w.cutoff) return;
  w.tally.matched++;
  if (!w.config.dryRun) await unlink(full);
  w.tally.deleted++;
  w.tally.bytes += st.size;
  w.tally.files.push({
    path: rel,
    bytes: st.size,
    ageDays: Math.round(((w.now - st.mtimeMs) / 86_400_000) * 10) / 10,
  });
}

async function visitEntry(
  w: Walk,
  full: string,
  entry: { isSymbolicLink(): boolean; isDirectory(): boolean; isFile(): boolean },
  stack: string[],
): Promise<void> {
  if (entry.isSymbolicLink()) w.tally.symlinksSkipped++;
  else if (entry.isDirectory()) {
    if (w.config.recursive) stack.push(full);
  } else if (entry.isFile()) await visitFile(w, full);
}

async function walk(w: Walk): Promise<void> {
  const stack = [w.base];
  while (stack.length > 0) {
    if (w.signal?.aborted) throw new Error("aborted");
    const dir = stack.pop()!;
    try {
      for await (const entry of await opendir(dir)) {
        const full = join(dir, entry.name);
        await visitEntry(w, full, entry, stack).catch((err: Error) => {
          w.tally.errors.push(`${relative(w.base, full)}: ${err.message}`);
        });
      }
    } catch (err) {
      w.tally.errors.push(`${relative(w.base, dir) || "."}: ${(err as Error).message}`);
    }
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

export async function runLogCleanup(
  input: LogCleanupInput,
  ctx: TaskContext = {},
): Promise<TaskResult> {
  return runTaskBody("logCleanup", ctx.now, async () => {
    const config = parseConfig("logCleanup", LogCleanupConfig, input);
    const now = (ctx.now ?? (() => new Date()))().getTime();
    const target = await resolveTarget(config.root, config.path);
    const tally: Tally = {
      scanned: 0,
      matched: 0,
      deleted: 0,
      bytes: 0,
      symlinksSkipped: 0,
      errors: [],
      files: [],
    };
    await walk({
      config,
      base: target.dir,
      cutoff: now - parseDuration(config.maxAge),
      now,
      matches: globMatcher(config.patterns),
      tally,
      signal: ctx.signal,
    });
    const verb = config.dryRun ? "would delete" : "deleted";
    return {
      result: tally.errors.length > 0 ? "Failed" : "Succeeded",
      summary: `${verb} ${tally.deleted} file(s), ${mib(tally.bytes)}, older than ${config.maxAge} (${tally.scanned} scanned${tally.errors.length > 0 ? `, ${tally.errors.length} error(s)` : ""})`,
      details: {
        filesDeleted: tally.deleted,
        bytesFreed: tally.bytes,
        filesScanned: tally.scanned,
        symlinksSkipped: tally.symlinksSkipped,
        errors: tally.errors.length,
        dryRun: config.dryRun,
      },
      data: { files: tally.files, errors: tally.errors },
      ...(tally.errors.length > 0 ? { error: tally.errors[0] } : {}),
    };
  });
}
