// Child processes the harness starts: each is tracked by PID, its output goes
// to a log file, and it is ended by PID only (never by name): on stop(), on
// this process's exit, and by the global teardown's sweep of PID files left
// by a worker that was killed (a test timeout, a crash).
import { spawn, type ChildProcess } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface ProcessOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: Record<string, string>;
  cwd?: string;
  /** Run as this user (when we are root: PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** Signal for a graceful stop; SIGKILL follows after the stop timeout. */
  stopSignal?: NodeJS.Signals;
}

const live = new Set<ManagedProcess>();

/** Directory where PID files are recorded for the teardown sweep, if any. */
function pidDir(): string | undefined {
  const runDir = process.env.PAKE_TEST_RUN_DIR;
  return runDir ? join(runDir, "pids") : undefined;
}

/** Process start time in clock ticks (field 22 of /proc/PID/stat), to tell a reused PID apart. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly stopSignal: NodeJS.Signals;
  private exitCode: number | null | undefined;

  constructor(options: ProcessOptions) {
    this.name = options.name;
    this.logFile = options.logFile;
    this.stopSignal = options.stopSignal ?? "SIGTERM";
    const fd = openSync(options.logFile, "a");
    this.child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", fd, fd],
      uid: options.uid,
      gid: options.gid,
    });
    closeSync(fd);
    if (this.child.pid === undefined) throw new Error(`Failed to start ${options.name}`);
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? null : 0);
        live.delete(this);
        this.forgetPid();
        resolve(this.exitCode);
      });
      this.child.on("error", () => resolve(null));
    });
    live.add(this);
    this.recordPid();
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Last lines of the process's log, for error messages. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Graceful stop, then SIGKILL after timeoutMs. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill(this.stopSignal);
    // Cancel the timer once the race is decided: a pending timer would keep
    // the test runner's event loop alive after teardown.
    const timer = new AbortController();
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      sleep(timeoutMs, true, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    if (timedOut && this.running) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }

  private recordPid(): void {
    const dir = pidDir();
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    const start = processStartTime(this.pid) ?? "";
    writeFileSync(join(dir, String(this.pid)), `${start}\n${this.name}\n`);
  }

  private forgetPid(): void {
    const dir = pidDir();
    if (dir) rmSync(join(dir, String(this.pid)), { force: true });
  }
}

export function startProcess(options: ProcessOptions): ManagedProcess {
  return new ManagedProcess(options);
}

/** Kills what a crashed worker left behind, by the PIDs it recorded. */
export function sweepRecordedPids(runDir: string): string[] {
  const dir = join(runDir, "pids");
  const killed: string[] = [];
  const entries = existsSync(dir) ? readdirSync(dir) : [];
  for (const entry of entries) {
    const pid = Number(entry);
    const [start, name] = readFileSync(join(dir, entry), "utf8").split("\n");
    if (start && processStartTime(pid) === start) {
      process.kill(pid, "SIGKILL");
      killed.push(`${name ?? "process"} (pid ${pid})`);
    }
    rmSync(join(dir, entry), { force: true });
  }
  return killed;
}

// A test process that exits (normally or by an uncaught error) takes its
// children with it.
process.on("exit", () => {
  for (const p of live) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

export interface WaitOptions {
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Fail at once, with its log, when this process exits while we wait. */
  process?: ManagedProcess;
}

/** Polls check() until it returns true; errors count as "not yet". */
export async function waitFor(check: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let lastError = "";
  while (Date.now() < deadline) {
    if (options.process && !options.process.running) {
      throw new Error(
        `${options.process.name} exited while waiting for ${options.what}:\n${options.process.logTail()}`,
      );
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(options.intervalMs ?? 200);
  }
  const tail = options.process ? `\n${options.process.logTail()}` : "";
  throw new Error(`Timed out waiting for ${options.what}: ${lastError}${tail}`);
}
