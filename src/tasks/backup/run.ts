// The backup runner (`pake-operator run backup`), what a BackupPolicy's Job
// runs. One run:
//   1. the backup <id> already has a manifest (a pod retry after success):
//      reported Succeeded without dumping again;
//   2. leftovers of a killed run (.tmp-*, backup directories without a
//      manifest) are removed and counted;
//   3. pg_dump's version is checked against the server's, and the databases
//      asked for against the server's;
//   4. per database: a REPEATABLE READ transaction exports its snapshot;
//      pg_dump dumps that snapshot, streamed through a sha256 hash into a
//      temporary file, fsynced, renamed into <id>/, while the transaction
//      counts rows in the same snapshot;
//   5. the roles: pg_dumpall --globals-only → globals.sql;
//   6. manifest.json last (temporary name, fsync, rename, fsync): the backup
//      exists from then on; its sha256 is the backup's;
//   7. retention prunes what it does not keep.
// A failure removes what this run wrote (no manifest: never listed).
import { execFile } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { log } from "../../runtime/log.ts";
import { parseConfig } from "../config.ts";
import { envOf } from "../env.ts";
import { withClient } from "../postgres.ts";
import { runTaskBody } from "../result.ts";
import type { TaskContext, TaskOutcome, TaskResult } from "../types.ts";
import { BackupConfig, storageRoot, type BackupInput } from "./config.ts";
import { dumpDatabase, dumpGlobals, type BackupTarget } from "./dump.ts";
import { removeQuietly, writeDurably } from "./files.ts";
import {
  MANIFEST_FILE,
  MANIFEST_VERSION,
  TEMP_PREFIX,
  listBackups,
  policyDir,
  readManifest,
  type Manifest,
  type ManifestFile,
} from "./manifest.ts";
import {
  clientTooOld,
  compressionArgs,
  parseToolVersion,
  PG_BIN_ENV,
  serverVersionOf,
  toolConnection,
  toolPath,
  type ToolVersion,
} from "./pg-tools.ts";
import { pruneBackups } from "./prune.ts";
import { withExportedSnapshot } from "./snapshot.ts";

const exec = promisify(execFile);
type Env = Readonly<Record<string, string | undefined>>;

export { BackupConfig, type BackupInput } from "./config.ts";

interface ServerInfo {
  version: ToolVersion;
  /** The environment's database. */
  database: string;
}

async function pgDumpVersion(env: Env): Promise<ToolVersion> {
  const command = toolPath(env, "pg_dump");
  const { stdout } = await exec(command, ["--version"], {
    env: toolConnection(env, undefined).env,
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
    throw new Error(
      `${command} not found: use the operator image (PostgreSQL client tools) or set ${PG_BIN_ENV}`,
    );
  });
  const version = parseToolVersion(stdout);
  if (version === undefined)
    throw new Error(`cannot read the version of ${command}: "${stdout.trim()}"`);
  return version;
}

async function serverInfo(env: Env): Promise<ServerInfo> {
  return withClient(env, undefined, async (client) => {
    const { rows } = await client.query<{ num: string; database: string }>(
      "SELECT current_setting('server_version_num') AS num, current_database() AS database",
    );
    return { version: serverVersionOf(Number(rows[0]!.num)), database: rows[0]!.database };
  });
}

interface Taken {
  manifest: Manifest;
  sha256: string;
  /** globals.sql has the roles without their passwords (pg_dumpall --no-role-passwords). */
  withoutRolePasswords?: boolean;
}

async function sha256OfFile(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** Removes .tmp-* leftovers and backup directories without a manifest; returns how many. */
async function removeLeftovers(storage: string, policy: string): Promise<number> {
  const { partial, temporary } = await listBackups(storage, policy);
  const leftovers = [...temporary, ...partial];
  for (const name of leftovers) await removeQuietly(join(policyDir(storage, policy), name));
  return leftovers.length;
}

interface Dumped {
  databases: Manifest["databases"];
  files: ManifestFile[];
}

async function dumpAll(
  target: BackupTarget,
  config: BackupConfig,
  names: string[],
  flags: string[],
): Promise<Dumped> {
  const out: Dumped = { databases: [], files: [] };
  for (const name of names) {
    const { result, tables } = await withExportedSnapshot(target.env, name, async (snapshot) => ({
      database: snapshot.database,
      files: await dumpDatabase(target, {
        database: snapshot.database,
        snapshot: snapshot.id,
        config,
        compressionArgs: flags,
      }),
    }));
    out.databases.push({ name: result.database, tables });
    out.files.push(...result.files);
  }
  return out;
}

interface Versions {
  server: ServerInfo;
  pgDump: ToolVersion;
}

async function checkVersions(env: Env): Promise<Versions> {
  const [pgDump, server] = await Promise.all([pgDumpVersion(env), serverInfo(env)]);
  const tooOld = clientTooOld(pgDump, server.version);
  if (tooOld !== undefined) throw new Error(tooOld);
  return { server, pgDump };
}

/**
 * Fails, before anything is written, when a database asked for is not on the
 * server: said plainly, naming the field it comes from, instead of the
 * connection error of the first dump that reaches it.
 */
async function checkDatabasesExist(env: Env, names: string[]): Promise<void> {
  const missing = await withClient(env, undefined, async (client) => {
    const { rows } = await client.query<{ name: string }>(
      "SELECT n AS name FROM unnest($1::text[]) AS n WHERE n NOT IN (SELECT datname FROM pg_database)",
      [names],
    );
    return rows.map((r) => `"${r.name}"`);
  });
  if (missing.length === 0) return;
  const which = missing.length === 1 ? `database ${missing[0]}` : `databases ${missing.join(", ")}`;
  throw new Error(
    `spec.database.databases: ${which} not found on the server: create it or remove it from the list`,
  );
}

async function writeManifest(target: BackupTarget, manifest: Manifest): Promise<string> {
  const tmp = join(target.policyDir, `${TEMP_PREFIX}${target.id}-${MANIFEST_FILE}`);
  target.inFlight.add(tmp);
  const written = await writeDurably(
    tmp,
    join(target.dir, MANIFEST_FILE),
    `${JSON.stringify(manifest, null, 2)}\n`,
  );
  target.inFlight.delete(tmp);
  return written.sha256;
}

async function takeBackup(
  config: BackupConfig,
  target: BackupTarget,
  now: () => Date,
): Promise<Taken> {
  const startTime = now().toISOString();
  const { server, pgDump } = await checkVersions(target.env);
  const flags = compressionArgs(config.format, config.compression, pgDump);
  const names = config.databases?.length ? config.databases : [server.database];
  await checkDatabasesExist(target.env, names);
  await mkdir(target.dir);
  const dumped = await dumpAll(target, config, names, flags);
  const globals = await dumpGlobals(target, server.database);
  dumped.files.push(globals.file);
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    id: config.id,
    policy: config.policy,
    startTime,
    endTime: now().toISOString(),
    serverVersion: server.version.version,
    pgDumpVersion: pgDump.version,
    format: config.format,
    compression: config.compression,
    databases: dumped.databases,
    files: dumped.files,
    bytes: dumped.files.reduce((sum, f) => sum + f.bytes, 0),
  };
  const sha256 = await writeManifest(target, manifest);
  return { manifest, sha256, withoutRolePasswords: globals.withoutRolePasswords };
}

