// MaintenanceTask (mt): a scheduled or one-shot operation run as a Kubernetes
// Job, scheduled like the CronJob controller. See DESIGN.md §1.
import { z } from "zod";
import { parseDuration } from "../lib/duration.ts";
import {
  type CelRule,
  AGE_COLUMN,
  API_GROUP,
  API_VERSION,
  CATEGORY,
  ConfigMapKeySelector,
  LocalObjectReference,
  MAX_NAME_FOR_JOBS,
  SecretKeySelector,
  SecretReference,
  age,
  celExactlyOne,
  conditions,
  countSet,
  cron,
  duration,
  kubeObject,
  noParentSegments,
  labelName,
  objectName,
  observedGeneration,
  stringList,
  text,
  timeZone,
  timestamp,
  withRules,
} from "./common.ts";
import type { KindDescriptor } from "./common.ts";
import { CommonReason, JobRunEventReason, JobRunReason } from "./conditions.ts";
import { INCIDENT_SEVERITIES, Threshold } from "./healthcheck.ts";

const claimName = (description: string) => objectName(description);
const absolutePath = (description: string) =>
  z.string().min(1).max(1024).regex(/^\//).describe(description);
const dbName = (description: string) => z.string().min(1).max(63).describe(description);
const databaseList = (description: string) =>
  z.array(dbName("Database name.")).max(64).optional().describe(description);

// ---------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------

export const LogCleanupTask = withRules(
  z
    .strictObject({
      claimName: claimName("PersistentVolumeClaim holding the logs."),
      path: absolutePath("Directory on the volume to clean.").default("/"),
      patterns: z
        .array(z.string().min(1).max(256))
        .max(16)
        .default(["*.log", "*.log.*"])
        .describe(
          "Glob patterns of the files to consider (minimatch): `*`, `?`, `[…]`, `**`, braces " +
            "(`*.{log,gz}`, at most 256 expansions) and `\\` escapes. A pattern without `/` " +
            "matches at any depth. Dotfiles and files under hidden directories match only when the " +
            "pattern spells the dot (`.*.log`, `.cache/*.log`); `!` and `#` are plain characters.",
        ),
      maxAge: age("Delete matching files last modified longer ago than this.").default("7d"),
      recursive: z.boolean().default(true).describe("Descend into subdirectories."),
      dryRun: z.boolean().default(false).describe("Report what would be deleted; delete nothing."),
    })
    .describe("Delete log files older than maxAge on a volume."),
  [noParentSegments()],
);

export const CacheCleanupTask = withRules(
  z
    .strictObject({
      urlSecretRef: SecretKeySelector.describe("Secret key holding the Redis URL."),
      pattern: text(256, "Delete keys matching this glob pattern (Redis MATCH syntax).").optional(),
      idleTime: duration("Delete keys not accessed for this long (OBJECT IDLETIME).").optional(),
      batchSize: z.int().min(10).max(10000).default(1000).describe("Keys per SCAN batch."),
      maxKeys: z.int().min(1).optional().describe("Stop after deleting this many keys in one run."),
      flush: z
        .boolean()
        .default(false)
        .describe("Flush the whole database (FLUSHDB). Requires confirmFlush: true."),
      confirmFlush: z
        .boolean()
        .default(false)
        .describe("Explicit confirmation that flush may delete every key."),
      dryRun: z.boolean().default(false).describe("Count matching keys; delete nothing."),
    })
    .describe("Delete Redis keys by pattern and/or idle time in SCAN batches, or flush."),
  [
    {
      rule: "!self.flush || self.confirmFlush",
      message: "flush deletes every key: set confirmFlush: true to confirm",
      fieldPath: ".confirmFlush",
      reason: "FieldValueRequired",
      check: (t) => !t.flush || t.confirmFlush,
    },
    {
      rule: "self.flush || has(self.pattern) || has(self.idleTime)",
      message: "cacheCleanup needs pattern, idleTime or flush",
      check: (t) => t.flush || t.pattern !== undefined || t.idleTime !== undefined,
    },
    {
      rule: "!self.flush || !(has(self.pattern) || has(self.idleTime))",
      message: "flush cannot be combined with pattern or idleTime",
      fieldPath: ".flush",
      check: (t) => !t.flush || (t.pattern === undefined && t.idleTime === undefined),
    },
  ],
);

export const DatabaseVacuumTask = z
  .strictObject({
    connectionSecretRef: SecretReference.describe(
      "Secret with the PostgreSQL connection (uri, or host/port/user/password/dbname keys).",
    ),
    databases: databaseList("Databases to process; default: the one in the Secret."),
    tables: z
      .array(z.string().min(1).max(127))
      .max(100)
      .optional()
      .describe("Tables (optionally schema-qualified) to process; default: all."),
    mode: z
      .enum(["Vacuum", "Analyze", "VacuumAnalyze"])
      .default("VacuumAnalyze")
      .describe("VACUUM, ANALYZE, or VACUUM ANALYZE."),
    full: z
      .boolean()
      .default(false)
      .describe("VACUUM FULL: rewrites tables under an exclusive lock."),
  })
  .describe("Run VACUUM and/or ANALYZE on PostgreSQL.");

export const CapacityCheckTask = withRules(
  z
    .strictObject({
      persistentVolumeClaims: z
        .array(objectName("PersistentVolumeClaim name."))
        .max(32)
        .optional()
        .describe("Volumes whose usage and growth are measured."),
      connectionSecretRef: SecretReference.optional().describe(
        "PostgreSQL connection whose database sizes are measured.",
      ),
      nodes: z.boolean().default(true).describe("Include node CPU, memory and disk."),
      warningDaysUntilFull: z
        .int()
        .min(1)
        .max(3650)
        .default(30)
        .describe("Warn when the forecast says full within this many days."),
      criticalDaysUntilFull: z
        .int()
        .min(1)
        .max(3650)
        .default(7)
        .describe("Critical when the forecast says full within this many days."),
      thresholds: z
        .array(Threshold)
        .max(16)
        .optional()
        .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["metric"] })
        .describe("Usage thresholds, e.g. diskPercent 80/95 (the KPI defaults apply otherwise)."),
    })
    .describe("Measure usage and growth of volumes, database size and node resources."),
  [
    {
      rule: "self.criticalDaysUntilFull < self.warningDaysUntilFull",
      message: "criticalDaysUntilFull must be less than warningDaysUntilFull",
      fieldPath: ".criticalDaysUntilFull",
      check: (t) => t.criticalDaysUntilFull < t.warningDaysUntilFull,
    },
  ],
);

