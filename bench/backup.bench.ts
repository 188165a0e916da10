// Backup benchmark (issue 9): our backup and restore runners against the raw
// PostgreSQL tools they wrap, on a throwaway PostgreSQL 15 (its own, not the
// shared test server) holding a normal (logged) database of at least 1 GiB
// and a second one of ~100 MiB.
// Measures:
//   - generation time of each database (INSERT … SELECT generate_series,
//     primary keys built after the load, then VACUUM (FREEZE, ANALYZE) so no
//     dump pays for setting hint bits);
//   - raw `pg_dump -Fc` to a file vs `pake-operator run backup` (custom
//     format, the same default gzip compression) as a child process: time,
//     bytes, throughput (database size / time) and the ratio ours/raw
//     throughput (= raw time / ours time);
//   - the runner's peak RSS: VmHWM of the node process from /proc, sampled
//     every 50 ms until it exits (pg_dump is a separate process, not counted);
//   - raw CREATE DATABASE + `pg_restore` vs `pake-operator run
//     databaseRestore` (checks every file's sha256 first, creates the
//     database, pg_restore) into fresh databases, each checked (row counts
//     equal the source's) and dropped after its run.
// The runner is dist/src/cli/main.js as the image runs it, compiled into the
// bench's temp dir. Runs alternate (raw, ours, ours, raw, …; the machine is
// shared, so both best and median count, and each comparison records the
// 1-minute load average before and after it); a CHECKPOINT runs (untimed) before each.
// Run: make bench (or node --expose-gc bench/backup.bench.ts [bigMiB] [smallMiB] [rounds]).
import { execFile, spawn } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  symlinkSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  statfsSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { format, resolveConfig } from "prettier";
import { readManifest } from "../src/tasks/backup/manifest.ts";

const bigMiB = Number(process.argv[2] ?? 1024);
const smallMiB = Number(process.argv[3] ?? 100);
const rounds = Number(process.argv[4] ?? 3);
process.env.PAKE_TEST_RUN_DIR = mkdtempSync(join(tmpdir(), "pake-bench-"));
const runDir = process.env.PAKE_TEST_RUN_DIR;
chmodSync(runDir, 0o755); // the server runs as the postgres user when we are root
const { startPostgres, toolchain } = await import("../test/env/index.ts");
type Postgres = Awaited<ReturnType<typeof startPostgres>>;

const repoRoot = join(import.meta.dirname, "..");
const MiB = 1024 * 1024;
const backupId = "20261201T010000Z";
const tables = ["accounts", "events", "metrics"];
const exec = promisify(execFile);

/**
 * Compiles src/ as the image does (tsc -p tsconfig.build.json) into the
 * bench's temp dir: the runner measured is dist/src/cli/main.js, the
 * `pake-operator` binary, not the .ts sources (type stripping costs memory).
 * tsc emits despite type errors elsewhere in the tree; they are recorded.
 */
async function buildRunner(): Promise<{ entry: string; typeErrors: number }> {
  const out = join(runDir, "build");
  mkdirSync(out);
  symlinkSync(join(repoRoot, "node_modules"), join(out, "node_modules"));
  writeFileSync(join(out, "package.json"), readFileSync(join(repoRoot, "package.json")));
  const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
  const args = [tsc, "-p", "tsconfig.build.json", "--outDir", join(out, "dist")];
  const output = await exec(process.execPath, args, { cwd: repoRoot }).then(
    (r) => r.stdout,
    (err: { stdout?: string }) => err.stdout ?? "",
  );
  const entry = join(out, "dist", "src", "cli", "main.js");
  statSync(entry); // throws when tsc emitted nothing
  return { entry, typeErrors: output.split("\n").filter((l) => l.includes("error TS")).length };
}

const free = statfsSync(runDir);
const freeGiB = (free.bavail * free.bsize) / 1024 ** 3;
// The big database, one restored copy, WAL, two dumps and the small database, with margin.
if (freeGiB < (bigMiB / 1024) * 6) {
  rmSync(runDir, { recursive: true, force: true });
  throw new Error(`only ${freeGiB.toFixed(1)} GiB free under ${runDir}`);
}
const built = await buildRunner().catch((err: unknown) => {
  rmSync(runDir, { recursive: true, force: true });
  throw err;
});

