// The maintenance task runners and the dispatcher behind
// `pake-operator run <task>`.
//
// Contract with the controller that builds the Job:
// - the task config is the CRD's spec.task.<type> object, as JSON (argument
//   or env PAKE_TASK_CONFIG, the CLI's choice), with runner fields added where
//   the Job needs them: logCleanup.root (volume mount, default /pake/volume),
//   capacityCheck.volumes / volumesRoot / previousSamples, securityScan
//   scannerReport.path. Unknown fields (claimName, urlSecretRef, …) are ignored;
// - connections come from the environment (env.ts): PAKE_DATABASE_URL or PG*,
//   PAKE_REDIS_URL, mapped from the task's Secret with secretKeyRef;
// - the result (≤ 4 KiB JSON) goes to the termination message
//   ($PAKE_TERMINATION_MESSAGE_PATH, default /dev/termination-log), and the
//   exit code is 0 when the result is Succeeded, 1 otherwise.
import { log } from "../runtime/log.ts";
import { BackupConfig, runBackup } from "./backup/run.ts";
import { BackupVerifyConfig, runBackupVerify } from "./backup/verify.ts";
import { DatabaseRestoreConfig, runDatabaseRestore } from "./backup/restore.ts";
import { runCacheCleanup, CacheCleanupConfig } from "./cache-cleanup.ts";
import { runCapacityCheck, CapacityCheckConfig } from "./capacity-check.ts";
import { describeIssues, TaskConfigError } from "./config.ts";
import { CustomConfig, runCustom } from "./custom.ts";
import { runDatabaseVacuum, DatabaseVacuumConfig } from "./database-vacuum.ts";
import { runLogCleanup, LogCleanupConfig } from "./log-cleanup.ts";
import { runPerformanceReport, PerformanceReportConfig } from "./performance-report.ts";
import { completeResult, writeTerminationMessage } from "./result.ts";
import { runSecurityScan, SecurityScanConfig } from "./security-scan.ts";
import type { TaskContext, TaskName, TaskResult } from "./types.ts";
import type { z } from "zod";

export interface TaskRunner {
  /** Validates a config (the runner's schema, defaults applied). */
  schema: z.ZodType;
  run(config: never, ctx: TaskContext): Promise<TaskResult>;
}

const runners = new Map<string, TaskRunner>([
  ["logCleanup", { schema: LogCleanupConfig, run: runLogCleanup }],
  ["cacheCleanup", { schema: CacheCleanupConfig, run: runCacheCleanup }],
  ["databaseVacuum", { schema: DatabaseVacuumConfig, run: runDatabaseVacuum }],
  ["capacityCheck", { schema: CapacityCheckConfig, run: runCapacityCheck }],
  ["securityScan", { schema: SecurityScanConfig, run: runSecurityScan }],
  ["performanceReport", { schema: PerformanceReportConfig, run: runPerformanceReport }],
  ["custom", { schema: CustomConfig, run: runCustom }],
  ["backup", { schema: BackupConfig, run: runBackup }],
  ["databaseRestore", { schema: DatabaseRestoreConfig, run: runDatabaseRestore }],
  ["backupVerify", { schema: BackupVerifyConfig, run: runBackupVerify }],
]);

/** Adds a runner (databaseRestore is provided by the backup module). */
export function registerTaskRunner(name: TaskName, runner: TaskRunner): void {
  runners.set(name, runner);
}

/** Task names runTask knows. */
export function taskNames(): string[] {
  return [...runners.keys()];
}

function isTaskName(name: string): name is TaskName {
  return runners.has(name);
}

export type ConfigValidation = { valid: true; config: unknown } | { valid: false; error: string };

/** Validates a task config without running it (for the controller and the CLI). */
export function validateTaskConfig(name: string, config: unknown): ConfigValidation {
  const runner = runners.get(name);
  if (runner === undefined)
    return { valid: false, error: `unknown task "${name}" (known: ${taskNames().join(", ")})` };
  const parsed = runner.schema.safeParse(config ?? {});
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
  const checked = validateTaskConfig(name, json.value);
  if (!checked.valid) return failed(name, started, checked.error, ctx);
  const runner = runners.get(name)!;
  return runner.run(json.value as never, ctx);
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

export { TaskConfigError };
export {
  fitResult,
  writeTerminationMessage,
  MAX_RESULT_BYTES,
  DEFAULT_TERMINATION_MESSAGE_PATH,
  TERMINATION_MESSAGE_PATH_ENV,
} from "./result.ts";
export { DATABASE_URL_ENV, REDIS_URL_ENV, postgresConfig, redisUrl } from "./env.ts";
export {
  runLogCleanup,
  LogCleanupConfig,
  DEFAULT_VOLUME_ROOT,
  type LogCleanupInput,
} from "./log-cleanup.ts";
export { runCacheCleanup, CacheCleanupConfig, type CacheCleanupInput } from "./cache-cleanup.ts";
export {
  runDatabaseVacuum,
  DatabaseVacuumConfig,
  blockingReason,
  type DatabaseVacuumInput,
  type TableOutcome,
} from "./database-vacuum.ts";
export {
  runCapacityCheck,
  CapacityCheckConfig,
  growthPerDay,
  daysUntilFull,
  usageSeverity,
  DEFAULT_VOLUMES_ROOT,
  type CapacityCheckInput,
  type CapacitySample,
  type Finding,
} from "./capacity-check.ts";
export {
  runSecurityScan,
  SecurityScanConfig,
  auditPod,
  importTrivyReport,
  type SecurityScanInput,
  type PodFinding,
  type ScannerImport,
} from "./security-scan.ts";
export {
  runPerformanceReport,
  PerformanceReportConfig,
  type PerformanceReportInput,
  type DatabaseReport,
} from "./performance-report.ts";
export { runCustom, validateCustomConfig, CustomConfig } from "./custom.ts";
export {
  runDatabaseRestore,
  DatabaseRestoreConfig,
  type DatabaseRestoreInput,
} from "./backup/restore.ts";
export {
  runBackupVerify,
  BackupVerifyConfig,
  scratchDatabaseOf,
  compareTables,
  type BackupVerifyInput,
} from "./backup/verify.ts";
export { runBackup, BackupConfig, type BackupInput } from "./backup/run.ts";
export { globMatcher, globToRegExp } from "./glob.ts";
export { parseQuantity } from "./kube.ts";
export type {
  TaskContext,
  TaskName,
  TaskOutcome,
  TaskResult,
  Severity,
  RunResult,
} from "./types.ts";
