// BackupPolicy faults end to end, on the real control plane (real Job
// controller), the real PostgreSQL and pg_dump, through the pod runner:
//   - a backup that cannot finish within spec.timeout (a session holds an
//     ACCESS EXCLUSIVE lock on a table it dumps): DeadlineExceeded, one
//     attempt whatever spec.retries (the deadline bounds the whole Job);
//   - spec.database.databases naming a database the server lacks: a plain
//     message naming the field, retries honoured, one Warning Event, no hot
//     loop;
//   - the operator SIGKILLed (PAKE_CRASH_AT, crash-points.ts) after creating a
//     backup Job and before status lists it; after a backup Job succeeded and
//     before status records it and what retention pruned; after that status
//     write and before its Job is marked recorded: no second Job for the same
//     slot or token, status and the volume converge.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { CRASH_AT_ENV, CrashPoint } from "../../src/controllers/backuppolicy/crash-points.ts";
import { RECORDED_ANNOTATION } from "../../src/controllers/jobrun/index.ts";
import type { BackupPolicyStatus } from "../../src/crds/backuppolicy.ts";
import { listBackups } from "../../src/tasks/backup/manifest.ts";
import { useSharedEnv, waitFor } from "../env/index.ts";
import { useBackupPolicyFixture } from "./support/backuppolicy.ts";

const env = useSharedEnv();
const bp = useBackupPolicyFixture(env, { prefix: "bp-faults", ordersDatabase: true });
const { sql, applyPolicy: apply, statusOf, nextAttempt, jobsOf, eventsOf } = bp;
const storage = (): string => join(bp.volume, "postgres");

/**
 * Every backup-now in this file follows another backup of the same policy,
 * and backup ids have one-second precision: leave a second before each, or
 * the new backup could take the id of the one before it.
 */
async function backupNow(name: string, token: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  await bp.backupNow(name, token);
}

/** How many times the pod runner ran a pod of this Job (one per attempt). */
function attemptsOf(job: string): number {
  return bp.jobs.runner.runs.filter((r) => r.namespace === bp.ns && r.pod.startsWith(`${job}-`))
    .length;
}

/** Ids of the complete (listed) backups of a policy on the volume, newest first. */
async function idsOnVolume(policy: string): Promise<string[]> {
  const { complete } = await listBackups(storage(), policy);
  return complete
    .map((m) => m.id)
    .sort()
    .reverse();
}

/** Sum of the operator's BackupPolicy reconciles so far. */
async function backupReconciles(): Promise<number> {
  const text = await bp.jobs.operator.text("/metrics");
  return text
    .split("\n")
    .filter((l) => l.startsWith('pake_controller_reconcile_total{controller="backuppolicy"'))
    .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
}

const spec = (extra: Record<string, unknown> = {}) => ({
  database: { connectionSecretRef: { name: "pg" } },
  schedule: "0 1 * * *",
  storage: { persistentVolumeClaim: { claimName: "backups" }, path: "/postgres" },
  retention: { keepLast: 3 },
  ...extra,
});

