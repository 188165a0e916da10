// A databaseRestore MaintenanceTask end to end with the real operator process:
// a BackupPolicy takes a backup (pake.dev/backup-now) of a real PostgreSQL
// database, then run-once restore tasks restore it through the pod runner
// (`pake-operator run databaseRestore` with the policy's claim mapped to the
// same directory, the real pg_restore) into a new database, whose every table
// must hold exactly the source's rows. A second restore into the now non-empty
// target is refused unless dropExisting; a task naming a missing BackupPolicy
// gets Ready=False naming the field, one Warning Event and no Job. Of a
// backup of two databases, sourceDatabase picks the one restored; without it
// the run fails naming spec.task.databaseRestore.sourceDatabase.
import { beforeAll, describe, expect, it } from "vitest";
import { TASK_LABEL } from "../../src/controllers/maintenancetask/job-builder.ts";
import type { MaintenanceTaskStatus } from "../../src/crds/maintenancetask.ts";
import { JobKind } from "../../src/lib/kinds.ts";
import type { KubeObject } from "../../src/runtime/kube.ts";
import { useSharedEnv, waitFor } from "../env/index.ts";
import { useBackupPolicyFixture } from "./support/backuppolicy.ts";

const env = useSharedEnv();
const POLICY = "shop-nightly";
let source: string;
let target: string;

const bp = useBackupPolicyFixture(env, {
  prefix: "bp-restore",
  beforeOperator: async (fx) => {
    source = `src_${fx.ns.replace(/-/g, "_")}`;
    target = `dst_${fx.ns.replace(/-/g, "_")}`;
    await seedSource();
    await fx.secret("pg-source", fx.uriFor(source));
    // The target's connection names the server's own database: the runner creates the target.
    await fx.secret("pg-target", fx.uriFor(env.postgres.database));
  },
});
const { sql, apply } = bp;

/** Every user table of a database, schema-qualified and quoted, sorted. */
async function tablesOf(db: string): Promise<string[]> {
  const r = await sql(
    db,
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  return r.rows.map((row: { name: string }) => row.name);
}

/** Each table's whole contents as an md5 of its rows in a stable order. */
async function contentsOf(db: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of await tablesOf(db)) {
    const r = await sql(
      db,
      `SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS md5 FROM ${table} t`,
    );
    out[table] = (r.rows[0] as { md5: string }).md5;
  }
  return out;
}

async function seedSource(): Promise<void> {
  await sql(env.postgres.database, `CREATE DATABASE ${source}`);
  await sql(
    source,
    `CREATE TABLE customers (id int PRIMARY KEY, name text, email text, created timestamptz);
     INSERT INTO customers SELECT g, 'Customer ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'c' || g || '@example.com' END,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour' FROM generate_series(1, 300) g;
     CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers, amount numeric(12,2),
       items jsonb, note text);
     INSERT INTO orders (customer, amount, items, note)
       SELECT 1 + g % 300, g * 1.25, jsonb_build_object('sku', 'S' || g, 'qty', g % 5),
         E'line\\twith tab, comma and ''quote'' ' || g FROM generate_series(1, 1000) g;
     CREATE SCHEMA sales;
     CREATE TABLE sales.invoices (id int PRIMARY KEY, blob bytea, paid boolean);
     INSERT INTO sales.invoices SELECT g, decode(md5(g::text), 'hex'), g % 2 = 0 FROM generate_series(1, 200) g;
     CREATE TABLE "Mixed Case" ("Key" text PRIMARY KEY, value float8);
     INSERT INTO "Mixed Case" VALUES ('a', 1.5), ('b', -0.25), ('c', NULL);
     CREATE TABLE empty_table (id int);`,
  );
}

