// BackupPolicy end to end with the real operator process: pake.dev/backup-now
// → Job (real Job controller) → pod runner (plays the kubelet: runs
// `pake-operator run backup` locally, the claim mapped to a directory) →
// real pg_dump against the real PostgreSQL → manifest on the volume →
// termination message → status. Also: one backup per token, retention
// prunes on the volume and in status, a wrong password fails the backup with
// BackupSucceeded=False and keeps what was retained; spec.incident's severity
// reaches the Incident and enabled=false opens none; verify.schedule verifies
// on its slots (a Schedule Job), not after each backup.
import { existsSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BackupPolicyStatus } from "../../src/crds/backuppolicy.ts";
import { JobKind } from "../../src/lib/kinds.ts";
import type { KubeObject } from "../../src/runtime/kube.ts";
import { useSharedEnv, waitFor } from "../env/index.ts";
import { useBackupPolicyFixture } from "./support/backuppolicy.ts";

const env = useSharedEnv();
const bp = useBackupPolicyFixture(env, {
  prefix: "bp-e2e",
  ordersDatabase: true,
  beforeOperator: (fx) => fx.secret("pg-wrong", fx.uriFor(fx.database, "not-the-password")),
});
const { sql, applyPolicy: apply, statusOf, backupNow, nextAttempt, jobsOf } = bp;

function sha256Of(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

const spec = (secretName: string, keepLast: number) => ({
  database: { connectionSecretRef: { name: secretName } },
  schedule: "0 1 * * *",
  storage: { persistentVolumeClaim: { claimName: "backups" }, path: "/postgres" },
  retention: { keepLast },
});

describe("Given a BackupPolicy on the real PostgreSQL", () => {
  const seen = new Set<string>();

  it("When pake.dev/backup-now is set, then one backup is taken, verified by its checksums on the volume, and kubectl wait sees BackupSucceeded", async () => {
    await apply("nightly", spec("pg", 2), "first");
    const waited = await bp.waitForCondition("nightly", "BackupSucceeded");
    expect(waited.stderr).toBe("");
    expect(waited.code).toBe(0);
    const status = await nextAttempt("nightly", seen);
    const backup = status.lastBackup!;
    expect(backup.result).toBe("Succeeded");
    expect(backup.sha256).toMatch(/^[a-f0-9]{64}$/);
    expect(backup.sizeBytes).toBeGreaterThan(0);
    expect(backup.databases).toEqual([bp.database]);
    expect(status.backups?.map((b) => b.id)).toEqual([backup.id]);
    expect(status.lastRunNowToken).toBe("first");
    // The manifest on the volume is the one status names, and its files are intact.
    const dir = join(bp.volume, "postgres", "nightly", backup.id);
    expect(sha256Of(join(dir, "manifest.json"))).toBe(backup.sha256);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as {
      files: { path: string; sha256: string }[];
      databases: { name: string; tables: { name: string; rows: number }[] }[];
    };
    for (const f of manifest.files) expect(sha256Of(join(dir, f.path))).toBe(f.sha256);
    expect(manifest.databases[0]?.tables).toContainEqual(
      expect.objectContaining({ name: "orders", rows: 500 }),
    );
    // kubectl get shows the size column.
    const table = await env.kubectl("get", "backuppolicy", "nightly", "-n", bp.ns);
    expect(table.stdout).toContain(backup.size!);
  });

  it("When the same token is set again, then no second backup starts; a new token takes one, and keepLast prunes on the volume and in status", async () => {
    await backupNow("nightly", "first");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await jobsOf("nightly")).toHaveLength(1);

    const ids: string[] = [(await statusOf("nightly")).lastBackup!.id];
    for (const token of ["second", "third"]) {
      // Backup ids have one-second precision: leave a second between them.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await backupNow("nightly", token);
      const status = await nextAttempt("nightly", seen);
      expect(status.lastBackup?.result).toBe("Succeeded");
      ids.push(status.lastBackup!.id);
    }
    const status = await statusOf("nightly");
    // keepLast 2: the first backup is gone from status and from the volume.
    expect(status.backups?.map((b) => b.id)).toEqual([ids[2], ids[1]]);
    expect(existsSync(join(bp.volume, "postgres", "nightly", ids[0]!))).toBe(false);
    expect(existsSync(join(bp.volume, "postgres", "nightly", ids[2]!, "manifest.json"))).toBe(true);
  });

  it("When the Secret's password is wrong, then the backup fails with BackupSucceeded=False and the retained backups stay", async () => {
    const before = await statusOf("nightly");
    await apply("nightly", spec("pg-wrong", 2), "wrong-password");
    const status = await nextAttempt("nightly", seen);
    expect(status.lastBackup?.result).toBe("Failed");
    expect(status.lastBackup?.message).toMatch(/password authentication failed/);
    expect(status.lastBackup?.message).not.toContain("not-the-password");
    const cond = status.conditions?.find((c) => c.type === "BackupSucceeded");
    expect(cond).toMatchObject({ status: "False", reason: "BackupFailed" });
    expect(status.backups).toEqual(before.backups);
    expect(status.lastSuccessfulTime).toBe(before.lastSuccessfulTime);
  });
});

