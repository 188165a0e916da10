// Running a client program: its stdout copied into a file (hashed with
// sha256 and counted on the way, never held in memory), or just waited for.
// A failure names the program, its exit code and the tail of its stderr.
//
// Why a local socket and one reused buffer: a stdio pipe read by a Node
// stream allocates a new Buffer for every read, freed only when a GC finds it
// dead, and V8 schedules that by its heap and external-memory limits, not by
// the number of chunks: the runner's peak RSS grew with the dump (from ~95 MiB
// at start to 132 MiB for a 100 MiB database, 161 MiB for 1 GiB). Here the program writes into one
// end of a connected local socket and the runner reads the other end into a
// single 1 MiB buffer (net `onread`), hashes it and writes it to the file
// before the next read: nothing is allocated per chunk.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, writeSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { errorMessage } from "../../lib/errors.ts";
import { HashingCounter, fsyncPath, type Written } from "./files.ts";

export interface ToolRun {
  /** For messages: "pg_dump of database shop". */
  what: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  signal?: AbortSignal | undefined;
}

const STDERR_TAIL = 2048;
/** Large reads: pg_dump's output crosses in few round trips. */
const COPY_BUFFER_BYTES = 1024 * 1024;
/** What our end sends first, so the end we hand to the program is known to be ours. */
const TOKEN_BYTES = 16;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
}

/** Keeps the last few KiB of a child's stderr. */
function stderrTail(child: ChildProcess): () => string {
  let tail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL);
  });
  return () => tail.trim();
}

function failure(run: ToolRun, exit: Exit, stderr: string): Error {
  const how =
    exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return new Error(
    `${run.what} failed: ${run.command.split("/").pop()} ${how}${stderr ? `: ${stderr}` : ""}`,
  );
}

interface Started {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<Exit>;
}

function start(run: ToolRun, stdout: "pipe" | "ignore" | Socket): Started {
  const child = spawn(run.command, run.args, { env: run.env, stdio: ["ignore", stdout, "pipe"] });
  const exit = exitOf(child);
  exit.catch(() => undefined); // awaited later; this only keeps an early spawn error from being unhandled
  const stderr = stderrTail(child);
  return { child, stderr, exit };
}

function killOnAbort(child: ChildProcess, signal: AbortSignal | undefined): () => void {
  const kill = (): void => void child.kill("SIGTERM");
  signal?.addEventListener("abort", kill, { once: true });
  return () => signal?.removeEventListener("abort", kill);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error("backup aborted (SIGTERM)");
}

/** Waits for the program, then fails unless it exited 0 (or the run was aborted). */
async function checkExit(run: ToolRun, started: Started): Promise<void> {
  const result = await started.exit;
  throwIfAborted(run.signal);
  if (result.code !== 0) throw failure(run, result, started.stderr());
}

/** After a failed copy: the program is killed and the error names it. */
async function copyFailed(run: ToolRun, started: Started, err: unknown): Promise<never> {
  started.child.kill("SIGKILL");
  await started.exit.catch(() => undefined);
  throwIfAborted(run.signal);
  throw new Error(`${run.what} failed: ${errorMessage(err)}`, { cause: err });
}

/** Runs a program to completion (its output goes to files it is told to write). */
export async function runTool(run: ToolRun): Promise<void> {
  throwIfAborted(run.signal);
  const started = start(run, "ignore");
  const detach = killOnAbort(started.child, run.signal);
  try {
    await checkExit(run, started);
  } finally {
    detach();
  }
}

/** Writes `length` bytes of `buffer` at the file's position, however many calls it takes. */
function writeAllSync(fd: number, buffer: Buffer, length: number): void {
  let offset = 0;
  while (offset < length) offset += writeSync(fd, buffer, offset, length - offset);
}

/**
 * Copies what arrives on a socket into a file through one reused buffer,
 * hashing and counting it. Each chunk is written before the next read, so the
 * buffer is free again when the socket fills it, and the program blocks
 * (back-pressure) while the socket's own buffer is full. The write is
 * synchronous: an async write with a pause and resume of the socket per chunk
 * left ~2.7 KB of garbage per read (pg_dump writes ~9 KiB at a time), a young
 * generation GC every few seconds and ~3 MiB more peak RSS; a write into the
 * page cache takes microseconds and the runner has nothing else to do meanwhile.
 */
class ReusedBufferCopy {
  readonly buffer = Buffer.allocUnsafe(COPY_BUFFER_BYTES);
  private readonly hash = createHash("sha256");
  private readonly fd: number;
  private bytes = 0;
  private socket: Socket | undefined;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** The socket's `onread` callback; a failed write ends the copy with its error. */
  readonly onData = (length: number): boolean => {
    try {
      this.hash.update(this.buffer.subarray(0, length));
      writeAllSync(this.fd, this.buffer, length);
      this.bytes += length;
      return true;
    } catch (err) {
      this.socket?.destroy(err as Error);
      return false;
    }
  };