/** A run-once databaseRestore task of `policy`; into the target database unless `into` names another. */
function restoreTask(
  name: string,
  policy: string,
  into: { database?: string; sourceDatabase?: string; dropExisting?: boolean } = {},
) {
  return {
    kind: "MaintenanceTask",
    metadata: { name },
    spec: {
      timeout: "10m",
      retries: 0,
      task: {
        databaseRestore: {
          backupPolicyRef: { name: policy },
          ...(into.sourceDatabase ? { sourceDatabase: into.sourceDatabase } : {}),
          target: { connectionSecretRef: { name: "pg-target" }, database: into.database ?? target },
          dropExisting: into.dropExisting ?? false,
        },
      },
    },
  };
}

async function taskStatus(name: string): Promise<MaintenanceTaskStatus> {
  const r = await env.kubectl("get", "maintenancetask", name, "-n", bp.ns, "-o", "json");
  return (JSON.parse(r.stdout) as { status?: MaintenanceTaskStatus }).status ?? {};
}

/** Waits for the task's one run to finish and returns the status then. */
async function finishedRun(name: string): Promise<MaintenanceTaskStatus> {
  let status: MaintenanceTaskStatus = {};
  await waitFor(
    async () => {
      status = await taskStatus(name);
      const result = status.lastRun?.result;
      return result !== undefined && result !== "Running";
    },
    { what: `the run of ${name}`, timeoutMs: 90_000, intervalMs: 500 },
  );
  return status;
}

async function jobsOf(task: string): Promise<KubeObject[]> {
  return (
    await bp.client.list(JobKind, { namespace: bp.ns, labelSelector: `${TASK_LABEL}=${task}` })
  ).items;
}

describe("Given a backup of a real PostgreSQL database taken by a BackupPolicy", () => {
  let expected: Record<string, string>;

  beforeAll(async () => {
    expected = await contentsOf(source);
    await apply({
      kind: "BackupPolicy",
      metadata: { name: POLICY, annotations: { "pake.dev/backup-now": "first" } },
      spec: {
        database: { connectionSecretRef: { name: "pg-source" } },
        schedule: "0 1 * * *",
        storage: { persistentVolumeClaim: { claimName: "backups" }, path: "/postgres" },
      },
    });
    const waited = await bp.waitForCondition(POLICY, "BackupSucceeded");
    expect(waited.code).toBe(0);
    // The source changes after the backup: the restore must hold the backup's rows.
    await sql(source, "INSERT INTO \"Mixed Case\" VALUES ('after the backup', 9)");
  });

  it("When a run-once databaseRestore task names the policy, then every table of the new database holds exactly the source's rows", async () => {
    expect(Object.keys(expected)).toHaveLength(5);
    await apply(restoreTask("restore-first", POLICY));
    const status = await finishedRun("restore-first");
    expect(status.lastRun?.summary).toContain(target);
    expect(status.lastRun?.result).toBe("Succeeded");
    const jobs = await jobsOf("restore-first");
    expect(jobs).toHaveLength(1);
    expect(await contentsOf(target)).toEqual(expected);
  });

  it("When a second task restores into the now non-empty target without dropExisting, then it fails saying so and the target is untouched", async () => {
    await sql(target, "INSERT INTO empty_table VALUES (42)");
    const before = await contentsOf(target);
    await apply(restoreTask("restore-refused", POLICY));
    const status = await finishedRun("restore-refused");
    expect(status.lastRun?.result).toBe("Failed");
    expect(status.lastRun?.summary).toMatch(
      new RegExp(`target database ${target} is not empty .*set dropExisting`),
    );
    const cond = status.conditions?.find((c) => c.type === "LastRunSucceeded");
    expect(cond?.status).toBe("False");
    expect(await contentsOf(target)).toEqual(before);
  });

  it("When the task sets dropExisting, then the target is replaced by the backup's contents", async () => {
    await apply(restoreTask("restore-replace", POLICY, { dropExisting: true }));
    const status = await finishedRun("restore-replace");
    expect(status.lastRun?.result).toBe("Succeeded");
    expect(await contentsOf(target)).toEqual(expected);
  });
});

