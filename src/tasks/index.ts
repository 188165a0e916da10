// The maintenance task runners and the dispatcher behind
// `pake-operator run <task>` (dispatch.ts, which loads a runner only when its
// task runs).
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
import { BackupConfig } from "./backup/run.ts";
import { BackupVerifyConfig } from "./backup/verify.ts";
import { DatabaseRestoreConfig } from "./backup/restore.ts";
import { CacheCleanupConfig } from "./cache-cleanup.ts";
import { CapacityCheckConfig } from "./capacity-check.ts";
import { TaskConfigError } from "./config.ts";
import { CustomConfig } from "./custom.ts";
import { DatabaseVacuumConfig } from "./database-vacuum.ts";
import { checkTaskConfig, type ConfigValidation } from "./dispatch.ts";
import { LogCleanupConfig } from "./log-cleanup.ts";
import { PerformanceReportConfig } from "./performance-report.ts";
import { SecurityScanConfig } from "./security-scan.ts";
import type { TaskName } from "./types.ts";
import type { z } from "zod";

// `pake-operator run` imports dispatch.ts, not this barrel, which loads every
// runner: a runner process loads only its own task's modules.
export {
  executeTask,
  registerTaskRunner,
  runTask,
  taskNames,
  type ConfigValidation,
  type ExecuteTaskOptions,
  type TaskRunner,
} from "./dispatch.ts";

/** Each task's config schema (this module loads every runner anyway). */
const schemas: Record<TaskName, z.ZodType> = {
  logCleanup: LogCleanupConfig,
  cacheCleanup: CacheCleanupConfig,
  databaseVacuum: DatabaseVacuumConfig,
  capacityCheck: CapacityCheckConfig,
  securityScan: SecurityScanConfig,
  performanceReport: PerformanceReportConfig,
  custom: CustomConfig,
  backup: BackupConfig,
  databaseRestore: DatabaseRestoreConfig,
  backupVerify: BackupVerifyConfig,
};

/** Validates a task config without running it (for the controller and the CLI). */
export function validateTaskConfig(name: string, config: unknown): ConfigValidation {
  const schema = Object.hasOwn(schemas, name) ? schemas[name as TaskName] : undefined;
  return checkTaskConfig(name, schema, config);
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
export { globMatcher } from "./glob.ts";
export { parseQuantity } from "./kube.ts";
export type {
  TaskContext,
  TaskName,
  TaskOutcome,
  TaskResult,
  Severity,
  RunResult,
} from "./types.ts";
