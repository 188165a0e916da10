// MaintenanceTask benchmark (issue 5): 500 MaintenanceTasks on `* * * * *`
// next to 500 CronJobs with the same schedule, in one private local control
// plane (etcd, kube-apiserver, kube-controller-manager with the real CronJob
// and Job controllers), the operator running as its own process.
// Measures, over two scheduled minutes:
//   - delay from the scheduled minute to the Job's creationTimestamp, p50/p99,
//     for the operator and for the Kubernetes CronJob controller (the
//     timestamp has SECOND precision: delays are whole seconds, rounded down);
//   - the operator process's CPU (utime+stime from /proc over the window) and
//     resident memory (VmRSS sampled every second).
// Both use concurrencyPolicy Allow: no kubelet runs, so Jobs never finish and
// Forbid would skip the second minute. The Job controller creates a Pod for
// every Job of both kinds (they stay Pending).
// Run: make bench (or node bench/maintenancetask.bench.ts [count] [minutes]).
import { CronJobKind, JobKind, NamespaceKind } from "../src/lib/kinds.ts";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { maintenanceTaskDescriptor } from "../src/crds/index.ts";
import { KubeClient, type KubeObject } from "../src/runtime/kube.ts";

const count = Number(process.argv[2] ?? 500);
const minutes = Number(process.argv[3] ?? 2);
process.env.PAKE_TEST_RUN_DIR = mkdtempSync(join(tmpdir(), "pake-bench-"));
const runDir = process.env.PAKE_TEST_RUN_DIR;
const { installCrds, startControlPlane, startOperator, killOperators, waitFor } =
  await import("../test/env/index.ts");

const ns = "bench";

async function inParallel(n: number, width: number, fn: (i: number) => Promise<unknown>) {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

interface Delays {
  jobs: number;
  p50?: number | undefined;
  p99?: number | undefined;
  max?: number | undefined;
}

/** Delay (s) from the minute encoded in the Job name (<owner>-<unix minutes>) to creation. */
function delays(jobs: KubeObject[], prefix: string, slots: Set<number>): Delays {
  const out: number[] = [];
  for (const job of jobs) {
    const name = job.metadata.name ?? "";
    if (!name.startsWith(prefix)) continue;
    const minute = Number(name.slice(name.lastIndexOf("-") + 1));
    if (!slots.has(minute)) continue;
    const created = Date.parse(String(job.metadata.creationTimestamp));
    out.push((created - minute * 60_000) / 1000);
  }
  out.sort((a, b) => a - b);
  return { jobs: out.length, p50: percentile(out, 50), p99: percentile(out, 99), max: out.at(-1) };
}

const cp = await startControlPlane();
try {
  await installCrds(cp);
  const client = new KubeClient(cp.kubeConfig());
  await client.create(NamespaceKind, { metadata: { name: ns } });
  const t0 = Date.now();
  await inParallel(count, 16, (i) =>
    client.create(maintenanceTaskDescriptor, {
      metadata: { name: `mt-${i}`, namespace: ns },
      spec: {
        schedule: "* * * * *",
        concurrencyPolicy: "Allow",
        task: { logCleanup: { claimName: "logs", maxAge: "7d" } },
      },
    }),
  );
  await inParallel(count, 16, (i) =>
    client.create(CronJobKind, {
      metadata: { name: `cj-${i}`, namespace: ns },
      spec: {
        schedule: "* * * * *",
        concurrencyPolicy: "Allow",
        jobTemplate: {
          spec: {
            backoffLimit: 0,
            template: {
              spec: {
                restartPolicy: "Never",
                containers: [{ name: "task", image: "busybox:1.36", command: ["true"] }],
              },
            },
          },
        },
      },
    }),
  );
  const createSeconds = (Date.now() - t0) / 1000;

  const operator = startOperator({
    name: "operator-mt-bench",
    kubeconfigPath: cp.kubeconfigPath,
    runDir,
    args: ["--leader-elect=false", "--namespaces", ns, "--log-level", "warn"],
  });
  await waitFor(async () => (await operator.text("/readyz")).includes("ok"), {
    what: "operator readiness",
    process: operator.proc,
    timeoutMs: 60_000,
  });
  // Measure whole minutes that start after everything exists and is synced.
  const firstSlot = Math.floor(Date.now() / 60_000) + 1;
  const slots = new Set(Array.from({ length: minutes }, (_, i) => firstSlot + i));
  const windowStart = firstSlot * 60_000;
  const windowEnd = (firstSlot + minutes) * 60_000;
  console.log(
    `Created ${count} MaintenanceTasks and ${count} CronJobs in ${createSeconds.toFixed(1)} s; ` +
      `measuring the minutes from ${new Date(windowStart).toISOString()} to ${new Date(windowEnd).toISOString()}`,
  );
  await new Promise((r) => setTimeout(r, Math.max(0, windowStart - Date.now())));
  const pid = operator.proc.pid;
  const cpuStart = cpuSeconds(pid);
  const rss: number[] = [];
  while (Date.now() < windowEnd) {
    rss.push(rssMiB(pid));
    await new Promise((r) => setTimeout(r, 1000));
  }
  const cpu = cpuSeconds(pid) - cpuStart;
  // Let the last minute's Jobs be created (the CronJob controller may lag).
  await new Promise((r) => setTimeout(r, 45_000));
  const jobs: KubeObject[] = [];
  let cont: string | undefined;
  do {
    const page = await client.list(JobKind, { namespace: ns, limit: 500, continueToken: cont });
    jobs.push(...page.items);
    cont = page.metadata.continue || undefined;
  } while (cont);
  const mt = delays(jobs, "mt-", slots);
  const cj = delays(jobs, "cj-", slots);
  const windowSeconds = (windowEnd - windowStart) / 1000;
  const result = {
    date: new Date().toISOString(),
    count,
    minutes,
    precision:
      "Job creationTimestamp has one-second precision: delays are whole seconds (rounded down)",
    maintenanceTask: { ...mt, expectedJobs: count * minutes },
    cronJob: { ...cj, expectedJobs: count * minutes },
    operator: {
      cpuSeconds: Number(cpu.toFixed(2)),
      cpuAverageCores: Number((cpu / windowSeconds).toFixed(3)),
      rssMiBAverage: Number((rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length)).toFixed(1)),
      rssMiBPeak: Number(Math.max(...rss).toFixed(1)),
    },
  };
  const row = (label: string, d: Delays) =>
    `${label.padEnd(18)} ${String(d.jobs).padStart(6)} / ${count * minutes}  ${String(d.p50 ?? "-").padStart(6)}  ${String(d.p99 ?? "-").padStart(6)}  ${String(d.max ?? "-").padStart(6)}`;
  console.log(`\n${"delay to Job (s)".padEnd(18)}   jobs / expected     p50     p99     max`);
  console.log(row("MaintenanceTask", mt));
  console.log(row("CronJob", cj));
  console.log(
    `\noperator: CPU ${result.operator.cpuSeconds} s over ${windowSeconds} s (${result.operator.cpuAverageCores} cores), ` +
      `RSS avg ${result.operator.rssMiBAverage} MiB, peak ${result.operator.rssMiBPeak} MiB`,
  );
  console.log(result.precision);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/maintenancetask.json", `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await killOperators();
  await cp.stop();
}
