// The pod runner plays the kubelet for the operator's OWN Jobs only: the test
// control plane has no kubelet and no scheduler, so Pods stay Pending. For a
// new Pending Pod labelled app.kubernetes.io/managed-by=pake-operator whose
// container runs the runner image, it
//   - runs the container's command as a local process, with the project's
//     CLI standing in for the image (its entrypoint, or a `pake-operator`
//     command → node src/cli/main.ts …);
//   - resolves env: value, secretKeyRef, configMapKeyRef (read from the API)
//     and fieldRef metadata.namespace/name;
//   - maps each PersistentVolumeClaim volume to a local directory (a map the
//     test gives) by rewriting the mount path in env values;
//   - points PAKE_TERMINATION_MESSAGE_PATH at a temp file;
//   - writes the Pod's status through pods/status: Running (startTime,
//     containerStatuses), then Succeeded/Failed with the exit code, reason and
//     the termination message, so the real Job controller completes the Job.
// When the Pod disappears (the Job controller deleted it at
// activeDeadlineSeconds, or the Job was deleted) the process is killed by PID.
import type { KubeConfig } from "@kubernetes/client-node";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ConfigMapKind as configMapKind,
  PodKind as PodKind,
  SecretKind as secretKind,
} from "../../src/lib/kinds.ts";
import { KubeClient, type KubeObject } from "../../src/runtime/kube.ts";
import { repoRoot } from "./operator.ts";
import { startProcess, type ManagedProcess } from "./processes.ts";

export const POD_RUNNER_SELECTOR = "app.kubernetes.io/managed-by=pake-operator";

interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: KeyRef;
    configMapKeyRef?: KeyRef;
    fieldRef?: { fieldPath: string };
  };
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string }[];
}

interface Pod extends KubeObject {
  spec: {
    containers: Container[];
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  };
  status?: { phase?: string };
}

export interface PodRunnerOptions {
  kubeConfig: KubeConfig;
  /** Where process logs and termination-message files go. */
  runDir: string;
  /** Run only pods whose image starts with this (the runner image's repository). */
  image?: string;
  /** Namespaces to serve; default all. */
  namespaces?: string[];
  /** PersistentVolumeClaim name → local directory. */
  volumes?: Record<string, string>;
  /** Extra environment for every process (e.g. KUBECONFIG). */
  env?: Record<string, string>;
  intervalMs?: number;
}

export interface PodRun {
  namespace: string;
  pod: string;
  process: ManagedProcess;
  exitCode?: number | null;
}

export interface PodRunner {
  /** Every pod started so far. */
  readonly runs: PodRun[];
  stop(): Promise<void>;
}

type Data = Record<string, string>;

async function refValue(
  client: KubeClient,
  namespace: string,
  ref: { secret?: KeyRef; configMap?: KeyRef },
): Promise<string | undefined> {
  const r = ref.secret ?? ref.configMap!;
  try {
    const obj = await client.get<KubeObject & { data?: Data }>(
      ref.secret ? secretKind : configMapKind,
      { namespace, name: r.name },
    );
    const raw = obj.data?.[r.key];
    if (raw === undefined) return undefined;
    return ref.secret ? Buffer.from(raw, "base64").toString("utf8") : raw;
  } catch (err) {
    if (r.optional) return undefined;
    throw err;
  }
}

function fieldValue(pod: Pod, path: string | undefined): string | undefined {
  if (path === "metadata.namespace") return pod.metadata.namespace;
  if (path === "metadata.name") return pod.metadata.name;
  return undefined;
}

async function envValue(client: KubeClient, pod: Pod, e: EnvVar): Promise<string | undefined> {
  const from = e.valueFrom;
  const ns = pod.metadata.namespace!;
  if (from === undefined) return e.value;
  if (from.secretKeyRef) return refValue(client, ns, { secret: from.secretKeyRef });
  if (from.configMapKeyRef) return refValue(client, ns, { configMap: from.configMapKeyRef });
  return fieldValue(pod, from.fieldRef?.fieldPath);
}