describe("Given a databaseRestore task naming a BackupPolicy that does not exist", () => {
  it("Then Ready=False names spec.task.databaseRestore.backupPolicyRef, one Warning Event, and no Job starts", async () => {
    await apply(restoreTask("restore-missing", "no-such-policy"));
    let status: MaintenanceTaskStatus = {};
    await waitFor(
      async () => {
        status = await taskStatus("restore-missing");
        return status.conditions?.some((c) => c.reason === "ReferenceNotFound") === true;
      },
      { what: "the ReferenceNotFound condition", timeoutMs: 30_000, intervalMs: 500 },
    );
    const ready = status.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "ReferenceNotFound" });
    expect(ready?.message).toContain("spec.task.databaseRestore.backupPolicyRef");
    expect(ready?.message).toContain("no-such-policy");
    // Nothing is consumed: the run still waits for the policy.
    expect(status.lastRun).toBeUndefined();
    expect(status.lastScheduleTime).toBeUndefined();
    // A few seconds more: no hot loop, no Job, still one Event.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(await jobsOf("restore-missing")).toHaveLength(0);
    const events = await bp.eventsOf("restore-missing", "ReferenceNotFound");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "Warning" });
    expect(events[0]!.count ?? 1).toBe(1);
  });
});

describe("Given a backup of two databases", () => {
  const POLICY_TWO = "two-databases";
  let second: string;
  let secondTarget: string;

  beforeAll(async () => {
    second = `src2_${bp.ns.replace(/-/g, "_")}`;
    secondTarget = `dst2_${bp.ns.replace(/-/g, "_")}`;
    await sql(env.postgres.database, `CREATE DATABASE ${second}`);
    await sql(
      second,
      `CREATE TABLE ledger (id int PRIMARY KEY, amount numeric(12,2));
       INSERT INTO ledger SELECT g, g * 0.5 FROM generate_series(1, 250) g;`,
    );
    await apply({
      kind: "BackupPolicy",
      metadata: { name: POLICY_TWO, annotations: { "pake.dev/backup-now": "both" } },
      spec: {
        database: { connectionSecretRef: { name: "pg-source" }, databases: [source, second] },
        schedule: "0 1 * * *",
        storage: { persistentVolumeClaim: { claimName: "backups" }, path: "/postgres" },
      },
    });
    const waited = await bp.waitForCondition(POLICY_TWO, "BackupSucceeded");
    expect(waited.code).toBe(0);
  });

  it("When the task names the second as sourceDatabase, then the new database holds exactly that database's rows", async () => {
    const expected = await contentsOf(second);
    await apply(
      restoreTask("restore-second", POLICY_TWO, { database: secondTarget, sourceDatabase: second }),
    );
    const status = await finishedRun("restore-second");
    expect(status.lastRun?.result).toBe("Succeeded");
    expect(status.lastRun?.summary).toContain(`(${second}) into ${secondTarget}`);
    expect(await contentsOf(secondTarget)).toEqual(expected);
    expect(Object.keys(expected)).toEqual(["public.ledger"]);
  });

  it("When the task names no sourceDatabase, then the run fails naming spec.task.databaseRestore.sourceDatabase and creates nothing", async () => {
    const unused = `dst3_${bp.ns.replace(/-/g, "_")}`;
    await apply(restoreTask("restore-ambiguous", POLICY_TWO, { database: unused }));
    const status = await finishedRun("restore-ambiguous");
    expect(status.lastRun?.result).toBe("Failed");
    expect(status.lastRun?.summary).toContain("holds 2 databases");
    expect(status.lastRun?.summary).toContain("spec.task.databaseRestore.sourceDatabase");
    const created = await sql(
      env.postgres.database,
      `SELECT 1 FROM pg_database WHERE datname = '${unused}'`,
    );
    expect(created.rows).toEqual([]);
  });
});