export const SecurityScanTask = z
  .strictObject({
    namespaces: z
      .array(labelName("Namespace name."))
      .max(64)
      .optional()
      .describe("Namespaces to audit; default: all."),
    level: z
      .enum(["baseline", "restricted"])
      .default("restricted")
      .describe("Pod Security Standards level to audit against."),
    scannerReport: z
      .strictObject({
        format: z.enum(["Trivy"]).default("Trivy").describe("Report format."),
        configMapKeyRef: ConfigMapKeySelector.describe("ConfigMap key holding the JSON report."),
      })
      .optional()
      .describe("A vulnerability scanner's JSON report to import."),
    failOnSeverity: z
      .enum(["None", "Low", "Medium", "High", "Critical"])
      .default("Critical")
      .describe("The run fails when a finding of this severity or higher exists."),
  })
  .describe("Audit namespaces against Pod Security Standards and import scanner reports.");

export const PerformanceReportTask = z
  .strictObject({
    connectionSecretRef: SecretReference.describe("Secret with the PostgreSQL connection."),
    databases: databaseList("Databases to report on; default: the one in the Secret."),
    topN: z.int().min(1).max(100).default(20).describe("Rows per section of the report."),
    includeBloat: z.boolean().default(true).describe("Estimate table and index bloat."),
  })
  .describe("Report table sizes, index usage, unused indexes and bloat.");

