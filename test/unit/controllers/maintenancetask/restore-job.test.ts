// The databaseRestore pod: its BackupPolicy's claim mounted read-only at the
// backup root, where the runner finds <root><path>/<policy>/<id>/, the target
// credentials only through secretKeyRef, and a config the runner accepts.
import { describe, expect, it } from "vitest";
import { TASK_CONFIG_ENV, type Job } from "../../../../src/controllers/jobrun/index.ts";
import type { BackupStorage } from "../../../../src/controllers/maintenancetask/backup-ref.ts";
import { buildJob } from "../../../../src/controllers/maintenancetask/job-builder.ts";
import { statusMutator } from "../../../../src/controllers/maintenancetask/status.ts";
import { buildBackupJob } from "../../../../src/controllers/backuppolicy/job-builder.ts";
import { BackupPolicySpec } from "../../../../src/crds/backuppolicy.ts";
import {
  MaintenanceTaskSpec,
  type MaintenanceTaskSpecInput,
  type MaintenanceTaskStatus,
} from "../../../../src/crds/maintenancetask.ts";
import { DatabaseRestoreConfig } from "../../../../src/tasks/backup/restore.ts";
import { BACKUP_ROOT } from "../../../../src/tasks/backup/manifest.ts";

const IMAGE = "ghcr.io/pake/pake-operator:0.1.0";
const STORAGE: BackupStorage = { policy: "nightly", claimName: "pg-backups", path: "/postgres" };

const restoreTask = (
  extra: Partial<NonNullable<MaintenanceTaskSpecInput["task"]["databaseRestore"]>> = {},
): MaintenanceTaskSpecInput["task"] => ({
  databaseRestore: {
    backupPolicyRef: { name: "nightly" },
    target: { connectionSecretRef: { name: "pg-target" }, database: "shop_restored" },
    ...extra,
  },
});

function build(task: MaintenanceTaskSpecInput["task"], storage?: BackupStorage): Job {
  const spec = MaintenanceTaskSpec.parse({ task });
  return buildJob(
    { name: "restore", namespace: "ops", uid: "uid-1", spec, backupStorage: storage },
    { job: "restore-once", trigger: "Once" },
    IMAGE,
  );
}

const container = (job: Job) => job.spec.template.spec.containers[0]!;
const configOf = (job: Job): Record<string, unknown> =>
  JSON.parse(container(job).env.find((e) => e.name === TASK_CONFIG_ENV)!.value!) as Record<
    string,
    unknown
  >;

describe("Given a databaseRestore task whose BackupPolicy stores on claim pg-backups under /postgres", () => {
  const job = build(restoreTask({ backupId: "20261201T010000Z" }), STORAGE);

  it("Then the runner image runs `pake-operator run databaseRestore`", () => {
    expect(container(job).image).toBe(IMAGE);
    expect(container(job).args).toEqual(["run", "databaseRestore"]);
  });

  it("Then the policy's claim is mounted read-only at the backup root the BackupPolicy Jobs use", () => {
    // Where the policy's own backup Jobs write is where the restore reads.
    const backupJob = buildBackupJob(
      {
        namespace: "db",
        name: "nightly",
        uid: "u-1",
        spec: BackupPolicySpec.parse({
          database: { connectionSecretRef: { name: "pg" } },
          schedule: "0 1 * * *",
          storage: { persistentVolumeClaim: { claimName: "pg-backups" }, path: "/postgres" },
        }),
      },
      { job: "nightly-now-1", trigger: "RunNow", token: "1" },
      { image: IMAGE, now: new Date("2026-12-01T01:00:00Z") },
    );
    const written = backupJob.spec.template.spec.containers[0]!.volumeMounts.find(
      (m) => m.name !== "tmp",
    );
    expect(written?.mountPath).toBe(BACKUP_ROOT);
    const volume = job.spec.template.spec.volumes.find(
      (v) => v.persistentVolumeClaim?.claimName === "pg-backups",
    );
    expect(volume?.persistentVolumeClaim).toEqual({ claimName: "pg-backups", readOnly: true });
    expect(container(job).volumeMounts).toContainEqual({
      name: volume!.name,
      mountPath: BACKUP_ROOT,
      readOnly: true,
    });
  });

  it("Then the config carries root, the policy's path and its name, the backup id and the target database", () => {
    expect(configOf(job)).toEqual({
      backupPolicyRef: { name: "nightly" },
      backupId: "20261201T010000Z",
      target: { database: "shop_restored" },
      dropExisting: false,
      restoreGlobals: false,
      root: BACKUP_ROOT,
      path: "/postgres",
    });
  });

  it("Then the runner's schema accepts the config as it is", () => {
    const parsed = DatabaseRestoreConfig.parse(configOf(job));
    expect(parsed).toMatchObject({
      root: BACKUP_ROOT,
      path: "/postgres",
      backupPolicyRef: { name: "nightly" },
      target: { database: "shop_restored" },
    });
  });

  it("Then the target credentials come only through secretKeyRef, never in the config or the args", () => {
    const env = container(job).env;
    const uri = env.find((e) => e.name === "PAKE_DATABASE_URL");
    expect(uri?.valueFrom?.secretKeyRef).toMatchObject({ name: "pg-target" });
    expect(uri?.value).toBeUndefined();
    // Nothing but the config carries a literal value.
    const literal = env.filter((e) => e.value !== undefined).map((e) => e.name);
    expect(literal).toEqual([TASK_CONFIG_ENV]);
    const config = JSON.stringify(configOf(job));
    expect(config).not.toContain("pg-target");
    expect(config).not.toContain("connectionSecretRef");
    expect(JSON.stringify(container(job).args)).not.toContain("pg-target");
  });
});