const seconds = (ms: number): number => Number((ms / 1000).toFixed(2));
/** The 1-minute load average: the machine is shared, so every figure carries it. */
const load1m = (): number => Number(loadavg()[0]!.toFixed(2));
const mib = (bytes: number): number => Number((bytes / MiB).toFixed(1));

/** VmHWM (peak resident set) of a live process, in KiB; undefined once it has exited. */
function peakKiB(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("VmHWM:"));
    return Number(line?.split(/\s+/)[1] ?? 0);
  } catch {
    return undefined;
  }
}

interface Measured {
  ms: number;
  peakRssMiB: number;
  exitCode: number | null;
}

/** Runs a program, sampling its VmHWM every 50 ms; rejects (with its log) unless it exits `expect`. */
async function measure(
  name: string,
  argv: string[],
  env: Record<string, string>,
  expect = 0,
): Promise<Measured> {
  const logFile = join(runDir, `${name}.log`);
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, peakKiB(child.pid!) ?? 0)), 50);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  const ms = performance.now() - started;
  clearInterval(sampler);
  writeFileSync(logFile, output);
  if (code !== expect) throw new Error(`${name} exited ${code}: ${output.slice(-2000)}`);
  return { ms, peakRssMiB: mib(peak * 1024), exitCode: code };
}

function libpq(pg: Postgres, database: string): Record<string, string> {
  return { ...pg.libpqEnv, PGDATABASE: database };
}

/** `pake-operator run <task>` as a child process; returns its measure and result. */
async function runner(
  pg: Postgres,
  name: string,
  task: string,
  config: object,
): Promise<Measured & { result: Record<string, unknown> }> {
  const message = join(runDir, `${name}.result.json`);
  const measured = await measure(
    name,
    [process.execPath, built.entry, "run", task, "--termination-message-path", message],
    {
      ...pg.libpqEnv,
      PAKE_PG_BIN: toolchain().pgBin,
      PAKE_TASK_CONFIG: JSON.stringify(config),
      LOG_LEVEL: "warn",
    },
  );
  const result = JSON.parse(readFileSync(message, "utf8")) as Record<string, unknown>;
  if (result.result !== "Succeeded") throw new Error(`${name}: ${JSON.stringify(result)}`);
  return { ...measured, result };
}

/** Fills `db` with three tables; `rows` is the events table's row count. */
async function generate(pg: Postgres, db: string, rows: number): Promise<number> {
  const started = performance.now();
  await pg.psql(`CREATE DATABASE ${db}`);
  await pg.psql(
    `CREATE TABLE accounts (id int, email text, balance numeric(12,2), created timestamptz);
     CREATE TABLE events (id bigint, account int, at timestamptz, kind text, payload text);
     CREATE TABLE metrics (series int, at timestamptz, value double precision);`,
    db,
  );
  const accounts = Math.ceil(rows / 10);
  const half = Math.floor(rows / 2);
  const events = (from: number, to: number): string =>
    `INSERT INTO events SELECT g, g % ${accounts} + 1, timestamp '2026-01-01' + g * interval '1 second',
       (ARRAY['login','view','buy','logout'])[1 + g % 4], md5(g::text) || md5(random()::text)
     FROM generate_series(${from}, ${to}) g`;
  // Two connections: the machine has two cores.
  await Promise.all([
    pg.psql(events(1, half), db),
    pg.psql(
      `${events(half + 1, rows)};
       INSERT INTO accounts SELECT g, 'user' || g || '@example.com', round((random() * 10000)::numeric, 2),
         timestamp '2026-01-01' - g * interval '1 minute' FROM generate_series(1, ${accounts}) g;
       INSERT INTO metrics SELECT g % 500, timestamp '2026-01-01' + g * interval '10 seconds', random() * 1000
         FROM generate_series(1, ${half}) g;`,
      db,
    ),
  ]);
  await Promise.all([
    pg.psql("ALTER TABLE events ADD PRIMARY KEY (id)", db),
    pg.psql("ALTER TABLE accounts ADD PRIMARY KEY (id)", db),
  ]);
  await pg.psql("VACUUM (FREEZE, ANALYZE)", db);
  await pg.psql("CHECKPOINT");
  return performance.now() - started;
}