interface IncidentView extends KubeObject {
  spec?: { severity?: string; resolved?: boolean; title?: string; source?: { kind?: string } };
  status?: { occurrences?: number };
}

async function incidentsOf(name: string): Promise<IncidentView[]> {
  const r = await env.kubectl("get", "incidents", "-n", bp.ns, "-o", "json");
  const items = (JSON.parse(r.stdout) as { items: IncidentView[] }).items;
  return items.filter((i) => i.metadata.labels?.["pake.dev/source-name"] === name);
}

describe("Given a BackupPolicy whose backup failed", () => {
  it("Then one Incident (severity high) is open for it, and the next successful backup resolves it", async () => {
    await waitFor(async () => (await incidentsOf("nightly")).length === 1, {
      what: "an Incident for the failed backup",
      timeoutMs: 20_000,
    });
    const [open] = await incidentsOf("nightly");
    expect(open?.spec).toMatchObject({ severity: "high", resolved: false });
    expect(open?.spec?.source?.kind).toBe("BackupPolicy");
    expect(open?.spec?.title).toContain("nightly");

    await apply("nightly", spec("pg", 2), "recovered");
    await waitFor(
      async () => (await incidentsOf("nightly")).every((i) => i.spec?.resolved === true),
      { what: "the Incident resolved by the next successful backup", timeoutMs: 90_000 },
    );
    expect(await incidentsOf("nightly")).toHaveLength(1);
    expect((await statusOf("nightly")).lastBackup?.result).toBe("Succeeded");
  });
});

describe("Given a BackupPolicy that verifies its backups", () => {
  it("When a backup is taken, then a verify Job restores it into a scratch database, the row counts match, Verified=True, and the scratch database is gone", async () => {
    await apply("verified", { ...spec("pg", 3), verify: { enabled: true } }, "v1");
    const waited = await bp.waitForCondition("verified", "Verified", "120s");
    expect(waited.stderr).toBe("");
    const status = await statusOf("verified");
    const backupId = status.backups?.[0]?.id;
    expect(backupId).toBeDefined();
    expect(status.lastVerification).toMatchObject({ backupId, result: "Passed", rows: 500 });
    expect(status.conditions?.find((c) => c.type === "Verified")).toMatchObject({
      status: "True",
      reason: "VerificationPassed",
    });
    const scratch = await sql(
      env.postgres.database,
      "SELECT datname FROM pg_database WHERE datname LIKE 'pake_verify%'",
    );
    expect(scratch.rows).toEqual([]);
    // One verify Job for that backup, and no second one on later reconciles.
    const verifyJobs = await bp.client.list(JobKind, {
      namespace: bp.ns,
      labelSelector: "pake.dev/backuppolicy-verify=verified",
    });
    expect(verifyJobs.items).toHaveLength(1);
    const table = await env.kubectl("get", "backuppolicy", "verified", "-n", bp.ns);
    expect(table.stdout).toContain("Passed");
  });
});

describe("Given a BackupPolicy whose Secret or claim does not exist", () => {
  it.each([
    [
      "its connection Secret",
      { ...spec("absent", 2) },
      "spec.database.connectionSecretRef: Secret absent not found",
    ],
    [
      "its storage claim",
      {
        ...spec("pg", 2),
        storage: { persistentVolumeClaim: { claimName: "nowhere" }, path: "/postgres" },
      },
      "spec.storage.persistentVolumeClaim.claimName: PersistentVolumeClaim nowhere not found",
    ],
  ])(
    "When it lacks %s, then Ready=False names the field, one Warning Event, and no Job starts",
    async (_what, policySpec, message) => {
      const name = `unready-${message.startsWith("spec.database") ? "secret" : "claim"}`;
      await apply(name, policySpec, "now");
      let status: BackupPolicyStatus = {};
      await waitFor(
        async () => {
          status = await statusOf(name);
          return (
            status.conditions?.some((c) => c.type === "Ready" && c.status === "False") ?? false
          );
        },
        { what: `Ready=False on ${name}`, timeoutMs: 20_000 },
      );
      const ready = status.conditions?.find((c) => c.type === "Ready");
      expect(ready?.reason).toBe("ReferenceNotFound");
      expect(ready?.message).toContain(message);
      // The token is not used up: the backup runs once the reference exists.
      expect(status.lastRunNowToken).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await jobsOf(name)).toHaveLength(0);
      const warnings = await bp.eventsOf(name, "ReferenceNotFound");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.count ?? 1).toBe(1);
    },
  );
});