export const DatabaseRestoreTask = z
  .strictObject({
    backupPolicyRef: LocalObjectReference.describe("BackupPolicy whose backup is restored."),
    backupId: text(128, "Backup to restore; default: the newest successful one.").optional(),
    sourceDatabase: dbName(
      "Which database of the backup to restore; required when the backup holds several.",
    ).optional(),
    target: z
      .strictObject({
        connectionSecretRef: SecretReference.describe("Secret with the target server connection."),
        database: dbName("Database to restore into; created when missing."),
      })
      .describe("Where to restore."),
    dropExisting: z
      .boolean()
      .default(false)
      .describe("Drop and recreate the target database first."),
    restoreGlobals: z
      .boolean()
      .default(false)
      .describe("Also restore the backup's roles and tablespaces (pg_dumpall --globals-only)."),
  })
  .describe("Restore a backup of a BackupPolicy into a target database.");

const EnvVar = withRules(
  z
    .strictObject({
      name: z
        .string()
        .min(1)
        .max(256)
        .regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/)
        .describe("Environment variable name."),
      value: text(8192, "Value.").optional(),
      valueFrom: z
        .strictObject({ secretKeyRef: SecretKeySelector })
        .optional()
        .describe("Take the value from a Secret key."),
    })
    .describe("An environment variable."),
  [
    {
      rule: "!(has(self.value) && has(self.valueFrom))",
      message: "env needs value or valueFrom, not both",
      check: (e) => !(e.value !== undefined && e.valueFrom !== undefined),
    },
  ],
);

export const CustomTask = z
  .strictObject({
    image: z.string().min(1).max(512).regex(/^\S+$/).describe("Container image."),
    command: stringList(32, 4096, "Entrypoint; default: the image's.").optional(),
    args: stringList(64, 4096, "Arguments.").optional(),
    env: z
      .array(EnvVar)
      .max(64)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .describe("Environment variables."),
    imagePullPolicy: z
      .enum(["Always", "IfNotPresent", "Never"])
      .optional()
      .describe("Image pull policy."),
    serviceAccountName: objectName(
      "ServiceAccount the Job runs as; refused unless the operator runs with " +
        "--allow-custom-service-account (Helm runner.allowCustomServiceAccount).",
    ).optional(),
  })
  .describe("Run a container of your own.");

export const TASK_TYPES = [
  "logCleanup",
  "cacheCleanup",
  "databaseVacuum",
  "capacityCheck",
  "securityScan",
  "performanceReport",
  "databaseRestore",
  "custom",
] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const MaintenanceTaskTask = withRules(
  z
    .strictObject({
      logCleanup: LogCleanupTask.optional(),
      cacheCleanup: CacheCleanupTask.optional(),
      databaseVacuum: DatabaseVacuumTask.optional(),
      capacityCheck: CapacityCheckTask.optional(),
      securityScan: SecurityScanTask.optional(),
      performanceReport: PerformanceReportTask.optional(),
      databaseRestore: DatabaseRestoreTask.optional(),
      custom: CustomTask.optional(),
    })
    .describe(`The operation to run: exactly one of ${TASK_TYPES.join(", ")}.`),
  [
    {
      rule: celExactlyOne(TASK_TYPES),
      message: `exactly one of ${TASK_TYPES.join(", ")} must be set`,
      check: (t) => countSet(t, TASK_TYPES) === 1,
    },
  ],
);
export type MaintenanceTaskTask = z.infer<typeof MaintenanceTaskTask>;

/** Which task type a task is (the one key that is set). */
export function taskType(task: MaintenanceTaskTask): TaskType | undefined {
  return TASK_TYPES.find((k) => task[k] !== undefined);
}

// ---------------------------------------------------------------------------
// Spec
// ---------------------------------------------------------------------------

export const TaskIncidentPolicy = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        "Open an Incident when a run fails after its retries, or succeeds with a critical " +
          "finding (an open one is still resolved by the next clean success).",
      ),
    severity: z
      .enum(INCIDENT_SEVERITIES)
      .default("high")
      .describe("Severity of the Incident opened."),
  })
  .describe(
    "Incident policy: one open Incident per task (repeats raise its occurrences), resolved by " +
      "the next successful run without a critical finding.",
  );
