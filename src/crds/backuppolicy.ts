// BackupPolicy (bp): scheduled PostgreSQL backups with grandfather-father-son
// retention, verification by restore, and restore. See DESIGN.md §1.
import { z } from "zod";
import { parseDuration } from "../lib/duration.ts";
import {
  AGE_COLUMN,
  API_GROUP,
  API_VERSION,
  CATEGORY,
  MAX_NAME_FOR_JOBS,
  SecretReference,
  age,
  conditions,
  cron,
  duration,
  kubeObject,
  noParentSegments,
  objectName,
  observedGeneration,
  text,
  timeZone,
  timestamp,
  withRules,
} from "./common.ts";
import type { KindDescriptor } from "./common.ts";
import { INCIDENT_SEVERITIES } from "./healthcheck.ts";
import { ActiveRun, startingDeadlineRule } from "./maintenancetask.ts";

export const BackupDatabase = z
  .strictObject({
    connectionSecretRef: SecretReference.describe(
      "Secret with the PostgreSQL connection: a `uri` key, or `host`, `port`, `user`, " +
        "`password` and `dbname` keys.",
    ),
    databases: z
      .array(z.string().min(1).max(63))
      .max(64)
      .optional()
      .describe("Databases to back up, one dump each; default: the one in the Secret."),
  })
  .describe("What to back up.");

export const BackupStorage = withRules(
  z
    .strictObject({
      persistentVolumeClaim: z
        .strictObject({
          claimName: objectName("Name of the PersistentVolumeClaim."),
        })
        .describe("Volume the backups are written to."),
      path: z
        .string()
        .min(1)
        .max(1024)
        .regex(/^\//)
        .default("/")
        .describe("Directory on the volume; each backup is a file plus a manifest in it."),
    })
    .describe("Where backups are stored. (An S3-compatible bucket will be a later option.)"),
  [noParentSegments()],
);

const COMPRESSION_MAX_LEVEL: Record<string, number> = { gzip: 9, lz4: 12, zstd: 22 };

export const BackupCompression = withRules(
  z
    .strictObject({
      algorithm: z
        .enum(["none", "gzip", "lz4", "zstd"])
        .default("gzip")
        .describe("pg_dump compression method."),
      level: z
        .int()
        .min(1)
        .max(22)
        .optional()
        .describe("Compression level: gzip 1-9, lz4 1-12, zstd 1-22; default: the method's."),
    })
    .describe("Compression of the dump."),
  [
    {
      rule:
        "!has(self.level) || (self.algorithm == 'gzip' && self.level <= 9) || " +
        "(self.algorithm == 'lz4' && self.level <= 12) || self.algorithm == 'zstd'",
      message: "level must be 1-9 for gzip, 1-12 for lz4, 1-22 for zstd, and unset for none",
      fieldPath: ".level",
      check: (c) => c.level === undefined || c.level <= (COMPRESSION_MAX_LEVEL[c.algorithm] ?? 0),
    },
  ],
);

const keep = (description: string) => z.int().min(0).max(1000).optional().describe(description);

export const BackupRetention = withRules(
  z
    .strictObject({
      keepLast: keep("Keep the newest N backups."),
      keepDaily: keep("Keep the newest backup of each of the last N days."),
      keepWeekly: keep("Keep the newest backup of each of the last N weeks."),
      keepMonthly: keep("Keep the newest backup of each of the last N months."),
      maxAge: age("Delete backups older than this unless a keep rule holds them.").optional(),
    })
    .describe(
      "Grandfather-father-son retention: a backup is kept when any rule keeps it. " +
        "The newest successful backup is never pruned.",
    ),
  [
    {
      rule:
        "(has(self.keepLast) && self.keepLast > 0) || (has(self.keepDaily) && self.keepDaily > 0) || " +
        "(has(self.keepWeekly) && self.keepWeekly > 0) || " +
        "(has(self.keepMonthly) && self.keepMonthly > 0) || has(self.maxAge)",
      message:
        "retention keeps nothing: set keepLast, keepDaily, keepWeekly, keepMonthly or maxAge",
      check: (r) =>
        [r.keepLast, r.keepDaily, r.keepWeekly, r.keepMonthly].some((n) => (n ?? 0) > 0) ||
        r.maxAge !== undefined,
    },
  ],
);
export type BackupRetention = z.infer<typeof BackupRetention>;

export const BackupVerify = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Verify backups by restoring them."),
    schedule: cron(
      "When to verify the newest successful backup, in spec.timeZone (e.g. monthly: " +
        "`0 3 1 * *`); each time a fresh restore, even of a backup verified before. " +
        "Default: right after every backup.",
    ).optional(),
    scratchDatabase: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[a-z_][a-z0-9_]*$/)
      .optional()
      .describe("Name of the scratch database restored into; default: pake_verify_<policy>."),
    connectionSecretRef: SecretReference.optional().describe(
      "Server to restore into; default: the backed-up server.",
    ),
    compareRowCounts: z
      .boolean()
      .default(true)
      .describe("Compare tables and row counts against the source catalogue."),
    timeout: duration("Longest a verification may take.").default("30m"),
  })
  .describe("Restore the newest backup into a scratch database and sanity-check it.");

