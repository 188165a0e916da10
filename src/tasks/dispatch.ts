// The dispatcher behind `pake-operator run <task>`: a task's runner module is
// loaded only when that task runs. A runner process then holds only what its
// task needs: a backup Job does not load ioredis, the Kubernetes client or
// every other runner's schemas (~20 MiB of a ~95 MiB start).
// index.ts (the package's barrel) re-exports this and adds the synchronous
// validateTaskConfig, which needs every schema at hand.
import { log } from "../runtime/log.ts";
import { describeIssues } from "./config.ts";
import { completeResult, writeTerminationMessage } from "./result.ts";
import type { TaskContext, TaskName, TaskResult } from "./types.ts";
import type { z } from "zod";

export interface TaskRunner {
  /** Validates a config (the runner's schema, defaults applied). */
  schema: z.ZodType;
  run(config: never, ctx: TaskContext): Promise<TaskResult>;
}

/** Each task's runner, imported on first use. */
const loaders: Record<TaskName, () => Promise<TaskRunner>> = {
  logCleanup: async () => {
    const m = await import("./log-cleanup.ts");
    return { schema: m.LogCleanupConfig, run: m.runLogCleanup };
  },
  cacheCleanup: async () => {
    const m = await import("./cache-cleanup.ts");
    return { schema: m.CacheCleanupConfig, run: m.runCacheCleanup };
  },
  databaseVacuum: async () => {
    const m = await import("./database-vacuum.ts");
    return { schema: m.DatabaseVacuumConfig, run: m.runDatabaseVacuum };
  },
  capacityCheck: async () => {
    const m = await import("./capacity-check.ts");
    return { schema: m.CapacityCheckConfig, run: m.runCapacityCheck };
  },
  securityScan: async () => {
    const m = await import("./security-scan.ts");
    return { schema: m.SecurityScanConfig, run: m.runSecurityScan };
  },
  performanceReport: async () => {
    const m = await import("./performance-report.ts");
    return { schema: m.PerformanceReportConfig, run: m.runPerformanceReport };
  },
  custom: async () => {
    const m = await import("./custom.ts");
    return { schema: m.CustomConfig, run: m.runCustom };
  },
  backup: async () => {
    const m = await import("./backup/run.ts");
    return { schema: m.BackupConfig, run: m.runBackup };
  },
  databaseRestore: async () => {
    const m = await import("./backup/restore.ts");
    return { schema: m.DatabaseRestoreConfig, run: m.runDatabaseRestore };
  },
  backupVerify: async () => {
    const m = await import("./backup/verify.ts");
    return { schema: m.BackupVerifyConfig, run: m.runBackupVerify };
  },
};

/** Runners loaded so far, or registered. */
const runners = new Map<string, TaskRunner>();

/** Adds (or replaces) a task's runner. */
export function registerTaskRunner(name: TaskName, runner: TaskRunner): void {
  runners.set(name, runner);
}

function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(loaders, name);
}

/** Task names runTask knows. */
export function taskNames(): string[] {
  return Object.keys(loaders);
}

async function loadRunner(name: string): Promise<TaskRunner | undefined> {
  if (!isTaskName(name)) return undefined;
  let runner = runners.get(name);
  if (runner === undefined) {
    runner = await loaders[name]();
    runners.set(name, runner);
  }
  return runner;
}

export type ConfigValidation = { valid: true; config: unknown } | { valid: false; error: string };

/** Validates `config` with a task's schema (undefined: the task is unknown). */
export function checkTaskConfig(
  name: string,
  schema: z.ZodType | undefined,
  config: unknown,
): ConfigValidation {
  if (schema === undefined)
    return { valid: false, error: `unknown task "${name}" (known: ${taskNames().join(", ")})` };
  const parsed = schema.safeParse(config ?? {});
  if (!parsed.success)
    return { valid: false, error: `invalid ${name} config: ${describeIssues(parsed.error)}` };
  return { valid: true, config: parsed.data };
}

function failed(name: string, started: Date, error: string, ctx: TaskContext): TaskResult {
  const task = (isTaskName(name) ? name : "custom") satisfies TaskName;
  const result = completeResult(
    task,
    started,
    { result: "Failed", summary: error, details: {}, error },
    ctx.now,
  );
  if (!isTaskName(name)) result.summary = error;
  return result;
}

function parseJson(configJson: string | object | undefined): { value?: unknown; error?: string } {
  if (configJson === undefined || configJson === "") return { value: {} };
  if (typeof configJson !== "string") return { value: configJson };
  try {
    return { value: JSON.parse(configJson) as unknown };
  } catch (err) {
    return { error: `task config is not valid JSON: ${(err as Error).message}` };
  }
}

/**
 * Runs task `name` with its config (JSON text or an object). Never throws:
 * an unknown task, a bad config or a failing run is a Failed result.
 */
export async function runTask(
  name: string,
  configJson: string | object | undefined,
  ctx: TaskContext = {},
): Promise<TaskResult> {
  const started = (ctx.now ?? (() => new Date()))();
  const json = parseJson(configJson);
  if (json.error !== undefined) return failed(name, started, json.error, ctx);
  const runner = await loadRunner(name);
  const checked = checkTaskConfig(name, runner?.schema, json.value);
  if (!checked.valid) return failed(name, started, checked.error, ctx);
  return runner!.run(json.value as never, ctx);
}

export interface ExecuteTaskOptions {
  name: string;
  config: string | object | undefined;
  ctx?: TaskContext;
  /** Default: $PAKE_TERMINATION_MESSAGE_PATH, else /dev/termination-log. */
  terminationMessagePath?: string;
}

/**
 * What `pake-operator run <task>` does: run, log one line, write the
 * termination message; returns the result and the process exit code.
 */
export async function executeTask(
  options: ExecuteTaskOptions,
): Promise<{ result: TaskResult; exitCode: number }> {
  const ctx = options.ctx ?? {};
  const result = await runTask(options.name, options.config, ctx);
  const logger = ctx.logger ?? log;
  const fields = {
    task: options.name,
    result: result.result,
    durationMs: result.durationMs,
    details: result.details,
  };
  if (result.result === "Succeeded") logger.info(fields, `Completed task: ${result.summary}`);
  else logger.error({ ...fields, error: result.error }, `Failed task: ${result.summary}`);
  await writeTerminationMessage(result, options.terminationMessagePath, ctx.env);
  return { result, exitCode: result.result === "Succeeded" ? 0 : 1 };
}