describe("Given a backup that cannot finish within spec.timeout", () => {
  it("When another session holds an ACCESS EXCLUSIVE lock on a table it dumps, then after 1m the Job fails with DeadlineExceeded in one attempt (retries 2), BackupSucceeded=False says so, nothing is listed, and the next backup removes the leftover", async () => {
    const seen = new Set<string>();
    const locker = new pg.Client({ connectionString: bp.uriFor(bp.database) });
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE");
    let status: BackupPolicyStatus;
    try {
      await apply("slow", spec({ timeout: "1m", retries: 2 }), "t1");
      // The runner really waits: its session queues behind the lock.
      await waitFor(
        async () => {
          const r = await sql(
            bp.database,
            "SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation " +
              "WHERE NOT l.granted AND c.relname = 'orders'",
          );
          return (r.rows[0] as { n: number }).n > 0;
        },
        { what: "the backup to wait on the lock", timeoutMs: 30_000 },
      );
      status = await nextAttempt("slow", seen, 120_000);
    } finally {
      await locker.query("ROLLBACK").catch(() => undefined);
      await locker.end();
    }
    const last = status.lastBackup!;
    expect(last.result).toBe("Failed");
    expect(last.message).toMatch(/^DeadlineExceeded: /);
    const took = Date.parse(last.endTime!) - Date.parse(last.startTime!);
    expect(took).toBeGreaterThanOrEqual(59_000);
    expect(took).toBeLessThan(90_000);
    expect(status.conditions?.find((c) => c.type === "BackupSucceeded")).toMatchObject({
      status: "False",
      reason: "BackupFailed",
    });
    expect(status.conditions?.find((c) => c.type === "BackupSucceeded")?.message).toContain(
      "DeadlineExceeded",
    );
    const [job] = await jobsOf("slow");
    expect(job?.status?.conditions).toContainEqual(
      expect.objectContaining({ type: "Failed", status: "True", reason: "DeadlineExceeded" }),
    );
    // activeDeadlineSeconds bounds the whole Job: its one attempt used it all, no retry started.
    expect(attemptsOf(last.job!)).toBe(1);
    const run = bp.jobs.runner.runs.find((r) => r.pod.startsWith(`${last.job}-`));
    await waitFor(() => Promise.resolve(!run!.process.running), {
      what: "the runner process to be killed",
      timeoutMs: 10_000,
    });
    expect(status.backups ?? []).toEqual([]);
    expect(await idsOnVolume("slow")).toEqual([]);
    expect((await listBackups(storage(), "slow")).partial).toHaveLength(1);

    await backupNow("slow", "t2");
    const next = await nextAttempt("slow", seen);
    expect(next.lastBackup?.result).toBe("Succeeded");
    expect(await listBackups(storage(), "slow")).toMatchObject({ partial: [], temporary: [] });
    expect(await idsOnVolume("slow")).toEqual([next.lastBackup!.id]);
  }, 180_000);
});

describe("Given spec.database.databases naming a database the server does not have", () => {
  it("When a backup runs, then it fails saying so, in 1 + retries attempts, with one Warning Event and no hot loop", async () => {
    const seen = new Set<string>();
    await apply(
      "unknown-db",
      spec({
        database: { connectionSecretRef: { name: "pg" }, databases: [bp.database, "no_such_db"] },
        retries: 1,
      }),
      "t1",
    );
    const status = await nextAttempt("unknown-db", seen);
    const said =
      'spec.database.databases: database "no_such_db" not found on the server: ' +
      "create it or remove it from the list";
    expect(status.lastBackup?.result).toBe("Failed");
    expect(status.lastBackup?.message).toBe(
      `BackoffLimitExceeded: Job has reached the specified backoff limit; backup failed: ${said}`,
    );
    const cond = status.conditions?.find((c) => c.type === "BackupSucceeded");
    expect(cond).toMatchObject({ status: "False", reason: "BackupFailed" });
    expect(cond?.message).toContain(said);
    expect(attemptsOf(status.lastBackup!.job!)).toBe(2);
    expect(readdirSync(join(storage(), "unknown-db"))).toEqual([]);

    // Settled: over 5 s no new Job, no status write, no second Event, next to no reconciles.
    await waitFor(async () => (await eventsOf("unknown-db", "RunFailed")).length === 1, {
      what: "the RunFailed Warning Event",
      timeoutMs: 10_000,
    });
    const before = { reconciles: await backupReconciles(), status: await statusOf("unknown-db") };
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(await jobsOf("unknown-db")).toHaveLength(1);
    expect(await statusOf("unknown-db")).toEqual(before.status);
    const warnings = await eventsOf("unknown-db", "RunFailed");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain(said);
    expect((await backupReconciles()) - before.reconciles).toBeLessThanOrEqual(2);
  }, 120_000);
});