  /** Resolves once the other end is closed and everything is written; rejects on a write error. */
  async drain(socket: Socket): Promise<void> {
    this.socket = socket;
    socket.resume();
    await once(socket, "end");
  }

  written(): Written {
    return { bytes: this.bytes, sha256: this.hash.digest("hex") };
  }
}

async function firstBytes(socket: Socket, count: number): Promise<Buffer> {
  let got = Buffer.alloc(0);
  while (got.length < count) {
    const [chunk] = (await once(socket, "data")) as [Buffer];
    got = Buffer.concat([got, chunk]);
  }
  socket.pause();
  return got;
}

/** Accepts the one connection that sends `token`; anything else is refused. */
async function acceptOurs(server: Server, token: Buffer): Promise<Socket> {
  const [socket] = (await once(server, "connection")) as [Socket];
  const sent = await firstBytes(socket, TOKEN_BYTES);
  if (sent.equals(token)) return socket;
  socket.destroy();
  throw new Error("an unexpected process connected to the runner's local socket");
}

interface SocketPair {
  /** Our end: reads into the copy's buffer, paused until the copy starts. */
  ours: Socket;
  /** The end for the program's stdout. */
  theirs: Socket;
}

/** Connects our end, sends the token, and resolves with the accepted end for the program. */
async function connectPair(
  server: Server,
  path: string,
  copy: ReusedBufferCopy,
): Promise<SocketPair> {
  const token = randomBytes(TOKEN_BYTES);
  const accepted = acceptOurs(server, token);
  const ours = connect({ path, onread: { buffer: copy.buffer, callback: copy.onData } });
  ours.pause(); // no read before the copy starts
  ours.write(token);
  const failed = new Promise<never>((_, reject) => ours.once("error", reject));
  try {
    return { ours, theirs: await Promise.race([accepted, failed]) };
  } catch (err) {
    ours.destroy();
    throw err;
  }
}

/**
 * A connected pair of local stream sockets: an abstract Unix socket (Linux;
 * nothing on disk, visible only inside the pod's network namespace), closed
 * to further connections as soon as ours is accepted.
 */
async function socketPair(copy: ReusedBufferCopy): Promise<SocketPair> {
  const path = `\0pake-operator-${randomBytes(16).toString("hex")}`;
  const server = createServer();
  try {
    server.listen(path);
    await once(server, "listening");
    return await connectPair(server, path, copy);
  } finally {
    server.close();
  }
}

/** Copies the program's stdout into the open `file`; returns its size and sha256. */
async function copyOutput(run: ToolRun, file: FileHandle): Promise<Written> {
  const copy = new ReusedBufferCopy(file.fd);
  const { ours, theirs } = await socketPair(copy);
  let started: Started;
  try {
    started = start(run, theirs);
  } finally {
    theirs.destroy(); // the program has its own copy; ours would hold the end of file back
  }
  const detach = killOnAbort(started.child, run.signal);
  try {
    await copy.drain(ours);
  } catch (err) {
    await copyFailed(run, started, err);
  } finally {
    detach();
    ours.destroy();
  }
  await checkExit(run, started);
  return copy.written();
}

/**
 * The program's stdout through gzip, hashed and counted, into `file` (Node
 * streams: zlib allocates each output chunk anyway). Only the plain format
 * with gzip compression comes here; pg_dump compresses the other formats.
 */
async function gzipOutput(run: ToolRun, file: string, gzipLevel: number | null): Promise<Written> {
  const started = start(run, "pipe");
  const detach = killOnAbort(started.child, run.signal);
  const hasher = new HashingCounter();
  const gzip = createGzip(gzipLevel === null ? {} : { level: gzipLevel });
  try {
    await pipeline([started.child.stdout!, gzip, hasher, createWriteStream(file)]);
  } catch (err) {
    await copyFailed(run, started, err);
  } finally {
    detach();
  }
  await checkExit(run, started);
  return hasher.written();
}

/**
 * Streams a program's stdout into `file` (gzip-compressed when `gzipLevel` is
 * given), hashing and counting on the way, then fsyncs the file.
 */
export async function streamToolToFile(
  run: ToolRun,
  file: string,
  gzipLevel?: number | null,
): Promise<Written> {
  throwIfAborted(run.signal);
  if (gzipLevel !== undefined) {
    const written = await gzipOutput(run, file, gzipLevel);
    await fsyncPath(file);
    return written;
  }
  const handle = await open(file, "w");
  try {
    const written = await copyOutput(run, handle);
    await handle.sync();
    return written;
  } finally {
    await handle.close();
  }
}
