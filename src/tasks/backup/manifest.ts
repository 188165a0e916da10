// The backup storage layout and the manifest: the contract between the backup
// runner (writes), the verification and restore runners (read) and the
// retention pruning (deletes).
//
// On the volume, under the policy's storage path (mounted at <root>):
//
//   <root>/<policy>/<id>/                 one backup; <id> = start time, UTC,
//                                         "20261201T010000Z" (sorts by time)
//   <root>/<policy>/<id>/<file>           the dump files (per database:
//                                         <db>.dump, <db>.sql[.gz], or the
//                                         directory <db>.dir/), globals.sql
//   <root>/<policy>/<id>/manifest.json    written LAST, after every file is
//                                         written, fsynced and renamed from
//                                         its temporary name: a backup exists
//                                         exactly when its manifest does
//   <root>/<policy>/.tmp-*                in-flight files and directories;
//                                         leftovers of a killed run, removed
//                                         by the next run
//
// A backup directory without a manifest is partial: never listed, removed by
// the next run. Pruning deletes the files first and the manifest last, so a
// crash mid-prune never leaves a listed backup without its files.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

/** Where the storage claim is mounted in backup, verification and restore Jobs. */
export const BACKUP_ROOT = "/pake/backup";
/** The name of that volume in their pods. */
export const BACKUP_VOLUME = "backup-storage";
export const MANIFEST_FILE = "manifest.json";
export const TEMP_PREFIX = ".tmp-";
export const MANIFEST_VERSION = 1;

/** "20261201T010000Z": the id of a backup started at `time` (UTC, whole seconds). */
export function backupIdOf(time: Date): string {
  return time
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");
}

/** The start time encoded in a backup id; undefined when it is not one. */
export function timeOfBackupId(id: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(id);
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(t) ? undefined : new Date(t);
}

export const ManifestFile = z.strictObject({
  /** Path relative to the backup directory (inside a directory-format dump: "<db>.dir/3012.dat.gz"). */
  path: z.string().min(1),
  /** "dump" (one database's pg_dump output) or "globals" (pg_dumpall --globals-only). */
  kind: z.enum(["dump", "globals"]),
  /** The database of a dump file. */
  database: z.string().optional(),
  bytes: z.int().min(0),
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
});
export type ManifestFile = z.infer<typeof ManifestFile>;

export const TableCount = z.strictObject({
  schema: z.string(),
  name: z.string(),
  rows: z.int().min(0),
});
export type TableCount = z.infer<typeof TableCount>;

export const ManifestDatabase = z.strictObject({
  name: z.string().min(1),
  /** Row count of every user table, taken in the snapshot pg_dump dumped. */
  tables: z.array(TableCount),
});

export const Manifest = z.strictObject({
  version: z.literal(MANIFEST_VERSION),
  id: z.string().min(1),
  policy: z.strictObject({ namespace: z.string(), name: z.string() }),
  startTime: z.string(),
  endTime: z.string(),
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
  format: z.enum(["custom", "plain", "directory"]),
  compression: z.strictObject({
    algorithm: z.enum(["none", "gzip", "lz4", "zstd"]),
    level: z.int().optional(),
  }),
  databases: z.array(ManifestDatabase),
  files: z.array(ManifestFile),
  /** Sum of the files' bytes. */
  bytes: z.int().min(0),
});
export type Manifest = z.infer<typeof Manifest>;

/** Directory of a policy's backups. */
export function policyDir(root: string, policy: string): string {
  return join(root, policy);
}

/** Directory of one backup. */
export function backupDir(root: string, policy: string, id: string): string {
  return join(root, policy, id);
}

/** Reads and validates a backup's manifest; undefined when it is missing (a partial backup). */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return Manifest.parse(JSON.parse(text));
}

export interface StoredBackups {
  /** Complete backups (with a manifest), newest first. */
  complete: Manifest[];
  /** Backup directories without a manifest (partial; to be removed). */
  partial: string[];
  /** In-flight leftovers (.tmp-*). */
  temporary: string[];
}

/** What is on the volume for a policy. A missing policy directory holds nothing. */
export async function listBackups(root: string, policy: string): Promise<StoredBackups> {
  const dir = policyDir(root, policy);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      return { complete: [], partial: [], temporary: [] };
    throw err;
  }
  const out: StoredBackups = { complete: [], partial: [], temporary: [] };
  for (const name of names.sort().reverse()) {
    if (name.startsWith(TEMP_PREFIX)) out.temporary.push(name);
    else if (timeOfBackupId(name) === undefined) continue;
    else {
      const manifest = await readManifest(join(dir, name));
      if (manifest) out.complete.push(manifest);
      else out.partial.push(name);
    }
  }
  return out;
}
