// HealthCheck benchmark (issue 4): 2,000 HTTP checks at a 5 s interval,
// probed by the real operator process (node src/cli/main.ts operator) on a
// private local control plane, against a local node:http server in this
// process.
// Measures over a steady-state window (after every check has been probed):
//   - schedule lag: how late each probe starts, seen at the target server as
//     (time between two requests of the same check) - interval; p50 / p99;
//   - probes per second (requests the server received);
//   - CPU (% of one core) and resident memory of the operator process;
//   - API-server writes per probe: POST/PUT/PATCH/DELETE of pake.dev objects
//     and Events, from kube-apiserver's apiserver_request_total. In steady
//     state a healthy check writes status once per status interval (60 s),
//     i.e. 1/12 ≈ 0.083 writes per probe at a 5 s interval.
// Run: make bench (or node bench/healthcheck.bench.ts [checks] [windowSeconds]).
// Writes bench/results/healthcheck.json.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { healthCheckDescriptor } from "../src/crds/index.ts";
import { KubeClient } from "../src/runtime/kube.ts";

const checks = Number(process.argv[2] ?? 2000);
const windowSeconds = Number(process.argv[3] ?? 90);
const intervalMs = 5000;
const runDir = mkdtempSync(join(tmpdir(), "pake-bench-"));
process.env.PAKE_TEST_RUN_DIR = runDir;
const { installCrds, startControlPlane, startOperator, killOperators, waitFor } =
  await import("../test/env/index.ts");

// ---- the target: records each check's request times ----
let measuring = false;
let requests = 0;
const last = new Map<string, number>();
const lags: number[] = [];
const server = createServer((req, res) => {
  const now = performance.now();
  const id = req.url ?? "";
  if (measuring) {
    requests++;
    const previous = last.get(id);
    if (previous !== undefined) lags.push(now - previous - intervalMs);
  }
  last.set(id, now);
  res.writeHead(200, { "content-type": "text/plain" }).end("ok");
});
// Longer than the probe interval: the checks' keep-alive connections stay open.
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = (server.address() as AddressInfo).port;

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
}

function memoryMiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
}