/** Runs takeBackup; on failure removes the temporary files and the partial backup directory. */
async function takeBackupOrClean(
  config: BackupConfig,
  target: BackupTarget,
  now: () => Date,
): Promise<Taken> {
  try {
    return await takeBackup(config, target, now);
  } catch (err) {
    for (const path of target.inFlight) await removeQuietly(path);
    if ((await readManifest(target.dir).catch(() => undefined)) === undefined) {
      await removeQuietly(target.dir);
    }
    throw err;
  }
}

function outcomeOf(
  taken: Taken,
  pruned: string[],
  extra: Record<string, string | number | boolean>,
): TaskOutcome {
  const m = taken.manifest;
  return {
    summary:
      `Backup ${m.id}: ${m.databases.length} database(s), ${m.bytes} bytes` +
      (pruned.length > 0 ? `; pruned ${pruned.length}` : ""),
    details: {
      id: m.id,
      bytes: m.bytes,
      databases: m.databases.length,
      files: m.files.length,
      pruned: pruned.length,
      ...extra,
    },
    data: {
      backup: {
        id: m.id,
        startTime: m.startTime,
        endTime: m.endTime,
        bytes: m.bytes,
        sha256: taken.sha256,
        databases: m.databases.map((d) => d.name),
        serverVersion: m.serverVersion,
        pgDumpVersion: m.pgDumpVersion,
        format: m.format,
      },
      pruned,
    },
  };
}

async function backup(config: BackupConfig, ctx: TaskContext): Promise<TaskOutcome> {
  const now = ctx.now ?? (() => new Date());
  const logger = ctx.logger ?? log;
  const storage = storageRoot(config);
  const dir = policyDir(storage, config.policy.name);
  await mkdir(dir, { recursive: true });
  const target: BackupTarget = {
    policyDir: dir,
    id: config.id,
    dir: join(dir, config.id),
    env: envOf(ctx),
    signal: ctx.signal,
    inFlight: new Set(),
  };
  // Leftovers never include a backup with a manifest, so this is safe before the retry check.
  const leftoversRemoved = await removeLeftovers(storage, config.policy.name);
  if (leftoversRemoved > 0)
    logger.info({ leftoversRemoved }, "Removed leftovers of an earlier run");
  const existing = await readManifest(target.dir);
  let taken: Taken;
  if (existing !== undefined) {
    taken = { manifest: existing, sha256: await sha256OfFile(join(target.dir, MANIFEST_FILE)) };
    logger.info({ id: config.id }, "Found backup already taken");
  } else {
    taken = await takeBackupOrClean(config, target, now);
    logger.info({ id: config.id, bytes: taken.manifest.bytes }, "Took backup");
  }
  const extra = {
    leftoversRemoved,
    ...(existing !== undefined ? { alreadyTaken: true } : {}),
    ...(taken.withoutRolePasswords ? { rolePasswords: "omitted" } : {}),
  };
  const pruned = await pruneBackups({
    storage,
    policy: config.policy.name,
    rules: config.retention,
    timeZone: config.timeZone,
    now: now(),
  });
  if (pruned.length > 0) logger.info({ pruned }, "Pruned backups");
  return outcomeOf(taken, pruned, extra);
}

/** `pake-operator run backup`: one backup of a BackupPolicy, then retention. */
export async function runBackup(input: BackupInput, ctx: TaskContext = {}): Promise<TaskResult> {
  return runTaskBody("backup", ctx.now, async () =>
    backup(parseConfig("backup", BackupConfig, input), ctx),
  );
}