describe("Given a databaseRestore task with dropExisting and restoreGlobals", () => {
  it("Then both reach the runner", () => {
    const job = build(restoreTask({ dropExisting: true, restoreGlobals: true }), STORAGE);
    expect(configOf(job)).toMatchObject({ dropExisting: true, restoreGlobals: true });
    expect(DatabaseRestoreConfig.parse(configOf(job))).toMatchObject({
      dropExisting: true,
      restoreGlobals: true,
    });
  });
});

describe("Given a databaseRestore task naming sourceDatabase", () => {
  it("Then the runner gets it as `database`, the one of a multi-database backup it restores", () => {
    const job = build(restoreTask({ sourceDatabase: "billing" }), STORAGE);
    expect(configOf(job)).toMatchObject({ database: "billing" });
    expect(configOf(job)).not.toHaveProperty("sourceDatabase");
    expect(DatabaseRestoreConfig.parse(configOf(job)).database).toBe("billing");
  });

  it("When it is not set, then the runner gets no `database` (a one-database backup needs none)", () => {
    expect(configOf(build(restoreTask(), STORAGE))).not.toHaveProperty("database");
  });
});

describe("Given a databaseRestore task without its BackupPolicy's storage", () => {
  it("Then no Job is built (the reconcile must read the policy first)", () => {
    expect(() => build(restoreTask())).toThrow(/BackupPolicy/);
  });
});

describe("Given a databaseRestore task held back because its BackupPolicy is missing", () => {
  const spec = MaintenanceTaskSpec.parse({ task: restoreTask() });
  const blocked = {
    reason: "ReferenceNotFound",
    message:
      "spec.task.databaseRestore.backupPolicyRef: BackupPolicy nightly not found in namespace ops",
  };
  const now = new Date("2026-12-01T04:00:00Z");

  function statusWith(held: typeof blocked | undefined): MaintenanceTaskStatus {
    const status: MaintenanceTaskStatus = {};
    statusMutator({
      spec,
      plan: { start: [], stop: [], events: [] },
      records: [],
      active: [],
      existing: new Set(),
      now,
      blocked: held,
    })(status, { metadata: { generation: 3 } });
    return status;
  }

  it("Then Ready=False carries the reason and the message naming the field, and nothing is marked as run", () => {
    const status = statusWith(blocked);
    expect(status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      ...blocked,
    });
    expect(status.lastScheduleTime).toBeUndefined();
    expect(status.lastRun).toBeUndefined();
  });

  it("When the policy is there again, then Ready is True (the task waits to run once)", () => {
    expect(statusWith(undefined).conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "Pending",
    });
  });
});
