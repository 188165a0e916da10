// Pure parts of the BackupPolicy controller: a backup run's result → the
// backup it took and the ids it pruned; status.backups merging; the status
// mutator's conditions; the Job of a backup run.
import { describe, expect, it } from "vitest";
import {
  backupIdOfRun,
  backupRunOf,
  failedBackup,
  humanSize,
  mergeBackups,
} from "../../../../src/controllers/backuppolicy/backups.ts";
import {
  POLICY_LABEL,
  buildBackupJob,
} from "../../../../src/controllers/backuppolicy/job-builder.ts";
import { BACKUP_ROOT } from "../../../../src/tasks/backup/manifest.ts";
import { statusMutator, type Status } from "../../../../src/controllers/backuppolicy/status.ts";
import type { RunRecord } from "../../../../src/controllers/jobrun/index.ts";
import { BackupPolicySpec, type BackupRecord } from "../../../../src/crds/backuppolicy.ts";

const SHA = "a".repeat(64);
const spec = BackupPolicySpec.parse({
  database: { connectionSecretRef: { name: "pg" }, databases: ["app"] },
  schedule: "0 1 * * *",
  timeZone: "Europe/Berlin",
  storage: { persistentVolumeClaim: { claimName: "backups" }, path: "/postgres" },
  retention: { keepLast: 3 },
});
const record = (over: Partial<RunRecord> = {}): RunRecord => ({
  job: "nightly-29412345",
  result: "Succeeded",
  startTime: "2026-12-01T01:00:01Z",
  endTime: "2026-12-01T01:00:09Z",
  ...over,
});
const backup = (id: string, over: Partial<BackupRecord> = {}): BackupRecord => ({
  id,
  result: "Succeeded",
  ...over,
});

describe("Given a backup run's result", () => {
  it("When it succeeded, then the backup and the pruned ids are read from its data", () => {
    const run = backupRunOf(record(), {
      result: "Succeeded",
      data: {
        backup: {
          id: "20261201T010000Z",
          startTime: "2026-12-01T01:00:02Z",
          endTime: "2026-12-01T01:00:08Z",
          bytes: 1536,
          sha256: SHA,
          databases: ["app"],
          serverVersion: "15.18",
          format: "custom",
        },
        pruned: ["20261128T010000Z"],
      },
    });
    expect(run).toEqual({
      backup: {
        id: "20261201T010000Z",
        job: "nightly-29412345",
        result: "Succeeded",
        startTime: "2026-12-01T01:00:02Z",
        endTime: "2026-12-01T01:00:08Z",
        sizeBytes: 1536,
        size: "1.5 KiB",
        sha256: SHA,
        databases: ["app"],
        serverVersion: "15.18",
        format: "custom",
      },
      pruned: ["20261128T010000Z"],
    });
  });

  it.each([
    ["the run failed", record({ result: "Failed" }), { data: { backup: { id: "x" } } }],
    ["no result was written", record(), undefined],
    ["the backup has no id", record(), { data: { backup: { bytes: 1 } } }],
  ])("When %s, then no backup is read", (_what, rec, runner) => {
    expect(backupRunOf(rec, runner).backup).toBeUndefined();
  });

  it("When the checksum is not a SHA-256, then it is left out rather than written", () => {
    const run = backupRunOf(record(), {
      data: { backup: { id: "20261201T010000Z", sha256: "zz" } },
    });
    expect(run.backup?.sha256).toBeUndefined();
  });

  it("When it failed, then the attempt carries the run's summary", () => {
    expect(
      failedBackup(record({ result: "Failed", summary: "pg_dump: connection refused" })),
    ).toEqual({
      id: "nightly-29412345",
      job: "nightly-29412345",
      result: "Failed",
      startTime: "2026-12-01T01:00:01Z",
      endTime: "2026-12-01T01:00:09Z",
      message: "pg_dump: connection refused",
    });
  });
});

describe("Given sizes in bytes", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [5 * 1024 ** 3, "5.0 GiB"],
  ])("When it is %d, then people read %s", (bytes, text) => {
    expect(humanSize(bytes)).toBe(text);
  });
});

