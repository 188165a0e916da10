// Running a client program: its stdout streamed into a file (through gzip when
// asked and a sha256 hash, never held in memory), or just waited for. A
// failure names the program, its exit code and the tail of its stderr.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
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

function start(
  run: ToolRun,
  stdout: "pipe" | "ignore",
): { child: ChildProcess; stderr: () => string; exit: Promise<Exit> } {
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

/** Runs a program to completion (its output goes to files it is told to write). */
export async function runTool(run: ToolRun): Promise<void> {
  throwIfAborted(run.signal);
  const { child, stderr, exit } = start(run, "ignore");
  const detach = killOnAbort(child, run.signal);
  try {
    const result = await exit;
    throwIfAborted(run.signal);
    if (result.code !== 0) throw failure(run, result, stderr());
  } finally {
    detach();
  }
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
  const { child, stderr, exit } = start(run, "pipe");
  const detach = killOnAbort(child, run.signal);
  const hasher = new HashingCounter();
  const gzip =
    gzipLevel === undefined ? [] : [createGzip(gzipLevel === null ? {} : { level: gzipLevel })];
  try {
    await pipeline([child.stdout!, ...gzip, hasher, createWriteStream(file)]);
  } catch (err) {
    child.kill("SIGKILL");
    await exit.catch(() => undefined);
    throwIfAborted(run.signal);
    throw new Error(`${run.what} failed: ${errorMessage(err)}`, { cause: err });
  } finally {
    detach();
  }
  const result = await exit;
  throwIfAborted(run.signal);
  if (result.code !== 0) throw failure(run, result, stderr());
  await fsyncPath(file);
  return hasher.written();
}