/** Waits until the policy's lastBackup is a finished attempt (none running). */
async function firstAttempt(name: string): Promise<BackupPolicyStatus> {
  return nextAttempt(name, new Set());
}

describe("Given BackupPolicies with their own spec.incident", () => {
  it("When the backup of a policy with severity critical fails, then its Incident is critical", async () => {
    await apply(
      "critical",
      { ...spec("pg-wrong", 2), incident: { severity: "critical" } },
      "fail-critical",
    );
    expect((await firstAttempt("critical")).lastBackup?.result).toBe("Failed");
    await waitFor(async () => (await incidentsOf("critical")).length === 1, {
      what: "an Incident for the failed backup of critical",
      timeoutMs: 20_000,
    });
    const [open] = await incidentsOf("critical");
    expect(open?.spec).toMatchObject({ severity: "critical", resolved: false });
  });

  it("When the backup of a policy with incident.enabled false fails, then no Incident is opened", async () => {
    await apply("quiet", { ...spec("pg-wrong", 2), incident: { enabled: false } }, "fail-quiet");
    const status = await firstAttempt("quiet");
    expect(status.lastBackup?.result).toBe("Failed");
    expect(status.conditions?.find((c) => c.type === "BackupSucceeded")?.status).toBe("False");
    // The failure is in status; the Incident would follow the same status write.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await incidentsOf("quiet")).toEqual([]);
  });
});

async function verifyJobsOf(name: string): Promise<KubeObject[]> {
  const list = await bp.client.list(JobKind, {
    namespace: bp.ns,
    labelSelector: `pake.dev/backuppolicy-verify=${name}`,
  });
  return list.items;
}

describe("Given a BackupPolicy that verifies on its own monthly schedule", () => {
  it("When a backup is taken, then no verification follows it, and nextVerifyTime is 03:00 on the next 1st (kubectl get -o wide shows it)", async () => {
    await apply(
      "monthly",
      { ...spec("pg", 2), verify: { enabled: true, schedule: "0 3 1 * *" } },
      "m1",
    );
    const status = await firstAttempt("monthly");
    expect(status.lastBackup?.result).toBe("Succeeded");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await verifyJobsOf("monthly")).toEqual([]);
    const now = await statusOf("monthly");
    expect(now.lastVerification).toBeUndefined();
    const today = new Date();
    const nextFirst = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1, 1, 3));
    const thisFirst = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1, 3));
    const expected = today < thisFirst ? thisFirst : nextFirst;
    expect(now.nextVerifyTime).toBe(expected.toISOString().replace(".000Z", "Z"));
    const wide = await env.kubectl("get", "backuppolicy", "monthly", "-n", bp.ns, "-o", "wide");
    expect(wide.stdout).toContain("NEXT VERIFY");
    expect(wide.stdout).toContain(now.nextVerifyTime);
  });
});

describe("Given a BackupPolicy that verifies every minute", () => {
  it("When a backup exists, then a verify slot's Job restores the newest successful backup: Verified=True for that backup, from a Schedule Job", async () => {
    await apply(
      "minutely",
      { ...spec("pg", 2), verify: { enabled: true, schedule: "* * * * *" } },
      "min1",
    );
    const backup = (await firstAttempt("minutely")).lastBackup!;
    expect(backup.result).toBe("Succeeded");
    let status: BackupPolicyStatus = {};
    await waitFor(
      async () => {
        status = await statusOf("minutely");
        return status.lastVerification?.backupId === backup.id;
      },
      { what: "a scheduled verification of the backup", timeoutMs: 150_000, intervalMs: 1_000 },
    );
    expect(status.lastVerification).toMatchObject({ result: "Passed", rows: 500 });
    expect(status.conditions?.find((c) => c.type === "Verified")?.status).toBe("True");
    const job = (await verifyJobsOf("minutely")).find(
      (j) => j.metadata.name === status.lastVerification?.job,
    );
    expect(job?.metadata.name).toMatch(/^minutely-verify-[0-9a-f]{8}-[0-9]+$/);
    expect(job?.metadata.annotations?.["pake.dev/trigger"]).toBe("Schedule");
    // The slot that ran it, or a later one (a slot comes every minute).
    const slot = job?.metadata.annotations?.["pake.dev/scheduled-time"];
    expect(Date.parse(status.lastVerifyScheduleTime!)).toBeGreaterThanOrEqual(Date.parse(slot!));
    expect(Date.parse(status.nextVerifyTime!)).toBeGreaterThan(
      Date.parse(status.lastVerifyScheduleTime!),
    );
  }, 180_000); // the next minute slot may be up to a minute away, then the restore runs
});