const cp = await startControlPlane({ controllerManager: false });
try {
  await installCrds(cp);
  const client = new KubeClient(cp.kubeConfig());
  await cp.kubectl("create", "namespace", "bench");

  let t = Date.now();
  let next = 0;
  const create = async (): Promise<void> => {
    while (next < checks) {
      const i = next++;
      await client.create(healthCheckDescriptor, {
        apiVersion: "pake.dev/v1alpha1",
        kind: "HealthCheck",
        metadata: { name: `http-${i}`, namespace: "bench" },
        spec: {
          interval: "5s",
          timeout: "2s",
          target: { http: { url: `http://127.0.0.1:${port}/c/${i}` } },
        },
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, create));
  const createSeconds = (Date.now() - t) / 1000;

  t = Date.now();
  const operator = startOperator({
    name: "bench-operator",
    kubeconfigPath: cp.kubeconfigPath,
    runDir,
    args: [
      "--leader-elect=false",
      "--namespaces",
      "bench",
      "--log-level",
      process.env.PAKE_BENCH_LOG_LEVEL ?? "warn",
    ],
  });
  await waitFor(() => Promise.resolve(last.size >= checks), {
    what: "every check probed once",
    process: operator.proc,
    timeoutMs: 120_000,
    intervalMs: 200,
  });
  const firstProbeSeconds = (Date.now() - t) / 1000;
  // Settle: the first status write of each check, and the one when its
  // errorRatePercent metric appears (after 20 probes, i.e. 100 s), are one-off
  // writes; the window measures the steady state after them.
  await sleep(Number(process.env.PAKE_BENCH_SETTLE_MS ?? 105_000));

  const writes = async (): Promise<{
    pake: number;
    all: number;
    byKind: Record<string, number>;
  }> => {
    const raw = (await cp.kubectl("get", "--raw", "/metrics")).stdout;
    let pake = 0;
    let all = 0;
    const byKind: Record<string, number> = {};
    for (const line of raw.split("\n")) {
      if (!line.startsWith("apiserver_request_total{")) continue;
      const verb = /verb="(POST|PUT|PATCH|DELETE|APPLY)"/.exec(line)?.[1];
      if (!verb) continue;
      const n = Number(line.split(" ").pop());
      all += n;
      if (!/group="pake.dev"/.test(line) && !/resource="events"/.test(line)) continue;
      pake += n;
      const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(line)?.[1] ?? "";
      const key = `${verb} ${label("resource")}${label("subresource") ? `/${label("subresource")}` : ""} ${label("code")}`;
      byKind[key] = (byKind[key] ?? 0) + n;
    }
    return { pake, all, byKind };
  };
  const pid = operator.proc.pid;
  const w0 = await writes();
  const cpu0 = cpuTicks(pid);
  const start = performance.now();
  measuring = true;
  await sleep(windowSeconds * 1000);
  measuring = false;
  const seconds = (performance.now() - start) / 1000;
  const cpu1 = cpuTicks(pid);
  const w1 = await writes();
  const metricsText = await operator.text("/metrics");
  const sumOf = (prefix: string): number =>
    metricsText
      .split("\n")
      .filter((l) => l.startsWith(prefix))
      .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
  const failures = sumOf("pake_healthcheck_probe_failures_total{");
  const heapUsedMiB = Math.round(sumOf("pake_nodejs_heap_size_used_bytes") / 2 ** 20);

  const results = {
    checks,
    intervalSeconds: intervalMs / 1000,
    windowSeconds: Math.round(seconds),
    createSeconds: Math.round(createSeconds * 10) / 10,
    secondsToFirstProbeOfAll: Math.round(firstProbeSeconds * 10) / 10,
    probes: requests,
    probesPerSecond: Math.round((requests / seconds) * 10) / 10,
    expectedProbesPerSecond: checks / (intervalMs / 1000),
    scheduleLagMs: {
      p50: Math.round(Math.max(0, percentile(lags, 50)) * 10) / 10,
      p99: Math.round(Math.max(0, percentile(lags, 99)) * 10) / 10,
      max: Math.round(Math.max(0, ...lags) * 10) / 10,
    },
    operatorCpuPercentOfOneCore: Math.round(((cpu1 - cpu0) / 100 / seconds) * 1000) / 10,
    operatorRssMiB: memoryMiB(pid, "VmRSS"),
    operatorPeakRssMiB: memoryMiB(pid, "VmHWM"),
    operatorHeapUsedMiB: heapUsedMiB,
    apiWrites: w1.pake - w0.pake,
    apiWritesPerProbe: Math.round(((w1.pake - w0.pake) / Math.max(1, requests)) * 10000) / 10000,
    apiWritesAllResources: w1.all - w0.all,
    apiWritesByKind: Object.fromEntries(
      Object.entries(w1.byKind)
        .map(([k, v]) => [k, v - (w0.byKind[k] ?? 0)] as const)
        .filter(([, v]) => v > 0),
    ),
    probeFailuresTotal: failures,
  };
  await killOperators();

  const rows: Array<[string, string]> = [
    ["checks (HTTP, 5 s interval)", String(results.checks)],
    ["measured window", `${results.windowSeconds} s`],
    [
      "probes per second",
      `${results.probesPerSecond} (expected ${results.expectedProbesPerSecond})`,
    ],
    ["schedule lag p50", `${results.scheduleLagMs.p50} ms`],
    ["schedule lag p99", `${results.scheduleLagMs.p99} ms`],
    ["operator CPU", `${results.operatorCpuPercentOfOneCore} % of one core`],
    ["operator RSS (peak)", `${results.operatorRssMiB} MiB (${results.operatorPeakRssMiB} MiB)`],
    ["operator JS heap used", `${results.operatorHeapUsedMiB} MiB`],
    ["API writes in window", String(results.apiWrites)],
    ["API writes per probe", String(results.apiWritesPerProbe)],
    ["probe failures (total)", String(results.probeFailuresTotal)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log("HealthCheck benchmark");
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
  mkdirSync(join(import.meta.dirname, "results"), { recursive: true });
  writeFileSync(
    join(import.meta.dirname, "results", "healthcheck.json"),
    `${JSON.stringify({ date: new Date().toISOString(), ...results }, null, 2)}\n`,
  );
} finally {
  await killOperators();
  server.closeAllConnections();
  server.close();
  await cp.stop();
}