describe("Given the retained backups in status", () => {
  it("When a run adds one and prunes two, then the list is newest first without the pruned", () => {
    const current = [
      backup("20261130T010000Z"),
      backup("20261129T010000Z"),
      backup("20261128T010000Z"),
    ];
    const merged = mergeBackups(current, {
      backup: backup("20261201T010000Z"),
      pruned: ["20261128T010000Z", "20261129T010000Z"],
    });
    expect(merged.map((b) => b.id)).toEqual(["20261201T010000Z", "20261130T010000Z"]);
  });

  it("When the same backup is reported twice (a re-read Job), then it is listed once", () => {
    const once = mergeBackups([], { backup: backup("20261201T010000Z"), pruned: [] });
    expect(mergeBackups(once, { backup: backup("20261201T010000Z"), pruned: [] })).toHaveLength(1);
  });

  it("When more than 20 are retained, then status lists the newest 20", () => {
    const many = Array.from({ length: 25 }, (_, i) =>
      backup(`202611${String(i + 1).padStart(2, "0")}T010000Z`),
    );
    const merged = mergeBackups(many, { pruned: [] });
    expect(merged).toHaveLength(20);
    expect(merged[0]?.id).toBe("20261125T010000Z");
  });
});

describe("Given a run to start", () => {
  it("When it is a scheduled slot, then its backup id is the slot; on demand, the planning time", () => {
    const now = new Date("2026-12-01T09:30:15.250Z");
    expect(
      backupIdOfRun({ job: "j", trigger: "Schedule", slot: new Date("2026-12-01T00:00:00Z") }, now),
    ).toBe("20261201T000000Z");
    expect(backupIdOfRun({ job: "j", trigger: "RunNow", token: "1" }, now)).toBe(
      "20261201T093015Z",
    );
  });

  it("Then its Job runs `run backup` as a restricted pod with the claim mounted and credentials only from the Secret", () => {
    const job = buildBackupJob(
      { namespace: "db", name: "nightly", uid: "u-1", spec },
      { job: "nightly-now-abc", trigger: "RunNow", token: "1" },
      { image: "pake:test", now: new Date("2026-12-01T09:30:15Z") },
    );
    const pod = job.spec.template.spec;
    const container = pod.containers[0]!;
    expect(container.args).toEqual(["run", "backup"]);
    expect(job.metadata.labels?.[POLICY_LABEL]).toBe("nightly");
    expect(job.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "BackupPolicy",
      uid: "u-1",
      controller: true,
    });
    expect(job.spec.activeDeadlineSeconds).toBe(3600);
    expect(job.spec.backoffLimit).toBe(1);
    expect(pod.volumes).toContainEqual({
      name: "backup-storage",
      persistentVolumeClaim: { claimName: "backups" },
    });
    expect(container.volumeMounts).toContainEqual({
      name: "backup-storage",
      mountPath: BACKUP_ROOT,
    });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
    const config = JSON.parse(
      container.env.find((e) => e.name === "PAKE_TASK_CONFIG")!.value!,
    ) as Record<string, unknown>;
    expect(config).toMatchObject({
      policy: { namespace: "db", name: "nightly" },
      id: "20261201T093015Z",
      root: BACKUP_ROOT,
      path: "/postgres",
      databases: ["app"],
      format: "custom",
      timeZone: "Europe/Berlin",
      retention: { keepLast: 3 },
    });
    const password = container.env.find((e) => e.name === "PGPASSWORD");
    expect(password).toEqual({
      name: "PGPASSWORD",
      valueFrom: { secretKeyRef: { name: "pg", key: "password", optional: true } },
    });
    expect(
      container.env.every((e) => e.value === undefined || !e.value.includes("password=")),
    ).toBe(true);
  });
});

