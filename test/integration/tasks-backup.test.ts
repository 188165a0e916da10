// The backup runner against a real PostgreSQL and the real pg_dump,
// pg_dumpall and pg_restore: formats, checksums, row counts taken in the
// dump's snapshot, pod retries, leftovers of killed runs, retention, and the
// faults (backend killed mid-dump, SIGTERM, a full volume, flat memory).
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseDir, repoRoot, startPostgres, toolchain, type Postgres } from "../env/index.ts";
import { listBackups, type Manifest } from "../../src/tasks/backup/manifest.ts";
import { runBackup, runTask, type BackupInput } from "../../src/tasks/index.ts";

const exec = promisify(execFile);

let server: Postgres;
let env: Record<string, string>;
let scratch: string;

const policy = { namespace: "ns", name: "nightly" };
const BIG_ROWS = 1_400_000; // ~100 MB as plain SQL

beforeAll(async () => {
  server = await startPostgres();
  env = { ...server.libpqEnv, PAKE_PG_BIN: toolchain().pgBin };
  scratch = mkdtempSync(join(baseDir(), "backup-"));
  await server.psql(`
    CREATE TABLE orders (id serial PRIMARY KEY, customer int, note text);
    CREATE TABLE "Mixed Case" (id int);
    CREATE SCHEMA sales;
    CREATE TABLE sales.invoices (id int, amount numeric(12,2));
    INSERT INTO orders (customer, note) SELECT g % 100, repeat('x', 50) FROM generate_series(1, 5000) g;
    INSERT INTO "Mixed Case" SELECT generate_series(1, 7);
    INSERT INTO sales.invoices SELECT g, g * 1.5 FROM generate_series(1, 300) g;
    CREATE ROLE reporting LOGIN;
  `);
  await server.psql("CREATE DATABASE big");
  await server.psql(
    `CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS payload
       FROM generate_series(1, ${BIG_ROWS}) g`,
    "big",
  );
}, 180_000);

afterAll(async () => {
  await server?.destroy();
  if (!process.env.PAKE_KEEP_TEST_DIRS) rmSync(scratch, { recursive: true, force: true });
});

let storageCount = 0;
/** A fresh storage root, as the PVC mount. */
function freshRoot(): string {
  const root = join(scratch, `root-${++storageCount}`);
  mkdirSync(root);
  return root;
}

function configOf(root: string, id: string, extra: Partial<BackupInput> = {}): BackupInput {
  return { policy, id, root, path: "/team", retention: { keepLast: 10 }, ...extra };
}

const storage = (root: string): string => join(root, "team");
const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

async function sourceCounts(database = "postgres"): Promise<Record<string, number>> {
  const out = await server.psql(
    `SELECT 'public.orders', count(*) FROM orders UNION ALL
     SELECT 'public.Mixed Case', count(*) FROM "Mixed Case" UNION ALL
     SELECT 'sales.invoices', count(*) FROM sales.invoices`,
    database,
  );
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => l.split("|"))
      .map(([t, n]) => [t!, Number(n)]),
  );
}

function countsOf(manifest: Manifest, database = "postgres"): Record<string, number> {
  const db = manifest.databases.find((d) => d.name === database)!;
  return Object.fromEntries(db.tables.map((t) => [`${t.schema}.${t.name}`, t.rows]));
}

/** Every file of the manifest is on disk with the listed size and sha256. */
function expectFilesMatch(root: string, manifest: Manifest): void {
  const dir = join(storage(root), policy.name, manifest.id);
  for (const file of manifest.files) {
    const data = readFileSync(join(dir, file.path));
    expect({ path: file.path, bytes: data.length, sha256: sha256(data) }).toEqual({
      path: file.path,
      bytes: file.bytes,
      sha256: file.sha256,
    });
  }
  expect(manifest.bytes).toBe(manifest.files.reduce((s, f) => s + f.bytes, 0));
}

/** Rows per table in the COPY blocks of a plain SQL dump. */
function copyRowCounts(sql: string): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = sql.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^COPY (\S+|"[^"]+")\.("[^"]+"|\S+) \(/.exec(lines[i]!);
    if (!m) continue;
    const name = `${m[1]!.replace(/"/g, "")}.${m[2]!.replace(/"/g, "")}`;
    let rows = 0;
    while (lines[++i] !== "\\.") rows++;
    out[name] = rows;
  }
  return out;
}

