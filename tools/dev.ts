// `make dev`: a working local environment in one command. Starts a real
// control plane, PostgreSQL and Redis (test/env), installs the CRDs, starts
// the operator, applies the samples (their Secrets pointed at the local
// PostgreSQL and Redis), runs the pod runner that plays the kubelet for the
// operator's Jobs, writes .dev/kubeconfig and stays in the foreground until
// Ctrl-C.
//   node tools/dev.ts           foreground
//   node tools/dev.ts --detach  background; returns once ready (make dev-up)
//   node tools/dev.ts --down    stops what --detach started (make dev-down)
import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import type { KubeConfig } from "@kubernetes/client-node";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  processStartTime,
  startProcess,
  sweepRecordedPids,
  type ManagedProcess,
} from "../test/env/processes.ts";
import type { PodRunner } from "../test/env/pod-runner.ts";

const root = resolve(import.meta.dirname, "..");
const devDir = join(root, ".dev");
const runDir = join(devDir, "run");
const pidFile = join(devDir, "dev.pid");
const readyFile = join(devDir, "ready");
const kubeconfig = join(devDir, "kubeconfig");

function usage(): string {
  return [
    "Local environment ready:",
    `  export KUBECONFIG=${kubeconfig}`,
    `  export PATH=${process.env.PAKE_K8S_BIN ?? "~/.cache/pake-operator/k8s-<version>/bin"}:$PATH  # the matching kubectl`,
    "  kubectl version",
    "  kubectl get pake -A            # the samples, in namespace pake-samples",
    `  cat ${join(devDir, "env")}     # PostgreSQL and Redis addresses`,
    "Stop it with Ctrl-C (make dev) or make dev-down (make dev-up).",
  ].join("\n");
}

function runningPid(): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const [pid, start] = readFileSync(pidFile, "utf8").trim().split(" ");
  return pid && processStartTime(Number(pid)) === start ? Number(pid) : undefined;
}

async function foreground(): Promise<void> {
  if (runningPid())
    throw new Error(
      `A dev environment is already running (pid ${runningPid()}); run make dev-down`,
    );
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  process.env.PAKE_TEST_RUN_DIR = runDir;
  writeFileSync(pidFile, `${process.pid} ${processStartTime(process.pid)}\n`);
  const { startControlPlane, startPostgres, startRedis } = await import("../test/env/index.ts");
  const [cp, pg, redis] = await Promise.all([
    startControlPlane({ dir: join(runDir, "cluster") }),
    startPostgres(),
    startRedis(),
  ]);
  copyFileSync(cp.kubeconfigPath, kubeconfig);
  writeFileSync(join(devDir, "env"), `POSTGRES_URI=${pg.uri}\nREDIS_URL=${redis.url}\n`, {
    mode: 0o600,
  });
  const operator = await startOperatorParts(cp.kubectl.bind(cp), { pg, redis });
  const podRunner = await startSampleJobRunner(cp);
  writeFileSync(readyFile, "ready\n");
  console.log(usage());

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log("Stopping the dev environment");
    await podRunner.stop();
    await operator.stop();
    await Promise.allSettled([cp.stop({ keepDir: true }), pg.destroy(), redis.destroy()]);
    sweepRecordedPids(runDir);
    rmSync(pidFile, { force: true });
    rmSync(readyFile, { force: true });
    process.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop());
  await new Promise(() => undefined); // until a signal
}

type Kubectl = (...args: string[]) => Promise<{ code: number; stderr: string }>;

interface LocalServices {
  pg: { host: string; port: number; user: string; password: string; database: string; uri: string };
  redis: { url: string };
}

/**
 * The samples' connection Secrets (placeholders in config/samples) replaced
 * with the local PostgreSQL's and Redis's real addresses and credentials, so
 * that the postgres and redis HealthChecks probe something real.
 */
async function pointSamplesAtLocalServices(
  kubectl: Kubectl,
  services: LocalServices,
): Promise<void> {
  const { pg, redis } = services;
  const secret = (name: string, data: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace: "pake-samples",
      labels: { "app.kubernetes.io/part-of": "pake" },
    },
    type: "Opaque",
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    ),
  });
  const list = {
    apiVersion: "v1",
    kind: "List",
    items: [
      secret("pake-postgres", {
        uri: pg.uri,
        host: pg.host,
        port: String(pg.port),
        user: pg.user,
        password: pg.password,
        dbname: pg.database,
      }),
      secret("pake-redis", { url: redis.url }),
    ],
  };
  const file = join(runDir, "sample-secrets.json");
  writeFileSync(file, JSON.stringify(list), { mode: 0o600 });
  const replaced = await kubectl("replace", "-f", file);
  rmSync(file, { force: true });
  if (replaced.code !== 0)
    console.warn(`Pointing the samples at PostgreSQL/Redis failed: ${replaced.stderr}`);
}