describe("Given the status of a policy", () => {
  const plan = {
    start: [],
    stop: [],
    events: [],
    resolved: "0 1 * * *",
    next: new Date("2026-12-02T00:00:00Z"),
  };
  const now = new Date("2026-12-01T09:00:00Z");
  const obj = { metadata: { generation: 2 } };

  it("When a backup succeeded, then lastBackup, backups, lastSuccessfulTime and BackupSucceeded=True are set", () => {
    const status: Status = {};
    const ok = backup("20261201T010000Z", {
      job: "j1",
      startTime: "2026-12-01T01:00:02Z",
      endTime: "2026-12-01T01:00:08Z",
      size: "1.5 KiB",
    });
    statusMutator({
      spec,
      plan,
      finished: [{ attempt: ok, run: { backup: ok, pruned: [] } }],
      active: [],
      verifying: [],
      verifications: [],
      now,
    })(status, obj);
    expect(status.lastBackup).toEqual(ok);
    expect(status.backups).toEqual([ok]);
    expect(status.lastSuccessfulTime).toBe("2026-12-01T01:00:08Z");
    expect(status.nextScheduleTime).toBe("2026-12-02T00:00:00Z");
    expect(status.observedGeneration).toBe(2);
    const cond = (type: string) => status.conditions?.find((c) => c.type === type);
    expect(cond("BackupSucceeded")).toMatchObject({
      status: "True",
      reason: "Succeeded",
      message: "backup 20261201T010000Z: 1.5 KiB",
    });
    expect(cond("Progressing")).toMatchObject({ status: "False", reason: "Idle" });
    expect(cond("Ready")).toMatchObject({ status: "True", reason: "Scheduled" });
  });

  it("When the next backup fails, then BackupSucceeded=False says why and the retained backups stay", () => {
    const ok = backup("20261201T010000Z", {
      job: "j1",
      startTime: "2026-12-01T01:00:02Z",
      endTime: "2026-12-01T01:00:08Z",
    });
    const status: Status = {
      lastBackup: ok,
      backups: [ok],
      lastSuccessfulTime: "2026-12-01T01:00:08Z",
    };
    const bad = failedBackup(
      record({
        job: "j2",
        result: "Failed",
        startTime: "2026-12-02T01:00:01Z",
        summary: "no space left on device",
      }),
    );
    statusMutator({
      spec,
      plan,
      finished: [{ attempt: bad, run: { pruned: [] } }],
      active: [],
      verifying: [],
      verifications: [],
      now,
    })(status, obj);
    expect(status.lastBackup?.job).toBe("j2");
    expect(status.backups).toEqual([ok]);
    expect(status.lastSuccessfulTime).toBe("2026-12-01T01:00:08Z");
    expect(status.conditions?.find((c) => c.type === "BackupSucceeded")).toMatchObject({
      status: "False",
      reason: "BackupFailed",
      message: "j2: no space left on device",
    });
  });

  it("When an older attempt is read again, then it does not replace a newer lastBackup", () => {
    const newer = backup("20261202T010000Z", { job: "j2", startTime: "2026-12-02T01:00:02Z" });
    const status: Status = { lastBackup: newer };
    const old = failedBackup(
      record({ job: "j1", result: "Failed", startTime: "2026-12-01T01:00:01Z" }),
    );
    statusMutator({
      spec,
      plan,
      finished: [{ attempt: old, run: { pruned: [] } }],
      active: [],
      verifying: [],
      verifications: [],
      now,
    })(status, obj);
    expect(status.lastBackup).toEqual(newer);
  });

  it("When a backup and a verification are running, then Progressing=True names the backup's Job and status lists them as active and verifying", () => {
    const status: Status = {};
    const active = [
      { job: "nightly-now-abc", startTime: "2026-12-01T09:00:00Z", trigger: "RunNow" as const },
    ];
    const verifying = [{ job: "nightly-verify-1", startTime: "2026-12-01T09:00:05Z" }];
    statusMutator({ spec, plan, finished: [], active, verifying, verifications: [], now })(
      status,
      obj,
    );
    expect(status.active).toEqual(active);
    expect(status.verifying).toEqual(verifying);
    expect(status.conditions?.find((c) => c.type === "Progressing")).toMatchObject({
      status: "True",
      reason: "BackupRunning",
      message: "running: nightly-now-abc",
    });
    expect(status.conditions?.some((c) => c.type === "BackupSucceeded")).toBe(false);
  });
});