export type TaskIncidentPolicy = z.infer<typeof TaskIncidentPolicy>;

/** Shortest starting deadline, in seconds. */
export const MIN_STARTING_DEADLINE_SECONDS = 10;

/**
 * CEL rule: startingDeadlineSeconds, when set, is at least 10. Below that the
 * slot may already be past its deadline when the controller looks (the
 * CronJob controller documents the same), and 0 would silently mean never.
 */
export function startingDeadlineRule<
  T extends { startingDeadlineSeconds?: number | undefined },
>(): CelRule<T> {
  return {
    rule: `!has(self.startingDeadlineSeconds) || self.startingDeadlineSeconds >= ${MIN_STARTING_DEADLINE_SECONDS}`,
    message:
      `startingDeadlineSeconds must be at least ${MIN_STARTING_DEADLINE_SECONDS}: ` +
      "with a shorter deadline a run may be missed (as the CronJob controller documents)",
    fieldPath: ".startingDeadlineSeconds",
    check: (v) =>
      v.startingDeadlineSeconds === undefined ||
      v.startingDeadlineSeconds >= MIN_STARTING_DEADLINE_SECONDS,
  };
}

export const MaintenanceTaskSpec = withRules(
  z
    .strictObject({
      schedule: cron("When to run. Without a schedule the task runs once.").optional(),
      timeZone: timeZone(),
      suspend: z
        .boolean()
        .default(false)
        .describe("Start no new runs (scheduled or once); running ones finish."),
      concurrencyPolicy: z
        .enum(["Forbid", "Allow", "Replace"])
        .default("Forbid")
        .describe(
          "What to do when a run is due while one is active: Forbid skips the new run, " +
            "Allow runs both, Replace stops the active run.",
        ),
      startingDeadlineSeconds: z
        .int()
        .min(0)
        .max(2592000)
        .optional()
        .describe(
          "A missed run may still start this many seconds after its scheduled time; " +
            "at most one missed run is caught up. At least 10 (below that a run may be missed).",
        ),
      timeout: duration("Longest a run may take (the Job's activeDeadlineSeconds).").default("1h"),
      retries: z
        .int()
        .min(0)
        .max(10)
        .default(0)
        .describe("Retries of a failed run (the Job's backoffLimit)."),
      successfulRunsHistoryLimit: z
        .int()
        .min(0)
        .max(20)
        .default(3)
        .describe("Finished successful Jobs (and history entries) to keep."),
      failedRunsHistoryLimit: z
        .int()
        .min(0)
        .max(20)
        .default(1)
        .describe("Finished failed Jobs (and history entries) to keep."),
      suppressIncidentsFor: z
        .array(objectName("HealthCheck name."))
        .max(32)
        .optional()
        .describe(
          "HealthChecks (same namespace) that open no Incidents while a run of this task is " +
            "active, at the latest until the run's start plus timeout.",
        ),
      incident: TaskIncidentPolicy.default({ enabled: true, severity: "high" }),
      task: MaintenanceTaskTask,
    })
    .describe("Desired state of a MaintenanceTask."),
  [
    {
      rule: "duration(self.timeout) >= duration('10s')",
      message: "timeout must be at least 10s",
      fieldPath: ".timeout",
      check: (s) => parseDuration(s.timeout) >= 10_000,
    },
    {
      rule: "!has(self.startingDeadlineSeconds) || has(self.schedule)",
      message: "startingDeadlineSeconds needs a schedule",
      fieldPath: ".startingDeadlineSeconds",
      check: (s) => s.startingDeadlineSeconds === undefined || s.schedule !== undefined,
    },
    startingDeadlineRule(),
  ],
);
export type MaintenanceTaskSpec = z.infer<typeof MaintenanceTaskSpec>;
export type MaintenanceTaskSpecInput = z.input<typeof MaintenanceTaskSpec>;

// ---------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Conditions, reasons and Events
// ---------------------------------------------------------------------------

/**
 * Condition types of a MaintenanceTask besides the common ones (Ready,
 * SpecValid, Suspended, Progressing; see conditions.ts).
 */