/** The Incident policy of a BackupPolicy: HealthCheck's spec.incident without autoResolve. */
export const BackupIncident = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        "Open an Incident when a backup or verification fails (an open one is still " +
          "resolved by the next success).",
      ),
    severity: z
      .enum(INCIDENT_SEVERITIES)
      .default("high")
      .describe("Severity of the Incident opened."),
  })
  .describe(
    "Incident policy: one open Incident per policy (repeats raise its occurrences), " +
      "resolved by the next successful backup or verification.",
  );
export type BackupIncident = z.infer<typeof BackupIncident>;

export const BackupPolicySpec = withRules(
  z
    .strictObject({
      database: BackupDatabase,
      schedule: cron("When to back up."),
      timeZone: timeZone(),
      suspend: z
        .boolean()
        .default(false)
        .describe("Start no new scheduled backups or scheduled verifications."),
      format: z
        .enum(["custom", "plain", "directory"])
        .default("custom")
        .describe("pg_dump output format."),
      compression: BackupCompression.default({ algorithm: "gzip" }),
      storage: BackupStorage,
      retention: BackupRetention.default({ keepLast: 7 }),
      verify: BackupVerify.optional(),
      suppressIncidentsFor: z
        .array(objectName("HealthCheck name."))
        .max(32)
        .optional()
        .describe(
          "HealthChecks (same namespace) that open no Incidents while a backup or a verification " +
            "of this policy runs, at the latest until its start plus its timeout.",
        ),
      incident: BackupIncident.default({ enabled: true, severity: "high" }),
      timeout: duration("Longest a backup may take (the Job's activeDeadlineSeconds).").default(
        "1h",
      ),
      retries: z
        .int()
        .min(0)
        .max(10)
        .default(1)
        .describe("Retries of a failed backup (the Job's backoffLimit)."),
      startingDeadlineSeconds: z
        .int()
        .min(0)
        .max(2592000)
        .optional()
        .describe(
          "A missed backup may still start this many seconds after its scheduled time. " +
            "At least 10 (below that a backup may be missed).",
        ),
    })
    .describe("Desired state of a BackupPolicy."),
  [
    {
      rule: "duration(self.timeout) >= duration('1m')",
      message: "timeout must be at least 1m",
      fieldPath: ".timeout",
      check: (s) => parseDuration(s.timeout) >= 60_000,
    },
    {
      rule: "self.format != 'plain' || self.compression.algorithm in ['none', 'gzip']",
      message: "plain format supports only gzip compression or none",
      fieldPath: ".compression.algorithm",
      check: (s) => s.format !== "plain" || ["none", "gzip"].includes(s.compression.algorithm),
    },
    startingDeadlineRule(),
  ],
);
export type BackupPolicySpec = z.infer<typeof BackupPolicySpec>;
export type BackupPolicySpecInput = z.input<typeof BackupPolicySpec>;

// ---------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------

export const BackupRecord = z
  .strictObject({
    id: text(128, "Backup id (also the file name stem)."),
    job: objectName("Job that took the backup.").optional(),
    result: z.enum(["Running", "Succeeded", "Failed"]).optional().describe("Outcome."),
    databases: z.array(z.string().max(63)).max(64).optional().describe("Databases in the backup."),
    serverVersion: text(64, "PostgreSQL server version.").optional(),
    format: z.enum(["custom", "plain", "directory"]).optional().describe("pg_dump format."),
    startTime: timestamp("When the backup started.").optional(),
    endTime: timestamp("When the backup completed.").optional(),
    sizeBytes: z.int().min(0).optional().describe("Size in bytes."),
    size: text(32, "Size, human-readable (e.g. 1.2 GiB).").optional(),
    sha256: z
      .string()
      .length(64)
      .regex(/^[a-f0-9]{64}$/)
      .optional()
      .describe("SHA-256 of the backup file."),
    path: text(2048, "Path of the backup file on the storage.").optional(),
    message: text(4096, "Error or summary.").optional(),
  })
  .describe("One backup, as in its manifest.");
export type BackupRecord = z.infer<typeof BackupRecord>;

export const Verification = z
  .strictObject({
    backupId: text(128, "Backup verified."),
    job: objectName("Job that ran the verification.").optional(),
    time: timestamp("When the verification finished."),
    result: z.enum(["Passed", "Failed"]).describe("Outcome."),
    tables: z.int().min(0).optional().describe("Tables found in the restored database."),
    rows: z.int().min(0).optional().describe("Rows counted in the restored database."),
    message: text(4096, "Details, e.g. the first mismatch.").optional(),
  })
  .describe("Result of a verification restore.");
export type Verification = z.infer<typeof Verification>;

export const MAX_BACKUPS_IN_STATUS = 20;

/** Annotation whose new values each start one backup (like pake.dev/run-now on a MaintenanceTask). */
export const BACKUP_NOW_ANNOTATION = "pake.dev/backup-now";

/**
 * Condition types of a BackupPolicy besides the common ones (Ready,
 * SpecValid, Suspended, Progressing; see conditions.ts). Usable with
 * `kubectl wait --for=condition=BackupSucceeded`.
 */