/** VmHWM of a live process in KiB; undefined once it has exited. */
function peakKiB(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Peak RSS (MiB) of `pake-operator run backup` as its own process, sampled until it exits. */
async function runnerPeakMiB(config: BackupInput): Promise<number> {
  const args = ["src/cli/main.ts", "run", "backup", "--termination-message-path"];
  const child = spawn(process.execPath, [...args, join(scratch, "runner-termination-log")], {
    cwd: repoRoot,
    env: { ...process.env, ...env, PAKE_TASK_CONFIG: JSON.stringify(config), LOG_LEVEL: "warn" },
    stdio: "ignore",
  });
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, peakKiB(child.pid!) ?? 0)), 20);
  const [code] = (await once(child, "exit")) as [number | null];
  clearInterval(sampler);
  expect(code).toBe(0);
  return peak / 1024;
}

async function onlyBackup(root: string): Promise<Manifest> {
  const listed = await listBackups(storage(root), policy.name);
  expect(listed.complete).toHaveLength(1);
  expect(listed.partial).toEqual([]);
  expect(listed.temporary).toEqual([]);
  return listed.complete[0]!;
}

describe("Given a database to back up", () => {
  it("custom format: a listed backup whose files match the manifest, row counts equal the source, pg_restore reads it", async () => {
    const root = freshRoot();
    const r = await runBackup(configOf(root, "20261201T010000Z"), { env });
    expect(r.error).toBeUndefined();
    expect(r.result).toBe("Succeeded");
    const manifest = await onlyBackup(root);
    expect(manifest).toMatchObject({
      id: "20261201T010000Z",
      policy,
      format: "custom",
      serverVersion: expect.stringMatching(/^15\.\d+$/) as unknown,
      pgDumpVersion: expect.stringMatching(/^15\.\d+$/) as unknown,
    });
    expect(manifest.files.map((f) => [f.path, f.kind, f.database])).toEqual([
      ["postgres.dump", "dump", "postgres"],
      ["globals.sql", "globals", undefined],
    ]);
    expectFilesMatch(root, manifest);
    expect(countsOf(manifest)).toEqual(await sourceCounts());
    const dir = join(storage(root), policy.name, manifest.id);
    expect(r.data?.backup).toEqual({
      id: manifest.id,
      startTime: manifest.startTime,
      endTime: manifest.endTime,
      bytes: manifest.bytes,
      sha256: sha256(readFileSync(join(dir, "manifest.json"))),
      databases: ["postgres"],
      serverVersion: manifest.serverVersion,
      pgDumpVersion: manifest.pgDumpVersion,
      format: "custom",
    });
    expect(r.data?.pruned).toEqual([]);
    const { stdout } = await exec(join(toolchain().pgBin, "pg_restore"), [
      "--list",
      join(dir, "postgres.dump"),
    ]);
    expect(stdout).toContain("TABLE DATA public orders");
    expect(readFileSync(join(dir, "globals.sql"), "utf8")).toContain("CREATE ROLE reporting");
  });

  it("plain + gzip: row counts agree exactly with the dump's COPY rows while another session keeps inserting", async () => {
    const root = freshRoot();
    const writer = new pg.Client({ connectionString: server.uri });
    await writer.connect();
    let writing = true;
    const inserts = (async () => {
      while (writing)
        await writer.query("INSERT INTO orders (customer, note) VALUES (1, 'during')");
    })();
    let r;
    try {
      await writer.query("SELECT 1");
      r = await runBackup(
        configOf(root, "20261201T020000Z", {
          format: "plain",
          compression: { algorithm: "gzip", level: 6 },
        }),
        { env },
      );
    } finally {
      writing = false;
      await inserts;
      await writer.end();
    }
    expect(r.result).toBe("Succeeded");
    const manifest = await onlyBackup(root);
    expect(manifest.files[0]).toMatchObject({ path: "postgres.sql.gz", kind: "dump" });
    expectFilesMatch(root, manifest);
    const sql = gunzipSync(
      readFileSync(join(storage(root), policy.name, manifest.id, "postgres.sql.gz")),
    ).toString();
    expect(copyRowCounts(sql)).toEqual(countsOf(manifest));
    expect(countsOf(manifest)["public.orders"]).toBeGreaterThanOrEqual(5000);
    // Rows committed after the snapshot are in neither the counts nor the dump.
    expect((await sourceCounts())["public.orders"]).toBeGreaterThan(
      countsOf(manifest)["public.orders"]!,
    );
  });

  it("directory format: every file of the dump directory is listed with its sha256", async () => {
    const root = freshRoot();
    const r = await runBackup(configOf(root, "20261201T030000Z", { format: "directory" }), { env });
    expect(r.result).toBe("Succeeded");
    const manifest = await onlyBackup(root);
    const paths = manifest.files.map((f) => f.path);
    expect(paths).toContain("postgres.dir/toc.dat");
    expect(paths.filter((p) => p.startsWith("postgres.dir/")).length).toBeGreaterThan(3);
    expectFilesMatch(root, manifest);
    expect(countsOf(manifest)).toEqual(await sourceCounts());
  });

  it("takes the connection from a URI in PAKE_DATABASE_URL, and several databases in one backup", async () => {
    const root = freshRoot();
    const r = await runBackup(
      configOf(root, "20261201T040000Z", { databases: ["postgres", "big"] }),
      {
        env: { PAKE_DATABASE_URL: server.uri, PAKE_PG_BIN: toolchain().pgBin },
      },
    );
    expect(r.result).toBe("Succeeded");
    const manifest = await onlyBackup(root);
    expect(manifest.databases.map((d) => d.name)).toEqual(["postgres", "big"]);
    expect(countsOf(manifest, "big")).toEqual({ "public.big": BIG_ROWS });
    expectFilesMatch(root, manifest);
    expect(r.data?.backup).toMatchObject({ databases: ["postgres", "big"] });
  }, 120_000);

  it("a user who is not a superuser gets globals.sql without role passwords, and the run says so", async () => {
    await server.psql("CREATE ROLE app LOGIN PASSWORD 'app-secret'");
    await server.psql("CREATE DATABASE appdb OWNER app");
    const appEnv = { ...env, PGUSER: "app", PGPASSWORD: "app-secret", PGDATABASE: "appdb" };
    await exec(
      join(toolchain().pgBin, "psql"),
      ["-X", "-c", "CREATE TABLE notes (id int); INSERT INTO notes VALUES (1), (2)"],
      {
        env: { ...process.env, ...appEnv },
      },
    );
    const root = freshRoot();
    const r = await runBackup(configOf(root, "20261201T043000Z"), { env: appEnv });
    expect(r.error).toBeUndefined();
    expect(r.details.rolePasswords).toBe("omitted");
    const manifest = await onlyBackup(root);
    expect(countsOf(manifest, "appdb")).toEqual({ "public.notes": 2 });
    const globals = readFileSync(
      join(storage(root), policy.name, manifest.id, "globals.sql"),
      "utf8",
    );
    expect(globals).toContain("CREATE ROLE app");
    expect(globals).not.toContain("SCRAM-SHA-256");
  });

  it("a second run with the same id (a pod retry) reports the backup without dumping again", async () => {
    const root = freshRoot();
    const config = configOf(root, "20261201T050000Z");
    const first = await runBackup(config, { env });
    const dump = join(storage(root), policy.name, "20261201T050000Z", "postgres.dump");
    const before = statSync(dump).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await runTask("backup", JSON.stringify(config), { env });
    expect(second.result).toBe("Succeeded");
    expect(second.details.alreadyTaken).toBe("true");
    expect(second.data?.backup).toEqual(first.data?.backup);
    expect(statSync(dump).mtimeMs).toBe(before);
    await onlyBackup(root);
  });

  it("removes the leftovers of a killed run and says how many", async () => {
    const root = freshRoot();
    const dir = join(storage(root), policy.name);
    mkdirSync(join(dir, "20261130T010000Z"), { recursive: true });
    writeFileSync(join(dir, "20261130T010000Z", "postgres.dump"), "half a dump");
    writeFileSync(join(dir, ".tmp-20261130T010000Z-globals.sql"), "half");
    mkdirSync(join(dir, ".tmp-20261130T010000Z-postgres.dir"));
    const r = await runBackup(configOf(root, "20261201T060000Z"), { env });
    expect(r.result).toBe("Succeeded");
    expect(r.details.leftoversRemoved).toBe("3");
    expect(existsSync(join(dir, "20261130T010000Z"))).toBe(false);
    expect((await onlyBackup(root)).id).toBe("20261201T060000Z");
  });

  it("retention keepLast 2 prunes the oldest of three backups, files and manifest", async () => {
    const root = freshRoot();
    const ids = ["20261201T010000Z", "20261202T010000Z", "20261203T010000Z"];
    const results = [];
    for (const id of ids) {
      results.push(await runBackup(configOf(root, id, { retention: { keepLast: 2 } }), { env }));
    }
    expect(results.map((r) => r.result)).toEqual(["Succeeded", "Succeeded", "Succeeded"]);
    expect(results.map((r) => r.data?.pruned)).toEqual([[], [], ["20261201T010000Z"]]);
    const listed = await listBackups(storage(root), policy.name);
    expect(listed.complete.map((m) => m.id)).toEqual(["20261203T010000Z", "20261202T010000Z"]);
    expect(listed.temporary).toEqual([]);
    expect(existsSync(join(storage(root), policy.name, "20261201T010000Z"))).toBe(false);
  });
});