export const MaintenanceTaskCondition = {
  /** The most recent finished run succeeded (False: the reason says why it failed). */
  LastRunSucceeded: "LastRunSucceeded",
} as const;

/** Condition reasons of a MaintenanceTask (CamelCase, stable: alerts and tests match on them). */
export const MaintenanceTaskReason = {
  /** Ready=True: the task has a schedule; the message names the next run. */
  Scheduled: "Scheduled",
  /** Ready=True: the task has no schedule and its one run was started. */
  RanOnce: "RanOnce",
  /** Ready=True: the task has no schedule and its one run has not started yet. */
  Pending: CommonReason.Pending,
  /** Ready=True and Suspended=True: spec.suspend, no new runs start. */
  Suspended: CommonReason.Suspended,
  /** Suspended=False. */
  NotSuspended: CommonReason.NotSuspended,
  /** Progressing=False: no run is active. */
  Idle: "Idle",
  /** Progressing=True: runs are active; the message lists their Jobs. */
  RunActive: "RunActive",
  /** LastRunSucceeded=True. */
  Succeeded: "Succeeded",
  // LastRunSucceeded=False: the three below, the Job controller's reason
  // (DeadlineExceeded, BackoffLimitExceeded, …) or else the run's result.
  /** The run was stopped by concurrencyPolicy Replace for a newer one (result Cancelled). */
  Replaced: JobRunReason.Replaced,
  /** The Job was unfinished at timeout plus grace; the watchdog deleted it (result TimedOut). */
  WatchdogTimeout: JobRunReason.WatchdogTimeout,
  /** The Job was deleted before it reported a result (result Failed). */
  JobVanished: JobRunReason.JobVanished,
} as const;

/**
 * Event reasons of a MaintenanceTask besides InvalidSpec: the run vocabulary
 * of conditions.ts (ScheduledRun, CatchingUp, MissedSchedule,
 * SkippedConcurrentRun, RunOnce, RunNow, RunSucceeded, RunFailed).
 */
export const MaintenanceTaskEventReason = JobRunEventReason;

export const RUN_RESULTS = ["Running", "Succeeded", "Failed", "TimedOut", "Cancelled"] as const;

export const ActiveRun = z
  .strictObject({
    job: objectName("Name of the Job."),
    scheduledTime: timestamp("Scheduled time of the run (absent for on-demand runs).").optional(),
    startTime: timestamp("When the Job was created."),
    trigger: z.enum(["Schedule", "RunNow", "Once"]).optional().describe("What started the run."),
  })
  .describe("A run whose Job has not finished.");
export type ActiveRun = z.infer<typeof ActiveRun>;

export const RunRecord = z
  .strictObject({
    job: objectName("Name of the Job."),
    trigger: z.enum(["Schedule", "RunNow", "Once"]).optional().describe("What started the run."),
    scheduledTime: timestamp("Scheduled time of the run (absent for on-demand runs).").optional(),
    startTime: timestamp("When the run started.").optional(),
    endTime: timestamp("When the run ended.").optional(),
    result: z.enum(RUN_RESULTS).describe("Outcome of the run."),
    summary: text(
      4096,
      "Summary from the runner's result (e.g. files deleted, bytes freed).",
    ).optional(),
    details: z
      .record(z.string().max(63), z.string().max(1024))
      .refine((m) => Object.keys(m).length <= 32, { message: "at most 32 entries" })
      .meta({ maxProperties: 32 })
      .optional()
      .describe("Key figures from the runner's result."),
  })
  .describe("Record of a run.");
export type RunRecord = z.infer<typeof RunRecord>;

export const MAX_HISTORY = 20;

/** Most capacity samples kept in status (the capacityCheck forecast's history). */
export const MAX_CAPACITY_SAMPLES = 30;

const byteCounts = (maxProperties: number, description: string) =>
  z
    .record(z.string().min(1).max(253), z.int().min(0).meta({ format: "int64" }).describe("Bytes."))
    .refine((m) => Object.keys(m).length <= maxProperties, {
      message: `at most ${maxProperties} entries`,
    })
    .meta({ maxProperties })
    .optional()
    .describe(description);