async function resolveEnv(client: KubeClient, pod: Pod, c: Container): Promise<Data> {
  const env: Data = {};
  for (const e of c.env ?? []) {
    const value = await envValue(client, pod, e);
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

/** mount path → local directory for each PVC volume the test mapped. */
function mountMap(pod: Pod, c: Container, volumes: Record<string, string>): [string, string][] {
  const out: [string, string][] = [];
  for (const m of c.volumeMounts ?? []) {
    const claim = pod.spec.volumes?.find((v) => v.name === m.name)?.persistentVolumeClaim;
    const dir = claim ? volumes[claim.claimName] : undefined;
    if (dir !== undefined) out.push([m.mountPath, dir]);
  }
  return out.sort((a, b) => b[0].length - a[0].length);
}

function rewritePaths(value: string, mounts: [string, string][]): string {
  let out = value;
  for (const [mountPath, dir] of mounts) {
    const escaped = mountPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    out = out.replace(new RegExp(`${escaped}(?=/|"|$)`, "g"), dir);
  }
  return out;
}

function commandOf(c: Container): [string, string[]] {
  // No command: the runner image's entrypoint, the `pake-operator` CLI.
  const argv = [...(c.command ?? ["pake-operator"]), ...(c.args ?? [])];
  if (argv[0] === "pake-operator")
    return [process.execPath, [join(repoRoot, "src/cli/main.ts"), ...argv.slice(1)]];
  return [argv[0] ?? "true", argv.slice(1)];
}

class Runner implements PodRunner {
  readonly runs: PodRun[] = [];
  private readonly client: KubeClient;
  private readonly opts: PodRunnerOptions;
  private readonly live = new Map<string, PodRun>();
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling: Promise<void> = Promise.resolve();

  constructor(opts: PodRunnerOptions) {
    this.opts = opts;
    this.client = new KubeClient(opts.kubeConfig);
    mkdirSync(opts.runDir, { recursive: true });
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll()
        .catch(() => undefined)
        .finally(() => this.schedule());
    }, this.opts.intervalMs ?? 200);
  }

  private async listPods(): Promise<Pod[]> {
    const namespaces = this.opts.namespaces ?? [undefined];
    const pods: Pod[] = [];
    for (const namespace of namespaces) {
      const list = await this.client.list<Pod>(PodKind, {
        ...(namespace ? { namespace } : {}),
        labelSelector: POD_RUNNER_SELECTOR,
      });
      pods.push(...list.items);
    }
    return pods;
  }

  private async poll(): Promise<void> {
    const pods = await this.listPods();
    const present = new Set<string>();
    for (const pod of pods) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}/${pod.metadata.uid}`;
      if (!pod.metadata.deletionTimestamp) present.add(key);
      const c = this.runnable(pod, key);
      if (c === undefined) continue;
      this.seen.add(key);
      await this.start(pod, c, key).catch(() => undefined);
    }
    for (const [key, run] of this.live) {
      if (present.has(key)) continue;
      // The pod is gone (deadline, Job deleted): kill its process by PID.
      run.process.signal("SIGKILL");
      this.live.delete(key);
    }
  }

  /** The container to run, for a new Pending pod of the runner image. */
  private runnable(pod: Pod, key: string): Container | undefined {
    if (this.seen.has(key) || pod.metadata.deletionTimestamp) return undefined;
    if ((pod.status?.phase ?? "Pending") !== "Pending") return undefined;
    const c = pod.spec.containers[0];
    if (!c || (this.opts.image && !c.image.startsWith(this.opts.image))) return undefined;
    return c;
  }

  private async start(pod: Pod, c: Container, key: string): Promise<void> {
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    const mounts = mountMap(pod, c, this.opts.volumes ?? {});
    const env = await resolveEnv(this.client, pod, c);
    for (const k of Object.keys(env)) env[k] = rewritePaths(env[k]!, mounts);
    const terminationFile = join(this.opts.runDir, `${ns}-${name}.termination-log`);
    const [command, args] = commandOf(c);
    const proc = startProcess({
      name: `pod-${ns}-${name}`,
      command,
      args: args.map((a) => rewritePaths(a, mounts)),
      cwd: repoRoot,
      logFile: join(this.opts.runDir, `${ns}-${name}.log`),
      env: { ...this.opts.env, ...env, PAKE_TERMINATION_MESSAGE_PATH: terminationFile },
    });
    const run: PodRun = { namespace: ns, pod: name, process: proc };
    this.runs.push(run);
    this.live.set(key, run);
    const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await this.writeStatus(pod, {
      phase: "Running",
      startTime: startedAt,
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: startedAt }],
      containerStatuses: [
        {
          name: c.name,
          image: c.image,
          imageID: "",
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt } },
        },
      ],
    });
    void proc.exited.then((code) =>
      this.finish({ pod, c, run, key, code, startedAt, terminationFile }),
    );
  }

  private async finish(input: {
    pod: Pod;
    c: Container;
    run: PodRun;
    key: string;
    code: number | null;
    startedAt: string;
    terminationFile: string;
  }): Promise<void> {
    input.run.exitCode = input.code;
    if (!this.live.has(input.key)) return;
    this.live.delete(input.key);
    let message: string;
    try {
      message = readFileSync(input.terminationFile, "utf8").slice(0, 4096);
    } catch {
      message = "";
    }
    const exitCode = input.code ?? 137;
    const finishedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await this.writeStatus(input.pod, {
      phase: exitCode === 0 ? "Succeeded" : "Failed",
      conditions: [{ type: "Ready", status: "False", lastTransitionTime: finishedAt }],
      containerStatuses: [
        {
          name: input.c.name,
          image: input.c.image,
          imageID: "",
          ready: false,
          started: false,
          restartCount: 0,
          state: {
            terminated: {
              exitCode,
              reason: exitCode === 0 ? "Completed" : "Error",
              ...(message ? { message } : {}),
              startedAt: input.startedAt,
              finishedAt,
            },
          },
        },
      ],
    }).catch(() => undefined);
  }

  private async writeStatus(pod: Pod, status: Record<string, unknown>): Promise<void> {
    await this.client.patch(
      PodKind,
      { namespace: pod.metadata.namespace, name: pod.metadata.name! },
      { status },
      { subresource: "status" },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    const procs = [...this.live.values()].map((r) => r.process);
    this.live.clear();
    for (const p of procs) p.signal("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
  }
}

export function startPodRunner(options: PodRunnerOptions): PodRunner {
  return new Runner(options);
}
