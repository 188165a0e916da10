// File mechanics of the backup volume: hashing while writing, fsync of files
// and directories (a rename is durable only once its directory is synced),
// hashing a directory-format dump, and removal that tolerates what is gone.
import { createHash, type Hash } from "node:crypto";
import { open, readdir, rm, writeFile, rename } from "node:fs/promises";
import { join, relative } from "node:path";
import { Transform, type TransformCallback } from "node:stream";

export interface Written {
  bytes: number;
  sha256: string;
}

/** A pass-through stream that hashes (sha256) and counts what flows through it. */
export class HashingCounter extends Transform {
  private readonly hash: Hash = createHash("sha256");
  private bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  written(): Written {
    return { bytes: this.bytes, sha256: this.hash.digest("hex") };
  }
}

/** fsync of a file or a directory. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads of a file being hashed: large, into one buffer per file. */
const HASH_READ_BYTES = 256 * 1024;

/** sha256 and size of a file, read through one reused buffer (no allocation per chunk). */
export async function hashFile(path: string): Promise<Written> {
  const handle = await open(path, "r");
  const buffer = Buffer.allocUnsafe(HASH_READ_BYTES);
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { bytes, sha256: hash.digest("hex") };
}

/** Every regular file under `dir`, as paths relative to it, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Hashes and fsyncs every file of a directory (a directory-format dump), then the directory. */
export async function hashAndSyncDirectory(dir: string): Promise<({ path: string } & Written)[]> {
  const out: ({ path: string } & Written)[] = [];
  for (const path of await filesUnder(dir)) {
    const file = join(dir, path);
    out.push({ path, ...(await hashFile(file)) });
    await fsyncPath(file);
  }
  await fsyncPath(dir);
  return out;
}

/** Writes `text` to `tmp`, fsyncs it, renames it to `target` and fsyncs the target's directory. */
export async function writeDurably(tmp: string, target: string, text: string): Promise<Written> {
  await writeFile(tmp, text);
  await fsyncPath(tmp);
  await rename(tmp, target);
  await fsyncPath(join(target, ".."));
  const data = Buffer.from(text, "utf8");
  return { bytes: data.length, sha256: createHash("sha256").update(data).digest("hex") };
}

/** Removes a file or directory tree; what is already gone is fine, other errors are ignored too. */
export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => undefined);
}
