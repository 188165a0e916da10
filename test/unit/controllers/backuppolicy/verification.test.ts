// Verification runs of a BackupPolicy: which backup to verify, the verify
// Job, the verification a finished run reports, and the spec check of
// verify.schedule.
import { describe, expect, it } from "vitest";
import {
  VERIFY_LABEL,
  backupToVerify,
  buildVerifyJob,
  verificationOf,
  verifiesAfterBackup,
  verifyJobName,
} from "../../../../src/controllers/backuppolicy/verification.ts";
import { BACKUP_ROOT } from "../../../../src/tasks/backup/manifest.ts";
import { validateBackupPolicy } from "../../../../src/controllers/backuppolicy/validate.ts";
import type { RunRecord } from "../../../../src/controllers/jobrun/index.ts";
import { BackupPolicySpec, type BackupPolicy } from "../../../../src/crds/backuppolicy.ts";

const base = {
  database: { connectionSecretRef: { name: "pg" } },
  schedule: "0 1 * * *",
  storage: { persistentVolumeClaim: { claimName: "backups" }, path: "/postgres" },
};
const withVerify = (verify: Record<string, unknown> | undefined) =>
  BackupPolicySpec.parse({ ...base, ...(verify ? { verify } : {}) });
const record = (over: Partial<RunRecord> = {}): RunRecord => ({
  job: "nightly-verify-1",
  result: "Succeeded",
  endTime: "2026-12-01T01:05:00Z",
  ...over,
});

describe("Given a policy's verify settings", () => {
  it.each([
    ["no verify section", undefined, false],
    ["verify enabled", { enabled: true }, true],
    ["verify disabled", { enabled: false }, false],
  ])("When it has %s, then verifying after each backup is %s", (_what, verify, expected) => {
    expect(verifiesAfterBackup(withVerify(verify))).toBe(expected);
  });

  it.each([
    ["monthly", "0 3 1 * *"],
    ["a hashed-random macro", "@monthly-random"],
  ])("When verify.schedule is %s, then the spec is valid", (_what, schedule) => {
    const policy = {
      metadata: { name: "p", namespace: "ns" },
      spec: { ...base, verify: { enabled: true, schedule } },
    } as unknown as BackupPolicy;
    expect(validateBackupPolicy(policy)).toEqual([]);
    // Verifying on a schedule means not verifying after every backup.
    expect(verifiesAfterBackup(withVerify({ enabled: true, schedule }))).toBe(false);
  });

  it("When verify.schedule cannot be resolved, then the spec check names the field", () => {
    const policy = {
      metadata: { name: "p", namespace: "ns" },
      spec: { ...base, verify: { enabled: true, schedule: "0 25 1 * *" } },
    } as unknown as BackupPolicy;
    const problems = validateBackupPolicy(policy);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.field).toBe("spec.verify.schedule");
  });
});

describe("Given the retained backups", () => {
  it.each([
    ["none", undefined, undefined],
    ["an empty list", { backups: [] }, undefined],
    ["two backups, newest first", { backups: [{ id: "b2" }, { id: "b1" }] }, "b2"],
  ])("When status holds %s, then the backup to verify is %s", (_what, status, expected) => {
    expect(backupToVerify(status)).toBe(expected);
  });
});

describe("Given a backup to verify", () => {
  const spec = withVerify({ enabled: true, connectionSecretRef: { name: "scratch-server" } });
  const job = buildVerifyJob(
    { namespace: "db", name: "nightly", uid: "u-1", spec },
    "20261201T010000Z",
    "pake:test",
  );
  const container = job.spec.template.spec.containers[0]!;

  it("Then one deterministic Job name per backup id, and different ids get different Jobs", () => {
    expect(job.metadata.name).toBe(verifyJobName("nightly", "20261201T010000Z"));
    expect(verifyJobName("nightly", "20261201T010000Z")).toBe(
      verifyJobName("nightly", "20261201T010000Z"),
    );
    expect(verifyJobName("nightly", "20261202T010000Z")).not.toBe(job.metadata.name);
    expect(job.metadata.name).toMatch(/^nightly-verify-[0-9a-f]{10}$/);
  });

  it("Then its pod runs backupVerify with the storage read-only, the restore server from its Secret, and no retry", () => {
    expect(container.args).toEqual(["run", "backupVerify"]);
    expect(job.metadata.labels?.[VERIFY_LABEL]).toBe("nightly");
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.activeDeadlineSeconds).toBe(1800);
    expect(container.volumeMounts).toContainEqual({
      name: "backup-storage",
      mountPath: BACKUP_ROOT,
      readOnly: true,
    });
    expect(job.spec.template.spec.volumes).toContainEqual({
      name: "backup-storage",
      persistentVolumeClaim: { claimName: "backups", readOnly: true },
    });
    const url = container.env.find((e) => e.name === "PAKE_DATABASE_URL");
    expect(url?.valueFrom?.secretKeyRef?.name).toBe("scratch-server");
    const config = JSON.parse(
      container.env.find((e) => e.name === "PAKE_TASK_CONFIG")!.value!,
    ) as Record<string, unknown>;
    expect(config).toEqual({
      policy: { namespace: "db", name: "nightly" },
      root: BACKUP_ROOT,
      path: "/postgres",
      backupId: "20261201T010000Z",
      compareRowCounts: true,
    });
  });
});

describe("Given a finished verify run", () => {
  it.each([
    [
      "it passed",
      record(),
      {
        data: {
          backupId: "b1",
          result: "Passed",
          tables: 3,
          rows: 500,
          message: "3 tables, 500 rows match",
        },
      },
      {
        backupId: "b1",
        job: "nightly-verify-1",
        time: "2026-12-01T01:05:00Z",
        result: "Passed",
        tables: 3,
        rows: 500,
        message: "3 tables, 500 rows match",
      },
    ],
    [
      "the counts differed (the run failed)",
      record({ result: "Failed", summary: "failed" }),
      {
        data: {
          backupId: "b1",
          result: "Failed",
          tables: 3,
          rows: 499,
          message: "public.orders: 499 rows, manifest 500",
        },
      },
      {
        backupId: "b1",
        job: "nightly-verify-1",
        time: "2026-12-01T01:05:00Z",
        result: "Failed",
        tables: 3,
        rows: 499,
        message: "public.orders: 499 rows, manifest 500",
      },
    ],
    [
      "the runner said Passed but the Job failed",
      record({ result: "Failed", summary: "DeadlineExceeded" }),
      { data: { backupId: "b1", result: "Passed" } },
      {
        backupId: "b1",
        job: "nightly-verify-1",
        time: "2026-12-01T01:05:00Z",
        result: "Failed",
        message: "DeadlineExceeded",
      },
    ],
  ])("When %s, then the verification is read as such", (_what, rec, runner, expected) => {
    expect(verificationOf(rec, runner)).toEqual(expected);
  });

  it("When the run left no backup id (it died first), then there is no verification to record", () => {
    expect(verificationOf(record({ result: "Failed" }), undefined)).toBeUndefined();
  });
});
