// A throwaway PostgreSQL cluster: initdb in a temporary directory, a free
// loopback port, password authentication, never the system cluster. When we
// run as root it runs as the "postgres" (else "nobody") user, because
// PostgreSQL refuses to run as root.
import { execFile } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { canaryValue } from "./canary.ts";
import { baseDir } from "./control-plane.ts";
import { freePort } from "./ports.ts";
import { startProcess, waitFor, type ManagedProcess } from "./processes.ts";
import { toolchain } from "./toolchain.ts";

const exec = promisify(execFile);

export interface PostgresOptions {
  maxConnections?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /**
   * Directory of another server's initdb and postgres (e.g. toolchain().pg17Bin);
   * default the toolchain's. psql stays the toolchain's.
   */
  bin?: string;
}

interface Account {
  uid?: number;
  gid?: number;
}

/** The unprivileged account to run as when we are root. */
function serverAccount(): Account {
  if (process.getuid?.() !== 0) return {};
  const passwd = readFileSync("/etc/passwd", "utf8").split("\n");
  const entry =
    passwd.find((l) => l.startsWith("postgres:")) ?? passwd.find((l) => l.startsWith("nobody:"));
  const [, , uid, gid] = (entry ?? "").split(":");
  return { uid: Number(uid ?? 65534), gid: Number(gid ?? 65534) };
}

export class Postgres {
  readonly host = "127.0.0.1";
  readonly user = "postgres";
  readonly database = "postgres";
  /** A secret canary (test/env/canary.ts): every URI Secret the tests make from it carries the marker. */
  readonly password = canaryValue();
  readonly dir: string;
  port = 0;
  private readonly options: PostgresOptions;
  private readonly account = serverAccount();
  private server?: ManagedProcess;
  /** Where initdb and postgres are (bin, or options.bin). */
  private serverBin: string;

  constructor(options: PostgresOptions = {}) {
    this.options = options;
    this.dir = mkdtempSync(join(baseDir(), "pg-"));
    this.serverBin = options.bin ?? this.bin;
  }

  /**
   * A server installation in a directory the server's account cannot reach
   * (a cache under root's home) is hard-linked into this cluster's directory.
   */
  private async reachableServerBin(): Promise<void> {
    if (this.options.bin === undefined || this.account.uid === undefined) return;
    const installation = join(this.options.bin, "..");
    const copy = join(this.dir, "server");
    await exec("cp", ["-al", installation, copy]).catch(() =>
      exec("cp", ["-a", installation, copy]),
    );
    this.serverBin = join(copy, basename(this.options.bin));
  }

  get uri(): string {
    return `postgresql://${this.user}:${this.password}@${this.host}:${this.port}/${this.database}`;
  }

  get bin(): string {
    return toolchain().pgBin;
  }

  /** Environment for libpq tools (psql, pg_dump, pg_restore) to reach this server. */
  get libpqEnv(): Record<string, string> {
    return {
      PGHOST: this.host,
      PGPORT: String(this.port),
      PGUSER: this.user,
      PGPASSWORD: this.password,
      PGDATABASE: this.database,
    };
  }

  async init(): Promise<void> {
    chmodSync(this.dir, 0o755);
    if (this.account.uid !== undefined) chownSync(this.dir, this.account.uid, this.account.gid!);
    const pwfile = join(this.dir, "pwfile");
    writeFileSync(pwfile, this.password, { mode: 0o600 });
    if (this.account.uid !== undefined) chownSync(pwfile, this.account.uid, this.account.gid!);
    await this.reachableServerBin();
    await exec(
      join(this.serverBin, "initdb"),
      [
        "-D",
        join(this.dir, "data"),
        "-U",
        this.user,
        `--pwfile=${pwfile}`,
        "--auth=scram-sha-256",
        "--locale=C",
        "--encoding=UTF8",
        "--no-sync",
      ],
      { ...this.account, cwd: this.dir },
    );
    rmSync(pwfile);
    this.port = await freePort();
  }

  async start(): Promise<void> {
    const settings: Record<string, string> = {
      listen_addresses: this.host,
      max_connections: String(this.options.maxConnections ?? 100),
      shared_buffers: "16MB",
      fsync: "off",
      synchronous_commit: "off",
      full_page_writes: "off",
      shared_preload_libraries: "pg_stat_statements",
      ...this.options.settings,
    };
    this.server = startProcess({
      name: "postgres",
      command: join(this.serverBin, "postgres"),
      logFile: join(this.dir, "postgres.log"),
      args: [
        "-D",
        join(this.dir, "data"),
        "-p",
        String(this.port),
        "-k",
        this.dir,
        ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
      ],
      stopSignal: "SIGINT", // fast shutdown: roll back open transactions and exit
      ...this.account,
    });
    await waitFor(async () => (await this.psql("SELECT 1")).trim() === "1", {
      what: "PostgreSQL to accept connections",
      process: this.server,
    });
  }

  async stop(): Promise<void> {
    await this.server?.stop(15_000);
  }

  /** Runs SQL with the real psql client; returns unaligned, tuples-only output. */
  async psql(sql: string, database = this.database): Promise<string> {
    const { stdout } = await exec(
      join(this.bin, "psql"),
      ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql],
      {
        env: { ...process.env, ...this.libpqEnv },
      },
    );
    return stdout;
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (!process.env.PAKE_KEEP_TEST_DIRS) rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startPostgres(options: PostgresOptions = {}): Promise<Postgres> {
  const pg = new Postgres(options);
  await pg.init();
  await pg.start();
  return pg;
}
