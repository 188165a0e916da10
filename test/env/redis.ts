// A throwaway Redis: a free loopback port, no persistence, its own directory.
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { baseDir } from "./control-plane.ts";
import { freePort } from "./ports.ts";
import { startProcess, waitFor, type ManagedProcess } from "./processes.ts";
import { toolchain } from "./toolchain.ts";

export interface RedisOptions {
  /** Extra server settings, e.g. { maxmemory: "2mb" }. */
  settings?: Record<string, string>;
  /** Required of every client (`requirepass`); the URL carries it. */
  password?: string;
}

/** Sends one inline command and resolves with the first reply line. */
export function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.write(`${command}\r\n`));
    socket.setTimeout(2_000, () => socket.destroy(new Error("timeout")));
    socket.once("data", (data) => {
      resolve(data.toString("utf8").split("\r\n")[0] ?? "");
      socket.end();
    });
    socket.on("error", reject);
  });
}

export class Redis {
  readonly host = "127.0.0.1";
  readonly dir: string;
  port = 0;
  private readonly options: RedisOptions;
  private server?: ManagedProcess;

  constructor(options: RedisOptions = {}) {
    this.options = options;
    this.dir = mkdtempSync(join(baseDir(), "redis-"));
  }

  get url(): string {
    const auth = this.options.password ? `:${this.options.password}@` : "";
    return `redis://${auth}${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const settings: Record<string, string> = {
      port: String(this.port),
      bind: this.host,
      dir: this.dir,
      save: "",
      appendonly: "no",
      "protected-mode": "no",
      ...(this.options.password ? { requirepass: this.options.password } : {}),
      ...this.options.settings,
    };
    this.server = startProcess({
      name: "redis-server",
      command: join(toolchain().redisBin, "redis-server"),
      logFile: join(this.dir, "redis.log"),
      args: Object.entries(settings).flatMap(([k, v]) => [`--${k}`, v]),
    });
    // With a password, a successful AUTH is the sign the server is up.
    const [probe, answer] = this.options.password
      ? [`AUTH ${this.options.password}`, "+OK"]
      : ["PING", "+PONG"];
    await waitFor(async () => (await redisCommand(this.port, probe)) === answer, {
      what: "Redis PING",
      process: this.server,
    });
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (!process.env.PAKE_KEEP_TEST_DIRS) rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startRedis(options: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(options);
  await redis.start();
  return redis;
}