async function databaseBytes(pg: Postgres, db: string): Promise<number> {
  return Number((await pg.psql(`SELECT pg_database_size('${db}')`)).trim());
}

async function rowCounts(pg: Postgres, db: string): Promise<string> {
  const sql = tables.map((t) => `SELECT '${t}', count(*) FROM ${t}`).join(" UNION ALL ");
  return (await pg.psql(sql, db)).trim();
}

interface DumpRun {
  seconds: number;
  bytes: number;
  peakRssMiB: number;
}

async function rawDump(pg: Postgres, db: string, file: string): Promise<DumpRun> {
  await pg.psql("CHECKPOINT");
  const pgDump = join(toolchain().pgBin, "pg_dump");
  const m = await measure(
    `raw-dump-${db}`,
    [pgDump, "-Fc", "--no-password", `--file=${file}`],
    libpq(pg, db),
  );
  return { seconds: seconds(m.ms), bytes: statSync(file).size, peakRssMiB: m.peakRssMiB };
}

async function oursDump(pg: Postgres, db: string, root: string): Promise<DumpRun> {
  await pg.psql("CHECKPOINT");
  const config = {
    policy: { namespace: "bench", name: db },
    id: backupId,
    root,
    path: "/",
    databases: [db],
    format: "custom",
    compression: { algorithm: "gzip" },
    retention: { keepLast: 1 },
  };
  const m = await runner(pg, `ours-backup-${db}`, "backup", config);
  const manifest = await readManifest(join(root, db, backupId));
  const dump = manifest?.files.find((f) => f.kind === "dump");
  if (dump === undefined) throw new Error(`no dump in the manifest of ${db}`);
  return { seconds: seconds(m.ms), bytes: dump.bytes, peakRssMiB: m.peakRssMiB };
}

interface DumpComparison {
  raw: DumpRun[];
  ours: DumpRun[];
  rawFile: string;
  oursRoot: string;
}

/** Alternates raw and ours (raw, ours, ours, raw, …); keeps the last outputs for the restore. */
async function compareDumps(pg: Postgres, db: string): Promise<DumpComparison> {
  const out: DumpComparison = { raw: [], ours: [], rawFile: "", oursRoot: "" };
  for (let i = 0; i < rounds; i++) {
    rmSync(out.rawFile || join(runDir, "none"), { force: true });
    rmSync(out.oursRoot || join(runDir, "none"), { recursive: true, force: true });
    out.rawFile = join(runDir, `raw-${db}-${i}.dump`);
    out.oursRoot = join(runDir, `ours-${db}-${i}`);
    mkdirSync(out.oursRoot);
    const steps = [
      async () => out.raw.push(await rawDump(pg, db, out.rawFile)),
      async () => out.ours.push(await oursDump(pg, db, out.oursRoot)),
    ];
    if (i % 2 === 1) steps.reverse();
    for (const step of steps) await step();
  }
  return out;
}

interface Run {
  seconds: number;
  peakRssMiB: number;
}

/** Best and median of the rounds; throughput of the best (database size / time). */
function summary(runs: Run[], bytes: number) {
  const sorted = runs.map((r) => r.seconds).sort((a, b) => a - b);
  const best = sorted[0]!;
  return {
    seconds: runs.map((r) => r.seconds),
    bestSeconds: best,
    medianSeconds: sorted[Math.floor((sorted.length - 1) / 2)]!,
    throughputMiBps: Number((bytes / MiB / best).toFixed(1)),
    peakRssMiB: Math.max(...runs.map((r) => r.peakRssMiB)),
  };
}

type Summary = ReturnType<typeof summary>;

/** raw time / ours time, of the best and of the median runs (> 1: ours faster). */
function ratios(raw: Summary, ours: Summary) {
  return {
    ratio: Number((raw.bestSeconds / ours.bestSeconds).toFixed(3)),
    ratioOfMedians: Number((raw.medianSeconds / ours.medianSeconds).toFixed(3)),
  };
}