export const BackupPolicyCondition = {
  /** The most recent backup succeeded (False: the reason says why it failed). */
  BackupSucceeded: "BackupSucceeded",
  /** The last verification restore passed. */
  Verified: "Verified",
} as const;

/** Condition reasons of a BackupPolicy (CamelCase, stable). */
export const BackupPolicyReason = {
  /** Ready=True: the policy has a schedule; the message names the next backup. */
  Scheduled: "Scheduled",
  /** Progressing=False: no backup is running. */
  Idle: "Idle",
  /** Progressing=True: a backup Job is running. */
  BackupRunning: "BackupRunning",
  /** BackupSucceeded=True. */
  Succeeded: "Succeeded",
  /** BackupSucceeded=False: the backup run failed, timed out or vanished; the message says why. */
  BackupFailed: "BackupFailed",
  /** Verified=True: the newest verified backup restored and matched its manifest. */
  VerificationPassed: "VerificationPassed",
  /** Verified=False: checksum, restore or row counts failed; the message names the first difference. */
  VerificationFailed: "VerificationFailed",
  /** Event (Warning): a verify.schedule slot came before any successful backup; no Job ran. */
  NothingToVerify: "NothingToVerify",
} as const;

export const BackupPolicyStatus = z
  .strictObject({
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    lastBackup: BackupRecord.optional().describe("The most recent backup attempt."),
    lastScheduleTime: timestamp("Scheduled time of the last backup.").optional(),
    lastSuccessfulTime: timestamp("When the last successful backup completed.").optional(),
    nextScheduleTime: timestamp("Next scheduled backup.").optional(),
    resolvedSchedule: text(
      256,
      "Cron expression in force (hashed-random macros resolved).",
    ).optional(),
    backups: z
      .array(BackupRecord)
      .max(MAX_BACKUPS_IN_STATUS)
      .optional()
      .describe(`Retained backups, newest first (at most ${MAX_BACKUPS_IN_STATUS}).`),
    lastVerification: Verification.optional(),
    lastVerifyScheduleTime: timestamp(
      "Scheduled time of the last verify.schedule slot.",
    ).optional(),
    nextVerifyTime: timestamp(
      "Next scheduled verification (with spec.verify.schedule).",
    ).optional(),
    active: z.array(ActiveRun).max(16).optional().describe("Backups whose Jobs have not finished."),
    verifying: z
      .array(ActiveRun)
      .max(16)
      .optional()
      .describe("Verifications whose Jobs have not finished."),
    lastRunNowToken: text(
      256,
      "Value of the pake.dev/backup-now annotation last acted on.",
    ).optional(),
    incidentRef: z
      .strictObject({ name: objectName("Name of the open Incident.") })
      .optional()
      .describe("The open Incident raised by this policy, if any."),
  })
  .describe("Observed state of a BackupPolicy.");
export type BackupPolicyStatus = z.infer<typeof BackupPolicyStatus>;

export const BackupPolicySchema = kubeObject("BackupPolicy", BackupPolicySpec, BackupPolicyStatus);
export type BackupPolicy = z.infer<typeof BackupPolicySchema>;

export const backupPolicyDescriptor: KindDescriptor<
  typeof BackupPolicySpec,
  typeof BackupPolicyStatus
> = {
  group: API_GROUP,
  version: API_VERSION,
  kind: "BackupPolicy",
  listKind: "BackupPolicyList",
  plural: "backuppolicies",
  singular: "backuppolicy",
  shortNames: ["bp"],
  categories: [CATEGORY],
  description:
    "BackupPolicy takes scheduled pg_dump backups of PostgreSQL databases to a volume, prunes " +
    "them by grandfather-father-son retention and verifies them by restoring into a scratch " +
    "database.",
  printerColumns: [
    {
      name: "Database",
      type: "string",
      jsonPath: ".spec.database.connectionSecretRef.name",
      description: "Connection Secret of the backed-up server.",
    },
    { name: "Schedule", type: "string", jsonPath: ".spec.schedule", description: "Cron schedule." },
    {
      name: "Last Backup",
      type: "date",
      jsonPath: ".status.lastSuccessfulTime",
      description: "When the last successful backup completed.",
    },
    {
      name: "Size",
      type: "string",
      jsonPath: ".status.lastBackup.size",
      description: "Size of the most recent backup.",
    },
    {
      name: "Verified",
      type: "string",
      jsonPath: ".status.lastVerification.result",
      description: "Result of the last verification.",
    },
    AGE_COLUMN,
    {
      name: "Next Backup",
      type: "string",
      jsonPath: ".status.nextScheduleTime",
      description: "Next scheduled backup.",
      priority: 1,
    },
    {
      name: "Next Verify",
      type: "string",
      jsonPath: ".status.nextVerifyTime",
      description: "Next scheduled verification (with spec.verify.schedule).",
      priority: 1,
    },
  ],
  spec: BackupPolicySpec,
  status: BackupPolicyStatus,
  rootRules: [],
  maxNameLength: MAX_NAME_FOR_JOBS,
};
