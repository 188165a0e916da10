// Dumping one database (pg_dump, in the exported snapshot) and the roles
// (pg_dumpall --globals-only) into temporary names under the policy
// directory, then renaming them into the backup's directory.
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { streamToolToFile, runTool, type ToolRun } from "./child.ts";
import type { BackupConfig } from "./config.ts";
import { fsyncPath, hashAndSyncDirectory } from "./files.ts";
import { TEMP_PREFIX, type ManifestFile } from "./manifest.ts";
import { toolConnection, toolPath } from "./pg-tools.ts";

type Env = Readonly<Record<string, string | undefined>>;

export const GLOBALS_FILE = "globals.sql";

/** Where one backup's files are written. */
export interface BackupTarget {
  /** The policy directory (temporary names live here). */
  policyDir: string;
  id: string;
  /** The backup directory, <policyDir>/<id>. */
  dir: string;
  env: Env;
  signal?: AbortSignal | undefined;
  /** Temporary paths in flight, for the cleanup after a failure. */
  inFlight: Set<string>;
}

/** A database's name as a file name stem ("/" and friends escaped; never "globals"). */
export function fileStem(database: string): string {
  const stem = encodeURIComponent(database);
  return stem === "globals" ? "globals_" : stem;
}

/** The dump's file (or directory) name in the backup directory. */
export function dumpFileName(
  database: string,
  config: Pick<BackupConfig, "format" | "compression">,
): string {
  const stem = fileStem(database);
  if (config.format === "custom") return `${stem}.dump`;
  if (config.format === "directory") return `${stem}.dir`;
  const suffix = { none: "", gzip: ".gz", lz4: ".lz4", zstd: ".zst" }[config.compression.algorithm];
  return `${stem}.sql${suffix}`;
}

function tempPath(target: BackupTarget, name: string): string {
  const path = join(target.policyDir, `${TEMP_PREFIX}${target.id}-${name}`);
  target.inFlight.add(path);
  return path;
}

async function moveIn(target: BackupTarget, tmp: string, name: string): Promise<void> {
  await rename(tmp, join(target.dir, name));
  target.inFlight.delete(tmp);
  await fsyncPath(target.dir);
}

export interface DatabaseDump {
  database: string;
  snapshot: string;
  config: BackupConfig;
  /** The pg_dump compression flag (pg-tools.ts compressionArgs). */
  compressionArgs: string[];
}

function pgDumpRun(target: BackupTarget, dump: DatabaseDump, extra: string[]): ToolRun {
  const conn = toolConnection(target.env, dump.database);
  return {
    what: `pg_dump of database ${dump.database}`,
    command: toolPath(target.env, "pg_dump"),
    args: [
      "--no-password",
      `--format=${dump.config.format}`,
      `--snapshot=${dump.snapshot}`,
      ...dump.compressionArgs,
      ...extra,
      `--dbname=${conn.dbname}`,
    ],
    env: conn.env,
    signal: target.signal,
  };
}

/** Dumps one database; returns its manifest entries. */
export async function dumpDatabase(
  target: BackupTarget,
  dump: DatabaseDump,
): Promise<ManifestFile[]> {
  const name = dumpFileName(dump.database, dump.config);
  const tmp = tempPath(target, name);
  const entry = { kind: "dump" as const, database: dump.database };
  if (dump.config.format === "directory") {
    await runTool(pgDumpRun(target, dump, [`--file=${tmp}`]));
    const files = await hashAndSyncDirectory(tmp);
    await moveIn(target, tmp, name);
    return files.map((f) => ({
      path: `${name}/${f.path}`,
      ...entry,
      bytes: f.bytes,
      sha256: f.sha256,
    }));
  }
  const gzip = dump.config.format === "plain" && dump.config.compression.algorithm === "gzip";
  const written = await streamToolToFile(
    pgDumpRun(target, dump, []),
    tmp,
    gzip ? (dump.config.compression.level ?? null) : undefined,
  );
  await moveIn(target, tmp, name);
  return [{ path: name, ...entry, ...written }];
}

function globalsRun(target: BackupTarget, database: string, extra: string[]): ToolRun {
  const conn = toolConnection(target.env, database);
  const uri = conn.dbname !== undefined && !conn.dbname.startsWith("dbname=");
  return {
    what: "pg_dumpall --globals-only",
    command: toolPath(target.env, "pg_dumpall"),
    // The initial database is --database; --dbname carries the server of a URI.
    args: [
      "--no-password",
      "--globals-only",
      ...extra,
      `--database=${database}`,
      ...(uri ? [`--dbname=${conn.dbname}`] : []),
    ],
    env: conn.env,
    signal: target.signal,
  };
}

export interface GlobalsDump {
  file: ManifestFile;
  /** A user who may not read pg_authid (not a superuser) gets the roles without their passwords. */
  withoutRolePasswords: boolean;
}

/** Dumps the roles and tablespaces (pg_dumpall --globals-only) to globals.sql. */
export async function dumpGlobals(target: BackupTarget, database: string): Promise<GlobalsDump> {
  const tmp = tempPath(target, GLOBALS_FILE);
  let withoutRolePasswords = false;
  let written;
  try {
    written = await streamToolToFile(globalsRun(target, database, []), tmp);
  } catch (err) {
    if (!/permission denied for table pg_authid/.test((err as Error).message)) throw err;
    withoutRolePasswords = true;
    written = await streamToolToFile(globalsRun(target, database, ["--no-role-passwords"]), tmp);
  }
  await moveIn(target, tmp, GLOBALS_FILE);
  return { file: { path: GLOBALS_FILE, kind: "globals", ...written }, withoutRolePasswords };
}