/** Polls until pg_dump is copying a table of `database`; returns its backend pid. */
async function pgDumpCopying(database: string): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const out = await server.psql(
      `SELECT pid FROM pg_stat_activity
        WHERE application_name = 'pg_dump' AND datname = '${database}' AND query LIKE 'COPY%'`,
    );
    if (out.trim() !== "") return Number(out.trim().split("\n")[0]);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("pg_dump never started copying");
}

describe("Given faults while dumping", () => {
  it("the pg_dump backend killed mid-dump: Failed with the reason, nothing partial listed, earlier backups intact", async () => {
    const root = freshRoot();
    const earlier = await runBackup(configOf(root, "20261201T010000Z"), { env });
    expect(earlier.result).toBe("Succeeded");
    const running = runBackup(configOf(root, "20261202T010000Z", { databases: ["big"] }), { env });
    const pid = await pgDumpCopying("big");
    await server.psql(`SELECT pg_terminate_backend(${pid})`);
    const r = await running;
    expect(r.result).toBe("Failed");
    expect(r.error).toMatch(
      /pg_dump of database big failed: pg_dump exited with code 1: .*(terminat|server closed)/s,
    );
    expect(r.error).not.toContain(server.password);
    const manifest = await onlyBackup(root);
    expect(manifest.id).toBe("20261201T010000Z");
    expectFilesMatch(root, manifest);
    expect(existsSync(join(storage(root), policy.name, "20261202T010000Z"))).toBe(false);
  }, 120_000);

  it("SIGTERM (ctx.signal) mid-dump kills pg_dump and removes its temporary files", async () => {
    const root = freshRoot();
    const abort = new AbortController();
    const running = runBackup(configOf(root, "20261202T010000Z", { databases: ["big"] }), {
      env,
      signal: abort.signal,
    });
    await pgDumpCopying("big");
    abort.abort();
    const r = await running;
    expect(r.result).toBe("Failed");
    expect(r.error).toMatch(/aborted/);
    const listed = await listBackups(storage(root), policy.name);
    expect(listed).toEqual({ complete: [], partial: [], temporary: [] });
    const left = await server.psql(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'",
    );
    expect(left.trim()).toBe("0");
  }, 120_000);

  it("a full volume: Failed with no space left, nothing partial listed", async () => {
    const root = freshRoot();
    await exec("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", root]);
    try {
      const r = await runBackup(
        configOf(root, "20261202T010000Z", {
          databases: ["big"],
          compression: { algorithm: "none" },
        }),
        { env },
      );
      expect(r.result).toBe("Failed");
      expect(r.error).toMatch(/pg_dump of database big failed: .*no space left on device/i);
      expect(await listBackups(storage(root), policy.name)).toEqual({
        complete: [],
        partial: [],
        temporary: [],
      });
    } finally {
      await exec("umount", [root]);
    }
  }, 120_000);

  it("no pg_dump where it should be: Failed, saying what to do, nothing written", async () => {
    const root = freshRoot();
    const r = await runBackup(configOf(root, "20261202T010000Z"), {
      env: { ...env, PAKE_PG_BIN: join(scratch, "no-such-bin") },
    });
    expect(r.result).toBe("Failed");
    expect(r.error).toMatch(/no-such-bin\/pg_dump not found: use the operator image/);
    expect(await listBackups(storage(root), policy.name)).toEqual({
      complete: [],
      partial: [],
      temporary: [],
    });
  });

  it("memory stays flat: RSS grows by less than 8 MiB over a ~100 MB dump", async () => {
    const root = freshRoot();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let r;
    try {
      r = await runBackup(
        configOf(root, "20261202T010000Z", {
          databases: ["big"],
          format: "plain",
          compression: { algorithm: "none" },
        }),
        { env },
      );
    } finally {
      clearInterval(sampler);
    }
    expect(r.result).toBe("Succeeded");
    const size = (r.data?.backup as { bytes: number }).bytes;
    expect(size).toBeGreaterThan(90 * 1024 * 1024);
    // One reused copy buffer: a few hundred KiB measured; the bound leaves room for GC timing.
    expect(peak - before).toBeLessThan(8 * 1024 * 1024);
  }, 120_000);

  it("the runner process's peak RSS is the same for a ~100 MB dump as for a few KB", async () => {
    const plain = { format: "plain", compression: { algorithm: "none" } } as const;
    const small = await runnerPeakMiB(configOf(freshRoot(), "20261202T010000Z", plain));
    const big = await runnerPeakMiB(
      configOf(freshRoot(), "20261202T010000Z", { databases: ["big"], ...plain }),
    );
    // Read as a stream from a stdio pipe, the ~100 MB dump peaked ~55 MiB higher.
    expect(big - small).toBeLessThan(5);
  }, 120_000);
});