/**
 * The samples' PersistentVolumeClaims as objects: nothing provisions them
 * (there is no storage class), the pod runner maps each to a directory under
 * .dev/volumes, and controllers that check their references find them.
 */
async function createSampleClaims(kubectl: Kubectl): Promise<void> {
  const list = {
    apiVersion: "v1",
    kind: "List",
    items: sampleClaims.map((name) => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name, namespace: "pake-samples" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    })),
  };
  const file = join(runDir, "sample-claims.json");
  writeFileSync(file, JSON.stringify(list));
  const created = await kubectl("apply", "-f", file);
  if (created.code !== 0) console.warn(`Creating the sample claims failed: ${created.stderr}`);
}

/** The CRDs, the operator, and the samples pointed at the local services. */
async function startOperatorParts(
  kubectl: Kubectl,
  services: LocalServices,
): Promise<ManagedProcess> {
  const crds = join(root, "deploy/crds");
  const applied = await kubectl("apply", "--server-side", "-f", crds);
  if (applied.code !== 0) throw new Error(`Failed to install CRDs: ${applied.stderr}`);
  await kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", crds);
  const operator = startProcess({
    name: "pake-operator",
    command: process.execPath,
    args: [
      join(root, "src/cli/main.ts"),
      "operator",
      `--kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      // Local development: curl /metrics and /health/detailed without a token.
      "--endpoint-auth=false",
    ],
    logFile: join(devDir, "operator.log"),
  });
  await kubectl("create", "namespace", "pake-samples");
  await createSampleClaims(kubectl);
  const samples = await kubectl("apply", "-n", "pake-samples", "-k", join(root, "config/samples"));
  if (samples.code !== 0) console.warn(`Applying the samples failed: ${samples.stderr}`);
  else await pointSamplesAtLocalServices(kubectl, services);
  return operator;
}

/**
 * There is no kubelet: the pod runner plays it for the operator's own Jobs,
 * running `pake-operator run <task>` locally, with the samples' volume
 * claims mapped to directories under .dev/volumes.
 */
async function startSampleJobRunner(cp: { kubeConfig(): KubeConfig }): Promise<PodRunner> {
  const { startPodRunner } = await import("../test/env/index.ts");
  const volumes = Object.fromEntries(
    sampleClaims.map((claim) => {
      const dir = join(devDir, "volumes", claim);
      mkdirSync(dir, { recursive: true });
      return [claim, dir];
    }),
  );
  seedSampleLogs(join(volumes["pake-logs"]!, "var/log/pake"));
  return startPodRunner({
    kubeConfig: cp.kubeConfig(),
    runDir: join(runDir, "pods"),
    image: "ghcr.io/pake/pake-operator",
    namespaces: ["pake-samples"],
    volumes,
    env: { KUBECONFIG: kubeconfig },
  });
}

/** Log files for the log-cleanup sample to find: one 30 days old, one fresh. */
function seedSampleLogs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const old = join(dir, "api-2026-10-01.log");
  writeFileSync(old, "an old log line\n");
  const monthAgo = new Date(Date.now() - 30 * 86_400_000);
  utimesSync(old, monthAgo, monthAgo);
  writeFileSync(join(dir, "api.log"), "a fresh log line\n");
}

/** The PersistentVolumeClaims the samples mount. */
const sampleClaims = ["pake-logs", "pake-backups"];

async function detach(): Promise<void> {
  if (runningPid()) {
    console.log(usage());
    return;
  }
  mkdirSync(devDir, { recursive: true });
  const logFile = join(devDir, "dev.log");
  const out = openSync(logFile, "w");
  const child = spawn(process.execPath, [import.meta.filename], {
    detached: true,
    stdio: ["ignore", out, out],
  });
  child.unref();
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (existsSync(readyFile)) break;
    if (child.exitCode !== null)
      throw new Error(`The dev environment failed to start:\n${readFileSync(logFile, "utf8")}`);
    await sleep(250);
  }
  if (!existsSync(readyFile))
    throw new Error(`The dev environment was not ready in time; see ${logFile}`);
  console.log(`${usage()}\nLogs: ${logFile} and ${devDir}`);
}

async function down(): Promise<void> {
  const pid = runningPid();
  if (pid) {
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && runningPid()) await sleep(200);
    if (runningPid()) process.kill(pid, "SIGKILL");
  }
  const leftovers = existsSync(runDir) ? sweepRecordedPids(runDir) : [];
  if (leftovers.length) console.log(`Killed leftover processes: ${leftovers.join(", ")}`);
  rmSync(pidFile, { force: true });
  console.log(pid ? `Stopped the dev environment (pid ${pid})` : "No dev environment was running");
}

const mode = process.argv[2];
const commands: Record<string, () => Promise<void>> = { "--detach": detach, "--down": down };
await (commands[mode ?? ""] ?? foreground)();
