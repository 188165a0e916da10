// The `pake-operator operator` process as a whole: it starts against the real
// API server, serves /healthz, /readyz and /metrics on the port it reports,
// and shuts down cleanly on SIGTERM (exit 0, lease released, port closed).
import { CoordinationV1Api } from "@kubernetes/client-node";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import {
  createTestNamespace,
  killOperators,
  repoRoot,
  startOperator,
  useSharedEnv,
  waitFor,
  type ManagedProcess,
} from "../env/index.ts";

const env = useSharedEnv();
afterEach(killOperators);

function operator(
  name: string,
  args: string[],
): {
  proc: ManagedProcess;
  port: () => Promise<number>;
  /** GET with the test env's endpoint reader token (protected paths need one). */
  text: (path: string) => Promise<string>;
} {
  return startOperator({ name, kubeconfigPath: env.kubeconfigPath, runDir: env.runDir, args });
}

describe("Given the pake-operator operator process", () => {
  it("When started, then it serves /healthz, /readyz and /metrics on the port it reported and logged", async () => {
    const ns = await createTestNamespace(env, "op");
    const { proc, port, text } = operator("op-serve", ["--leader-election-namespace", ns]);
    const base = `http://127.0.0.1:${await port()}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, {
      what: "readyz",
      process: proc,
      timeoutMs: 20_000,
    });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // /metrics needs a token RBAC allows (the test env's endpoint reader).
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const metrics = await text("/metrics");
    expect(metrics).toContain("pake_process_cpu_user_seconds_total");
    const leaderLine = metrics
      .split("\n")
      .find(
        (l) =>
          l.startsWith("pake_leader_is_leader{") &&
          l.includes(`lease="${ns}/pake-operator-leader"`),
      );
    expect(leaderLine).toBeDefined();
    const notFound = await fetch(`${base}/nope`);
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({ error: "NotFound" });
    const startedLine = readFileSync(proc.logFile, "utf8")
      .split("\n")
      .find((l) => l.includes("Started HTTP server"));
    expect(JSON.parse(startedLine ?? "{}")).toMatchObject({ port: await port(), level: "info" });
  });

  it("When sent SIGTERM as leader, then it exits 0 promptly, releases the Lease and closes its port", async () => {
    const ns = await createTestNamespace(env, "op");
    const { proc, port } = operator("op-term", ["--leader-election-namespace", ns]);
    const base = `http://127.0.0.1:${await port()}`;
    const api = env.kubeConfig().makeApiClient(CoordinationV1Api);
    const holder = async (): Promise<string> =>
      (await api.readNamespacedLease({ name: "pake-operator-leader", namespace: ns })).spec
        ?.holderIdentity ?? "";
    await waitFor(async () => (await holder()).includes(`_${proc.pid}_`), {
      what: "leadership",
      process: proc,
      timeoutMs: 20_000,
    });
    const start = Date.now();
    proc.signal("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(Date.now() - start).toBeLessThan(5000);
    expect(await holder()).toBe("");
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it("When leader election is off, then it is ready without touching any Lease", async () => {
    const ns = await createTestNamespace(env, "op");
    const { proc, port } = operator("op-nole", [
      "--leader-elect=false",
      "--leader-election-namespace",
      ns,
    ]);
    const base = `http://127.0.0.1:${await port()}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, {
      what: "readyz",
      process: proc,
      timeoutMs: 20_000,
    });
    const leases = await env.kubectl("get", "leases", "-n", ns, "-o", "name");
    expect(leases.stdout.trim()).toBe("");
  });

  it.each([
    {
      args: ["operator", "--metrics-bind-address", "nowhere"],
      code: 2,
      stderr: "--metrics-bind-address",
    },
    { args: ["frobnicate"], code: 2, stderr: "unknown command" },
    { args: ["version"], code: 0, stderr: "" },
  ])("When run as `pake-operator $args`, then it exits $code", ({ args, code, stderr }) => {
    const result = spawnSync(process.execPath, ["src/cli/main.ts", ...args], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(code);
    expect(result.stderr).toContain(stderr);
  });
});