export const CapacitySample = z
  .strictObject({
    time: timestamp("When the sample was measured."),
    volumes: byteCounts(32, "PersistentVolumeClaim name → used bytes."),
    databases: byteCounts(64, "Database name → size in bytes."),
  })
  .describe("Usage measured by one successful capacityCheck run.");
export type CapacitySample = z.infer<typeof CapacitySample>;

export const MaintenanceTaskStatus = z
  .strictObject({
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    task: text(64, "Task type, e.g. logCleanup.").optional(),
    resolvedSchedule: text(
      256,
      "The cron expression in force: for hashed-random macros, the fixed time derived from the name.",
    ).optional(),
    lastScheduleTime: timestamp(
      "Scheduled time of the last run started by the schedule.",
    ).optional(),
    lastSuccessfulTime: timestamp("When the last successful run finished.").optional(),
    nextScheduleTime: timestamp("Next scheduled time.").optional(),
    active: z.array(ActiveRun).max(16).optional().describe("Runs in progress."),
    lastRun: RunRecord.optional().describe("The most recent run."),
    history: z
      .array(RunRecord)
      .max(MAX_HISTORY)
      .optional()
      .describe("Recent finished runs, newest first, bounded by the history limits."),
    lastRunNowToken: text(
      256,
      "Value of the pake.dev/run-now annotation last acted on: each token runs once.",
    ).optional(),
    capacitySamples: z
      .array(CapacitySample)
      .max(MAX_CAPACITY_SAMPLES)
      .optional()
      .describe(
        "capacityCheck: samples of successful runs, oldest first (at most 30), passed to the " +
          "next run for growth per day and days-until-full forecasts.",
      ),
    incidentRef: z
      .strictObject({ name: objectName("Name of the open Incident.") })
      .optional()
      .describe("The open Incident raised by this task, if any."),
  })
  .describe("Observed state of a MaintenanceTask.");
export type MaintenanceTaskStatus = z.infer<typeof MaintenanceTaskStatus>;

export const MaintenanceTaskSchema = kubeObject(
  "MaintenanceTask",
  MaintenanceTaskSpec,
  MaintenanceTaskStatus,
);
export type MaintenanceTask = z.infer<typeof MaintenanceTaskSchema>;

export const maintenanceTaskDescriptor: KindDescriptor<
  typeof MaintenanceTaskSpec,
  typeof MaintenanceTaskStatus
> = {
  group: API_GROUP,
  version: API_VERSION,
  kind: "MaintenanceTask",
  listKind: "MaintenanceTaskList",
  plural: "maintenancetasks",
  singular: "maintenancetask",
  shortNames: ["mt"],
  categories: [CATEGORY],
  description:
    "MaintenanceTask runs a maintenance operation (log or cache cleanup, VACUUM, capacity " +
    "check, security scan, performance report, restore, or a custom container) as a Job, on a " +
    "cron schedule, once, or on demand (annotation pake.dev/run-now).",
  printerColumns: [
    { name: "Task", type: "string", jsonPath: ".status.task", description: "Task type." },
    { name: "Schedule", type: "string", jsonPath: ".spec.schedule", description: "Cron schedule." },
    {
      name: "Last Result",
      type: "string",
      jsonPath: ".status.lastRun.result",
      description: "Outcome of the most recent run.",
    },
    {
      name: "Last Run",
      type: "date",
      jsonPath: ".status.lastRun.startTime",
      description: "When the most recent run started.",
    },
    {
      name: "Next Run",
      type: "string",
      jsonPath: ".status.nextScheduleTime",
      description: "Next scheduled time (a timestamp: kubectl shows future dates as <invalid>).",
    },
    AGE_COLUMN,
    {
      name: "Suspended",
      type: "boolean",
      jsonPath: ".spec.suspend",
      description: "Whether new runs are suspended.",
      priority: 1,
    },
  ],
  spec: MaintenanceTaskSpec,
  status: MaintenanceTaskStatus,
  rootRules: [],
  maxNameLength: MAX_NAME_FOR_JOBS,
};