describe("Given the operator killed at the worst moments of a backup", () => {
  it("When it dies after creating a scheduled backup Job and before status lists it, then after a restart that slot has one Job, one attempt, one backup", async () => {
    const crashing = await bp.jobs.restartOperator({ [CRASH_AT_ENV]: CrashPoint.BackupJobCreated });
    await apply("every-minute", spec({ schedule: "* * * * *" }));
    await waitFor(() => Promise.resolve(!crashing.proc.running), {
      what: "the operator to crash after creating the slot's Job",
      timeoutMs: 75_000,
    });
    const [created] = await jobsOf("every-minute");
    const slot = created?.metadata.annotations?.["pake.dev/scheduled-time"];
    expect(slot).toBeDefined();
    const unwritten = await statusOf("every-minute");
    expect(unwritten.active).toBeUndefined();
    expect(unwritten.lastScheduleTime).toBeUndefined();

    await bp.jobs.restartOperator();
    const status = await nextAttempt("every-minute", new Set(), 40_000);
    // No further slots for the rest of the test.
    await apply("every-minute", spec({ schedule: "* * * * *", suspend: true }));
    expect(status.lastBackup).toMatchObject({ result: "Succeeded", job: created!.metadata.name });
    expect(Date.parse(status.lastScheduleTime!)).toBe(Date.parse(slot!));
    const forSlot = (await jobsOf("every-minute")).filter(
      (j) => j.metadata.annotations?.["pake.dev/scheduled-time"] === slot,
    );
    expect(forSlot.map((j) => j.metadata.name)).toEqual([created!.metadata.name]);
    expect(attemptsOf(created!.metadata.name!)).toBe(1);
    expect(status.backups?.map((b) => b.id)).toEqual([status.lastBackup!.id]);
    expect(await idsOnVolume("every-minute")).toEqual([status.lastBackup!.id]);
  }, 120_000);

  it("When it dies after a backup succeeded and before status records it and what retention pruned, or after that status write and before the Job is marked, then each token runs once and status converges with the volume", async () => {
    const seen = new Set<string>();
    await apply("prune", spec({ retention: { keepLast: 1 } }), "p1");
    const first = await nextAttempt("prune", seen);
    expect(first.lastBackup?.result).toBe("Succeeded");

    // Killed between the backup's success and its record (with the pruning) in status.
    let crashing = await bp.jobs.restartOperator({ [CRASH_AT_ENV]: CrashPoint.BackupFinished });
    await backupNow("prune", "p2");
    await waitFor(() => Promise.resolve(!crashing.proc.running), {
      what: "the operator to crash after reading the finished backup",
      timeoutMs: 60_000,
    });
    const [second] = await idsOnVolume("prune");
    expect(second).not.toBe(first.lastBackup!.id); // the runner pruned the first on the volume
    expect((await statusOf("prune")).lastBackup?.id).toBe(first.lastBackup!.id);
    await bp.jobs.restartOperator();
    const afterSecond = await nextAttempt("prune", seen);
    expect(afterSecond.lastBackup).toMatchObject({ id: second, result: "Succeeded" });
    expect(afterSecond.backups?.map((b) => b.id)).toEqual([second]);

    // Killed after the status write and before the Job is marked recorded.
    crashing = await bp.jobs.restartOperator({ [CRASH_AT_ENV]: CrashPoint.BackupRecorded });
    await backupNow("prune", "p3");
    await waitFor(() => Promise.resolve(!crashing.proc.running), {
      what: "the operator to crash after writing the backup's status",
      timeoutMs: 60_000,
    });
    const third = await nextAttempt("prune", seen, 10_000);
    const thirdJob = third.lastBackup!.job!;
    expect(third.backups?.map((b) => b.id)).toEqual([third.lastBackup!.id]);
    await bp.jobs.restartOperator();
    // A later backup moves the third out of status; the third's Job is never recorded again.
    await backupNow("prune", "p4");
    const fourth = await nextAttempt("prune", seen);
    const fourthId = fourth.lastBackup!.id;
    await waitFor(
      async () =>
        (await jobsOf("prune")).every(
          (j) => j.metadata.annotations?.[RECORDED_ANNOTATION] === "true",
        ),
      { what: "every finished Job marked recorded", timeoutMs: 15_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const settled = await statusOf("prune");
    expect(settled.lastBackup?.id).toBe(fourthId);
    expect(settled.backups?.map((b) => b.id)).toEqual([fourthId]);
    expect(await idsOnVolume("prune")).toEqual([fourthId]);
    // One Job and one attempt per token, one RunSucceeded Event per Job.
    const names = (await jobsOf("prune")).map((j) => j.metadata.name!);
    expect(new Set(names).size).toBe(names.length);
    for (const job of [afterSecond.lastBackup!.job!, thirdJob, fourth.lastBackup!.job!]) {
      expect(names).toContain(job);
      expect(attemptsOf(job)).toBe(1);
      const events = (await eventsOf("prune", "RunSucceeded")).filter((e) =>
        e.message?.startsWith(`${job}:`),
      );
      expect(events.map((e) => (e as { count?: number }).count ?? 1)).toEqual([1]);
    }
  }, 180_000);
});
