// backupVerify and databaseRestore against a real PostgreSQL with the real
// pg_dump, pg_restore and psql, on backups taken by the backup runner
// (runBackup: pg_dump in an exported snapshot, row counts from the same one).
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type Postgres } from "../env/index.ts";
import { runBackupVerify, runDatabaseRestore, runTask } from "../../src/tasks/index.ts";
import { readManifest, type Manifest } from "../../src/tasks/backup/manifest.ts";
import { runBackup } from "../../src/tasks/backup/run.ts";

const POLICY = "shop-nightly";
const STORAGE_PATH = "/backups";
const SOURCE = "shop";
const TABLES = ["public.orders", "public.customers", 'public."Mixed Case"', "sales.invoices"];

let server: Postgres;
let env: Record<string, string>;
let root: string;

async function sql(query: string, database = SOURCE): Promise<string> {
  return (await server.psql(query, database)).trim();
}

/** md5 of a table's whole contents, in a stable order. */
async function contentsOf(table: string, database: string): Promise<string> {
  return sql(
    `SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM ${table} t`,
    database,
  );
}

async function databaseExists(name: string): Promise<boolean> {
  return (
    (await sql(`SELECT count(*) FROM pg_database WHERE datname = '${name}'`, "postgres")) === "1"
  );
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Takes backup `id` of SOURCE in `format` with the backup runner; returns its manifest. */
async function makeBackup(id: string, format: Manifest["format"]): Promise<Manifest> {
  const r = await runBackup(
    {
      policy: { namespace: "default", name: POLICY },
      id,
      ...location(),
      databases: [SOURCE],
      format,
      compression: { algorithm: "gzip" },
      retention: { keepLast: 100 },
    },
    { env },
  );
  expect(r.error).toBeUndefined();
  const manifest = await readManifest(join(root, STORAGE_PATH, POLICY, id));
  expect(manifest?.id).toBe(id);
  return manifest!;
}

async function rewriteManifest(id: string, edit: (m: Manifest) => void): Promise<void> {
  const path = join(root, STORAGE_PATH, POLICY, id, "manifest.json");
  const manifest = JSON.parse(await readFile(path, "utf8")) as Manifest;
  edit(manifest);
  await writeFile(path, JSON.stringify(manifest));
}

/** Flips one byte in the middle of a stored file. */
async function corruptByte(id: string, file: string): Promise<void> {
  const path = join(root, STORAGE_PATH, POLICY, id, file);
  const data = await readFile(path);
  const at = Math.floor(data.length / 2);
  data[at] = data[at]! ^ 0x01;
  await writeFile(path, data);
}

const location = () => ({ root, path: STORAGE_PATH });
const verifyConfig = (backupId?: string) => ({
  policy: { namespace: "default", name: POLICY },
  ...location(),
  ...(backupId ? { backupId } : {}),
});
const restoreConfig = (database: string, extra: Record<string, unknown> = {}) => ({
  backupPolicyRef: { name: POLICY },
  target: { connectionSecretRef: { name: "ignored" }, database },
  ...location(),
  ...extra,
});

beforeAll(async () => {
  server = await startPostgres();
  env = { ...server.libpqEnv, PAKE_PG_BIN: server.bin };
  root = await mkdtemp(join(tmpdir(), "pake-restore-"));
  await server.psql(`CREATE DATABASE ${SOURCE}`);
  await server.psql("CREATE ROLE pake_reporting NOLOGIN");
  await server.psql(
    `
    CREATE TABLE customers (id int PRIMARY KEY, name text, meta jsonb, photo bytea);
    CREATE TABLE orders (id serial PRIMARY KEY, customer int REFERENCES customers,
                         amount numeric(12,2), placed timestamptz, note text);
    CREATE TABLE "Mixed Case" (id int, "Value" text);
    CREATE SCHEMA sales;
    CREATE TABLE sales.invoices (id bigint, lines text[]);
    CREATE TABLE empty_table (id int);
    CREATE MATERIALIZED VIEW order_totals AS SELECT customer, sum(amount) AS total FROM orders GROUP BY customer;
    INSERT INTO customers SELECT g, 'customer ' || g, jsonb_build_object('n', g, 'q', 'it''s'),
                                 decode(md5(g::text), 'hex') FROM generate_series(1, 300) g;
    INSERT INTO customers VALUES (301, NULL, NULL, NULL);
    INSERT INTO orders (customer, amount, placed, note)
      SELECT 1 + g % 300, g * 1.25, '2026-01-01'::timestamptz + g * interval '1 hour',
             CASE WHEN g % 7 = 0 THEN NULL ELSE E'line\\n"quoted", tab\\t' || g END
        FROM generate_series(1, 5000) g;
    INSERT INTO "Mixed Case" VALUES (1, 'ünïcödé'), (2, NULL);
    INSERT INTO sales.invoices SELECT g, ARRAY['a' || g, 'b'] FROM generate_series(1, 120) g;
    REFRESH MATERIALIZED VIEW order_totals;
  `,
    SOURCE,
  );
  await makeBackup("20261130T010000Z", "custom");
  await makeBackup("20261130T020000Z", "plain");
  await makeBackup("20261130T030000Z", "directory");
  await makeBackup("20261201T010000Z", "custom");
}, 180_000);

afterAll(async () => {
  await server?.destroy();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("Given complete backups of a database", () => {
  it("verification of the newest backup passes with the exact row counts and drops the scratch database", async () => {
    const r = await runBackupVerify(verifyConfig(), { env });
    expect(r.error).toBeUndefined();
    expect(r.result).toBe("Succeeded");
    expect(r.data).toMatchObject({
      backupId: "20261201T010000Z",
      result: "Passed",
      tables: 5,
      rows: 301 + 5000 + 2 + 120,
      message: "restored 5 table(s), 5423 row(s), as in the manifest",
    });
    expect(r.details).toMatchObject({ verification: "Passed", tables: "5", rows: "5423" });
    expect(await databaseExists("pake_verify_shop_nightly")).toBe(false);
  });

  it.each([
    ["custom", "20261130T010000Z"],
    ["plain, gzip", "20261130T020000Z"],
    ["directory", "20261130T030000Z"],
  ])("verifies a %s backup through runTask", async (_format, backupId) => {
    const r = await runTask("backupVerify", JSON.stringify(verifyConfig(backupId)), { env });
    expect(r.result).toBe("Succeeded");
    expect(r.data).toMatchObject({ backupId, result: "Passed", tables: 5, rows: 5423 });
  });

  it("names the first row count differences and still drops the scratch database", async () => {
    const id = "20261129T010000Z";
    await makeBackup(id, "custom");
    await rewriteManifest(id, (m) => {
      const tables = m.databases[0]!.tables;
      tables.find((t) => t.name === "orders")!.rows = 4999;
      tables.push({ schema: "public", name: "gone", rows: 3 });
      m.databases[0]!.tables = tables.filter((t) => t.name !== "invoices");
    });
    const r = await runBackupVerify(
      { ...verifyConfig(id), scratchDatabase: "scratch_counts" },
      { env },
    );
    expect(r.result).toBe("Failed");
    expect(r.data).toMatchObject({ backupId: id, result: "Failed" });
    const message = r.data?.message as string;
    expect(message).toContain("table public.orders has 5000 rows, manifest says 4999");
    expect(message).toContain("table public.gone missing after restore");
    expect(message).toContain("table sales.invoices not in the manifest");
    expect(r.summary).toContain("3 difference(s)");
    expect(await databaseExists("scratch_counts")).toBe(false);
  });

  it("passes the same backup when compareRowCounts is off, saying so", async () => {
    const r = await runBackupVerify(
      { ...verifyConfig("20261129T010000Z"), compareRowCounts: false },
      { env },
    );
    expect(r.result).toBe("Succeeded");
    expect(r.data).toMatchObject({ result: "Passed", rows: 0 });
    expect(r.data?.message).toMatch(/^restored \d+ table\(s\); row counts not compared$/);
  });

  it("drops the scratch database when pg_restore fails, and reports pg_restore's reason", async () => {
    const id = "20261128T010000Z";
    await makeBackup(id, "custom");
    // The files still match their sha256; only pg_restore is told the wrong format.
    await rewriteManifest(id, (m) => {
      m.format = "directory";
    });
    const r = await runBackupVerify(verifyConfig(id), { env });
    expect(r.result).toBe("Failed");
    expect(r.data).toMatchObject({ backupId: id, result: "Failed" });
    expect(r.data?.message).toMatch(/^pg_restore failed \(exit 1\): .*toc\.dat/);
    expect(await databaseExists("pake_verify_shop_nightly")).toBe(false);
  });

  it("replaces a scratch database left by a killed run", async () => {
    await server.psql("CREATE DATABASE pake_verify_shop_nightly");
    await server.psql("CREATE TABLE leftover (id int)", "pake_verify_shop_nightly");
    const r = await runBackupVerify(verifyConfig("20261130T010000Z"), { env });
    expect(r.data).toMatchObject({ result: "Passed", tables: 5 });
    expect(await databaseExists("pake_verify_shop_nightly")).toBe(false);
  });

  it("refuses a scratch database that is the backed-up database", async () => {
    const r = await runBackupVerify({ ...verifyConfig(), scratchDatabase: SOURCE }, { env });
    expect(r.result).toBe("Failed");
    expect(r.data?.message).toMatch(/scratch database shop is a real database/);
    const system = await runBackupVerify(
      { ...verifyConfig(), scratchDatabase: "template1" },
      { env },
    );
    expect(system.data?.message).toMatch(/scratch database template1 is a real database/);
    expect(await databaseExists("template1")).toBe(true);
    expect(await sql("SELECT count(*) FROM orders")).toBe("5000");
  });

  it("restores into a new database with every table's contents equal to the source", async () => {
    const r = await runDatabaseRestore(restoreConfig("shop_copy"), { env });
    expect(r.error).toBeUndefined();
    expect(r.result).toBe("Succeeded");
    expect(r.data).toMatchObject({
      backupId: "20261201T010000Z",
      source: SOURCE,
      target: "shop_copy",
      prepared: "created",
      globals: false,
    });
    for (const table of [...TABLES, "public.empty_table", "public.order_totals"]) {
      expect(await contentsOf(table, "shop_copy"), table).toBe(await contentsOf(table, SOURCE));
    }
    // Sequences, constraints and the view's query came along too.
    expect(await sql("SELECT last_value FROM orders_id_seq", "shop_copy")).toBe("5000");
    expect(
      await sql(
        "SELECT count(*) FROM pg_constraint WHERE conname = 'orders_customer_fkey'",
        "shop_copy",
      ),
    ).toBe("1");
  });

  it.each([
    ["plain, gzip", "20261130T020000Z"],
    ["directory", "20261130T030000Z"],
  ])("restores a %s backup with the same contents", async (_format, backupId) => {
    const target = `shop_${backupId.slice(9, 11)}`;
    const r = await runDatabaseRestore(restoreConfig(target, { backupId }), { env });
    expect(r.result).toBe("Succeeded");
    for (const table of TABLES) {
      expect(await contentsOf(table, target), table).toBe(await contentsOf(table, SOURCE));
    }
  });

  it("refuses a non-empty target without dropExisting and replaces it with dropExisting", async () => {
    await server.psql("CREATE DATABASE shop_live");
    await server.psql(
      "CREATE TABLE precious (id int); INSERT INTO precious VALUES (42)",
      "shop_live",
    );
    const refused = await runDatabaseRestore(restoreConfig("shop_live"), { env });
    expect(refused.result).toBe("Failed");
    expect(refused.error).toBe(
      "target database shop_live is not empty (1 user table(s)); set dropExisting to replace it",
    );
    expect(await sql("SELECT id FROM precious", "shop_live")).toBe("42");

    const replaced = await runTask(
      "databaseRestore",
      JSON.stringify(restoreConfig("shop_live", { dropExisting: true })),
      { env: { PAKE_DATABASE_URL: server.uri, PAKE_PG_BIN: server.bin } },
    );
    expect(replaced.result).toBe("Succeeded");
    expect(replaced.data).toMatchObject({ prepared: "recreated" });
    expect(await sql("SELECT to_regclass('precious') IS NULL", "shop_live")).toBe("t");
    for (const table of TABLES) {
      expect(await contentsOf(table, "shop_live"), table).toBe(await contentsOf(table, SOURCE));
    }
  });

  it("restores into an existing empty database", async () => {
    await server.psql("CREATE DATABASE shop_empty");
    const r = await runDatabaseRestore(restoreConfig("shop_empty"), { env });
    expect(r.result).toBe("Succeeded");
    expect(r.data).toMatchObject({ prepared: "empty" });
    expect(await contentsOf("public.orders", "shop_empty")).toBe(
      await contentsOf("public.orders", SOURCE),
    );
  });

  it("restores the roles of globals.sql only when asked", async () => {
    const role = "SELECT count(*) FROM pg_roles WHERE rolname = 'pake_reporting'";
    await server.psql("DROP ROLE pake_reporting");
    const without = await runDatabaseRestore(restoreConfig("shop_roles_a"), { env });
    expect(without.data).toMatchObject({ globals: false });
    expect(await sql(role, "postgres")).toBe("0");
    const withGlobals = await runDatabaseRestore(
      restoreConfig("shop_roles_b", { restoreGlobals: true }),
      { env },
    );
    expect(withGlobals.result).toBe("Succeeded");
    expect(withGlobals.data).toMatchObject({ globals: true });
    expect(await sql(role, "postgres")).toBe("1");
  });

  it("fails with pg_restore's reason when the dump does not restore, without credentials", async () => {
    // No user table, so not refused as non-empty; but pg_restore meets an existing schema.
    await server.psql("CREATE DATABASE shop_clash");
    await server.psql("CREATE SCHEMA sales", "shop_clash");
    const failed = await runDatabaseRestore(restoreConfig("shop_clash"), {
      env: { PAKE_DATABASE_URL: server.uri, PAKE_PG_BIN: server.bin },
    });
    expect(failed.result).toBe("Failed");
    expect(failed.error).toMatch(/^pg_restore failed \(exit 1\): .*schema "sales" already exists/);
    // One transaction: nothing of the dump stayed behind.
    expect(await sql("SELECT to_regclass('public.orders') IS NULL", "shop_clash")).toBe("t");
    expect(JSON.stringify(failed)).not.toContain(server.password);
  });
});

describe("Given a backup with one corrupted byte", () => {
  const id = "20261202T010000Z";

  beforeAll(async () => {
    await makeBackup(id, "custom");
    await corruptByte(id, `${SOURCE}.dump`);
  });

  it("verification fails naming the file and both sha256 values, before creating the scratch database", async () => {
    const manifest = JSON.parse(
      await readFile(join(root, STORAGE_PATH, POLICY, id, "manifest.json"), "utf8"),
    ) as Manifest;
    const actual = sha256(await readFile(join(root, STORAGE_PATH, POLICY, id, `${SOURCE}.dump`)));
    const r = await runBackupVerify(verifyConfig(), { env });
    expect(r.result).toBe("Failed");
    expect(r.data).toMatchObject({ backupId: id, result: "Failed", tables: 0, rows: 0 });
    expect(r.data?.message).toBe(
      `${SOURCE}.dump: sha256 mismatch: file has ${actual}, manifest says ${manifest.files.find((f) => f.path === `${SOURCE}.dump`)!.sha256}`,
    );
    expect(r.summary).toContain("sha256 mismatch");
    expect(await databaseExists("pake_verify_shop_nightly")).toBe(false);
  });

  it("restore refuses it and leaves the target untouched, even with dropExisting", async () => {
    const fresh = await runDatabaseRestore(restoreConfig("shop_never", { backupId: id }), { env });
    expect(fresh.result).toBe("Failed");
    expect(fresh.error).toMatch(
      /^shop\.dump: sha256 mismatch: file has [a-f0-9]{64}, manifest says [a-f0-9]{64}$/,
    );
    expect(await databaseExists("shop_never")).toBe(false);

    await server.psql("CREATE DATABASE shop_kept");
    await server.psql(
      "CREATE TABLE precious (id int); INSERT INTO precious VALUES (7)",
      "shop_kept",
    );
    const replace = await runDatabaseRestore(
      restoreConfig("shop_kept", { backupId: id, dropExisting: true }),
      { env },
    );
    expect(replace.result).toBe("Failed");
    expect(replace.error).toContain("sha256 mismatch");
    expect(await sql("SELECT id FROM precious", "shop_kept")).toBe("7");
  });

  it("a file whose size differs from the manifest is refused too", async () => {
    const other = "20261202T020000Z";
    await makeBackup(other, "plain");
    const path = join(root, STORAGE_PATH, POLICY, other, `${SOURCE}.sql.gz`);
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.from("x")]));
    const r = await runBackupVerify(verifyConfig(other), { env });
    expect(r.data?.message).toMatch(/^shop\.sql\.gz: size \d+ bytes, manifest says \d+$/);
  });
});

describe("Given no usable backup", () => {
  it("fails naming the policy, or the backup id", async () => {
    const none = await runBackupVerify(
      { ...verifyConfig(), policy: { namespace: "d", name: "nothing" } },
      { env },
    );
    expect(none.result).toBe("Failed");
    expect(none.data?.message).toBe("no complete backup of policy nothing");
    const missing = await runDatabaseRestore(restoreConfig("x", { backupId: "20200101T000000Z" }), {
      env,
    });
    expect(missing.error).toBe(
      `backup 20200101T000000Z of policy ${POLICY} not found or incomplete`,
    );
    const traversal = await runDatabaseRestore(restoreConfig("x", { backupId: "../../etc" }), {
      env,
    });
    expect(traversal.error).toBe('invalid backup id "../../etc"');
  });
});