async function restoreRaw(pg: Postgres, file: string, target: string) {
  await pg.psql("CHECKPOINT");
  const started = performance.now();
  await pg.psql(`CREATE DATABASE ${target}`);
  const pgRestore = join(toolchain().pgBin, "pg_restore");
  const args = [
    "--no-owner",
    "--no-privileges",
    "--exit-on-error",
    "--format=custom",
    `--dbname=${target}`,
    file,
  ];
  const m = await measure("raw-restore", [pgRestore, ...args], libpq(pg, target));
  return { seconds: seconds(performance.now() - started), peakRssMiB: m.peakRssMiB };
}

async function restoreOurs(pg: Postgres, db: string, root: string, target: string) {
  await pg.psql("CHECKPOINT");
  const config = {
    backupPolicyRef: { name: db },
    backupId,
    target: { database: target },
    root,
    path: "/",
  };
  const m = await runner(pg, "ours-restore", "databaseRestore", config);
  return { seconds: seconds(m.ms), peakRssMiB: m.peakRssMiB };
}

/** Alternating rounds as for the dumps; every restored database is checked, then dropped. */
async function compareRestores(pg: Postgres, db: string, dumps: DumpComparison, bytes: number) {
  const source = await rowCounts(pg, db);
  const raw: Run[] = [];
  const ours: Run[] = [];
  const checked = async (target: string, run: Run): Promise<Run> => {
    const counts = await rowCounts(pg, target);
    if (counts !== source) throw new Error(`${target} has ${counts}, the source ${source}`);
    await pg.psql(`DROP DATABASE ${target}`);
    return run;
  };
  for (let i = 0; i < rounds; i++) {
    const steps = [
      async () =>
        raw.push(await checked("raw_restore", await restoreRaw(pg, dumps.rawFile, "raw_restore"))),
      async () =>
        ours.push(
          await checked("ours_restore", await restoreOurs(pg, db, dumps.oursRoot, "ours_restore")),
        ),
    ];
    if (i % 2 === 1) steps.reverse();
    for (const step of steps) await step();
  }
  const rawSummary = summary(raw, bytes);
  const oursSummary = summary(ours, bytes);
  return {
    raw: rawSummary,
    ours: oursSummary,
    ...ratios(rawSummary, oursSummary),
    rowCountsMatch: true,
  };
}

/** The runner's time and peak RSS when it only starts, loads its modules and fails on an empty config. */
async function baselineRun(pg: Postgres): Promise<{ seconds: number; peakRssMiB: number }> {
  const message = join(runDir, "baseline.result.json");
  const args = [
    built.entry,
    "run",
    "backup",
    "--config",
    "{}",
    "--termination-message-path",
    message,
  ];
  const m = await measure("baseline", [process.execPath, ...args], pg.libpqEnv, 1);
  return { seconds: seconds(m.ms), peakRssMiB: m.peakRssMiB };
}

async function measureDatabase(pg: Postgres, db: string, rows: number) {
  const generationMs = await generate(pg, db, rows);
  const bytes = await databaseBytes(pg, db);
  console.log(
    `Generated ${db}: ${mib(bytes)} MiB, ${rows} event rows, in ${seconds(generationMs)} s`,
  );
  // The runner counts every table's rows in the dump's snapshot before pg_dump starts.
  const countStarted = performance.now();
  await rowCounts(pg, db);
  const rowCountMs = performance.now() - countStarted;
  const dumpLoadBefore = load1m();
  const dumps = await compareDumps(pg, db);
  const loadAverage1m = { before: dumpLoadBefore, after: load1m() };
  const raw = { ...summary(dumps.raw, bytes), dumpBytes: dumps.raw[0]!.bytes };
  const ours = { ...summary(dumps.ours, bytes), dumpBytes: dumps.ours[0]!.bytes };
  const { ratio, ratioOfMedians } = ratios(raw, ours);
  console.log(
    `${db} dump: raw ${raw.bestSeconds} s (${raw.throughputMiBps} MiB/s), ours ${ours.bestSeconds} s ` +
      `(${ours.throughputMiBps} MiB/s), ratio ${ratio} (of medians ${ratioOfMedians}), runner peak RSS ${ours.peakRssMiB} MiB, ` +
      `load ${loadAverage1m.before} → ${loadAverage1m.after}`,
  );
  const extra = Number((ours.bestSeconds - raw.bestSeconds).toFixed(2));
  const dump = {
    raw,
    ours,
    ratio,
    ratioOfMedians,
    oursExtraSeconds: extra,
    rowCountSeconds: seconds(rowCountMs),
    loadAverage1m,
  };
  return { db, bytes, rows, generationMs, dumps, dump };
}

