// A throwaway Alertmanager (Debian's prometheus-alertmanager): a free
// loopback port, no cluster peers, its own directory for the config and the
// notification log; a receiver that sends nothing, since tests read the
// alerts back from its API (GET /api/v2/alerts).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseDir } from "./control-plane.ts";
import { freePort } from "./ports.ts";
import { startProcess, waitFor, type ManagedProcess } from "./processes.ts";

/** Where tools/toolchain.sh has apt install it. */
export const ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager";

const CONFIG = `route:
  receiver: none
  group_wait: 0s
receivers:
  - name: none
`;

/** An alert as GET /api/v2/alerts returns it (the fields tests read). */
export interface AlertmanagerAlertState {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  status: { state: "active" | "suppressed" | "unprocessed"; silencedBy: string[] };
}

export class Alertmanager {
  readonly host = "127.0.0.1";
  readonly dir: string;
  port = 0;
  private server?: ManagedProcess;

  constructor() {
    this.dir = mkdtempSync(join(baseDir(), "alertmanager-"));
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const config = join(this.dir, "alertmanager.yml");
    writeFileSync(config, CONFIG);
    this.server = startProcess({
      name: "alertmanager",
      command: ALERTMANAGER_BIN,
      logFile: join(this.dir, "alertmanager.log"),
      args: [
        `--config.file=${config}`,
        `--storage.path=${join(this.dir, "data")}`,
        `--web.listen-address=${this.host}:${this.port}`,
        "--cluster.listen-address=",
      ],
    });
    await waitFor(async () => (await fetch(`${this.url}/-/ready`)).ok, {
      what: "Alertmanager /-/ready",
      process: this.server,
    });
  }

  /**
   * The alerts Alertmanager lists as firing (matching `filter`'s labels); an
   * ended one (endsAt in the past) is no longer listed.
   */
  async alerts(filter: Record<string, string> = {}): Promise<AlertmanagerAlertState[]> {
    const query = new URLSearchParams({ active: "true", silenced: "true", inhibited: "true" });
    query.set("unprocessed", "true");
    for (const [name, value] of Object.entries(filter))
      query.append("filter", `${name}="${value}"`);
    const response = await fetch(`${this.url}/api/v2/alerts?${query.toString()}`);
    if (!response.ok) throw new Error(`Alertmanager answered HTTP ${response.status}`);
    return (await response.json()) as AlertmanagerAlertState[];
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (!process.env.PAKE_KEEP_TEST_DIRS) rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startAlertmanager(): Promise<Alertmanager> {
  const alertmanager = new Alertmanager();
  await alertmanager.start();
  return alertmanager;
}
