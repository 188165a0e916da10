// The operator as a real process (`node src/cli/main.ts operator`), as the
// integration tests run it: its HTTP port from the ready file it writes, its
// /metrics as text, and a registry so a test can kill every operator it
// started, by PID, even when it fails. Protected paths (/metrics, the detailed
// health API) are read with the token of a ServiceAccount RBAC allows.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { endpointReaderToken } from "./endpoint-reader.ts";
import { startProcess, waitFor, type ManagedProcess } from "./processes.ts";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface OperatorOptions {
  /** Unique within the run: names the log and ready files. */
  name: string;
  kubeconfigPath: string;
  runDir: string;
  /** Flags after `operator --kubeconfig … --metrics-bind-address 127.0.0.1:0`. */
  args?: string[];
  env?: Record<string, string>;
}

export interface OperatorProcess {
  proc: ManagedProcess;
  /** The HTTP port, once the process has written its ready file. */
  port(): Promise<number>;
  /** GET a path on its HTTP server (with the endpoint reader's token unless the path is open). */
  fetch(path: string): Promise<Response>;
  /** GET a path on its HTTP server and return the body as text. */
  text(path: string): Promise<string>;
  /** The value of one metric sample (the first line that starts with `prefix`). */
  metric(prefix: string): Promise<number | undefined>;
  /** Resolves once /readyz answers ok; fails with its log if the process exits. */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * Saves its /metrics and /health/detailed into the run directory
   * (`<name>.final-metrics.txt`, `<name>.final-health.txt`) for the secret
   * canary scan; best effort, a process that does not answer saves nothing.
   */
  saveFinalSnapshot(): Promise<void>;
}

const started: OperatorProcess[] = [];

/** How long a final snapshot may take: the endpoints of a healthy operator answer in milliseconds. */
const SNAPSHOT_TIMEOUT_MS = 5_000;

const SNAPSHOT_PATHS = [
  ["/metrics", "final-metrics"],
  ["/health/detailed", "final-health"],
] as const;

/** Paths every client may read: the kubelet's probes and the health summary. */
const OPEN_PATHS = new Set(["/healthz", "/readyz", "/health"]);

export function startOperator(options: OperatorOptions): OperatorProcess {
  const readyFile = join(options.runDir, `${options.name}.ready.json`);
  const proc = startProcess({
    name: options.name,
    command: process.execPath,
    cwd: repoRoot,
    logFile: join(options.runDir, `${options.name}.log`),
    env: { PAKE_READY_FILE: readyFile, ...options.env },
    args: [
      "src/cli/main.ts",
      "operator",
      "--kubeconfig",
      options.kubeconfigPath,
      "--metrics-bind-address",
      "127.0.0.1:0",
      ...(options.args ?? []),
    ],
  });
  let port: number | undefined;
  const op: OperatorProcess = {
    proc,
    async port() {
      if (port !== undefined) return port;
      await waitFor(() => Promise.resolve(existsSync(readyFile)), {
        what: `${options.name} to listen`,
        process: proc,
        timeoutMs: 30_000,
        intervalMs: 50,
      });
      port = (JSON.parse(readFileSync(readyFile, "utf8")) as { port: number }).port;
      return port;
    },
    async fetch(path) {
      const url = `http://127.0.0.1:${await op.port()}${path}`;
      if (OPEN_PATHS.has(new URL(url).pathname)) return fetch(url);
      const token = await endpointReaderToken(options.kubeconfigPath, options.runDir);
      return fetch(url, { headers: { authorization: `Bearer ${token}` } });
    },
    async text(path) {
      return (await op.fetch(path)).text();
    },
    async ready(timeoutMs = 30_000) {
      await waitFor(async () => (await op.text("/readyz")).includes("ok"), {
        what: `${options.name} readiness`,
        process: proc,
        timeoutMs,
      });
    },
    async metric(prefix) {
      const line = (await op.text("/metrics")).split("\n").find((l) => l.startsWith(prefix));
      return line === undefined ? undefined : Number(line.split(" ").pop());
    },
    async saveFinalSnapshot() {
      if (!proc.running || !existsSync(readyFile)) return;
      for (const [path, suffix] of SNAPSHOT_PATHS) {
        const body = await withTimeout(op.text(path), SNAPSHOT_TIMEOUT_MS).catch(() => undefined);
        if (body !== undefined) {
          writeFileSync(join(options.runDir, `${options.name}.${suffix}.txt`), body);
        }
      }
    },
  };
  started.push(op);
  return op;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timed out")), ms).unref()),
  ]);
}

/** Saves each running operator's final snapshot, then SIGKILLs every operator started so far (for afterEach/afterAll). */
export async function killOperators(): Promise<void> {
  const ops = started.splice(0);
  await Promise.all(ops.map((op) => op.saveFinalSnapshot()));
  for (const op of ops) op.proc.signal("SIGKILL");
  await Promise.all(ops.map((op) => op.proc.exited));
}