let started: Postgres | undefined;
try {
  started = await startPostgres({
    settings: { max_wal_size: "8GB", checkpoint_timeout: "30min", maintenance_work_mem: "256MB" },
  });
  const pg = started;
  const startedAt = performance.now();
  // The small database calibrates the rows per MiB for the big one.
  const loadBefore = loadavg();
  const baseline = await baselineRun(pg);
  // An empty database has a few MiB; the small one calibrates rows per MiB for the big one.
  const empty = await databaseBytes(pg, "template1");
  const smallRows = Math.round(((smallMiB * MiB - empty) / MiB) * 5700);
  const small = await measureDatabase(pg, "small", smallRows);
  const bigRows = Math.ceil(((smallRows * (bigMiB * MiB - empty)) / (small.bytes - empty)) * 1.03);
  const big = await measureDatabase(pg, "big", bigRows);
  const restoreLoadBefore = load1m();
  const restore = {
    ...(await compareRestores(pg, "big", big.dumps, big.bytes)),
    loadAverage1m: { before: restoreLoadBefore, after: load1m() },
  };
  console.log(
    `big restore: raw ${restore.raw.bestSeconds} s (${restore.raw.throughputMiBps} MiB/s), ours ` +
      `${restore.ours.bestSeconds} s (${restore.ours.throughputMiBps} MiB/s), ratio ${restore.ratio} ` +
      `(of medians ${restore.ratioOfMedians}), ` +
      `runner peak RSS ${restore.ours.peakRssMiB} MiB, load ${restore.loadAverage1m.before} → ${restore.loadAverage1m.after}`,
  );
  const databaseOf = (m: typeof big) => ({
    sizeMiB: mib(m.bytes),
    eventRows: m.rows,
    generationSeconds: seconds(m.generationMs),
    dump: m.dump,
  });
  const result = {
    date: new Date().toISOString(),
    postgres: (await pg.psql("SHOW server_version")).trim(),
    rounds,
    runner: `pake-operator run (dist/src/cli/main.js compiled by tsc -p tsconfig.build.json; ${built.typeErrors} type errors in the tree)`,
    loadAverage1m: {
      before: Number(loadBefore[0]!.toFixed(2)),
      after: Number(loadavg()[0]!.toFixed(2)),
    },
    runnerStartOnly: { what: "run backup --config {} (exits 1 on the config)", ...baseline },
    method:
      "throughput = database size (pg_database_size) / wall time; ratio = raw time / ours time (>1: ours faster); " +
      "best of the alternating rounds; oursExtraSeconds = ours - raw (best), of which the runner's start " +
      "(runnerStartOnly.seconds) and its row counts in the snapshot (rowCountSeconds, count(*) of every table " +
      "timed separately with psql); peak RSS = VmHWM of the process (the runner's node process, not its pg_dump)",
    server:
      "test/env PostgreSQL: fsync=off, synchronous_commit=off, shared_buffers=16MB, max_wal_size=8GB",
    big: databaseOf(big),
    small: databaseOf(small),
    restore: { database: "big", ...restore },
    totalSeconds: seconds(performance.now() - startedAt),
  };
  mkdirSync(join(import.meta.dirname, "results"), { recursive: true });
  // Formatted as `prettier --check .` (make lint) wants it.
  const resultFile = join(import.meta.dirname, "results", "backup.json");
  const options = { ...(await resolveConfig(resultFile)), filepath: resultFile };
  writeFileSync(resultFile, await format(JSON.stringify(result), options));
  console.log(`Total ${result.totalSeconds} s`);
} finally {
  await started?.destroy();
  rmSync(runDir, { recursive: true, force: true });
}
