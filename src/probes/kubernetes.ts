// Kubernetes workload probe: a Deployment, StatefulSet or DaemonSet by name
// or label selector; ready vs desired replicas and container restarts of its
// pods. Requests carry the probe's AbortSignal, so a timeout cancels them.
import {
  AppsV1Api,
  CoreV1Api,
  Observable,
  type ConfigurationOptions,
  type RequestContext,
  type ResponseContext,
  type V1LabelSelector,
  type V1Pod,
} from "@kubernetes/client-node";
import type { LabelSelector } from "../crds/common.ts";
import type { KubernetesProbeTarget, Probe, ProbeContext } from "./types.ts";
import { errorMessage } from "../lib/errors.ts";
import { abortMessage, failed, metric, round, stopwatch } from "./util.ts";
import { namespaceRefusal } from "./tenancy.ts";

/** Options that make a client-node request abortable by `signal`. */
export function withSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(signal);
          return new Observable(Promise.resolve(ctx));
        },
        post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}

/** A label selector in the API's query syntax ("app=web,tier in (a,b),!legacy"). */
export function selectorString(selector: LabelSelector | V1LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(",");
    const forms: Record<string, string> = {
      In: `${e.key} in (${values})`,
      NotIn: `${e.key} notin (${values})`,
      Exists: e.key,
      DoesNotExist: `!${e.key}`,
    };
    parts.push(forms[e.operator] ?? e.key);
  }
  return parts.join(",");
}

interface Workload {
  name: string;
  desired: number;
  ready: number;
  podSelector: string;
}

interface WorkloadObject {
  metadata?: { name?: string };
  spec?: { replicas?: number; selector?: V1LabelSelector };
  status?: { readyReplicas?: number; desiredNumberScheduled?: number; numberReady?: number };
}

export function workloadFrom(kind: KubernetesProbeTarget["kind"], obj: WorkloadObject): Workload {
  const spec = obj.spec ?? {};
  const status = obj.status ?? {};
  const counts =
    kind === "DaemonSet"
      ? { desired: status.desiredNumberScheduled ?? 0, ready: status.numberReady ?? 0 }
      : { desired: spec.replicas ?? 1, ready: status.readyReplicas ?? 0 };
  return { name: obj.metadata?.name ?? "", ...counts, podSelector: selectorString(spec.selector) };
}

function apis(
  target: KubernetesProbeTarget,
  ctx: ProbeContext,
): { apps: AppsV1Api; core: CoreV1Api } {
  return ctx.pool.get("kubernetes-api", {
    create: () => ({
      apps: target.kubeConfig.makeApiClient(AppsV1Api),
      core: target.kubeConfig.makeApiClient(CoreV1Api),
    }),
  });
}

async function readByName(
  api: AppsV1Api,
  target: KubernetesProbeTarget,
  opts: ConfigurationOptions,
): Promise<WorkloadObject[]> {
  const param = { name: target.name!, namespace: target.namespace };
  if (target.kind === "Deployment") return [await api.readNamespacedDeployment(param, opts)];
  if (target.kind === "StatefulSet") return [await api.readNamespacedStatefulSet(param, opts)];
  return [await api.readNamespacedDaemonSet(param, opts)];
}

async function listBySelector(
  api: AppsV1Api,
  target: KubernetesProbeTarget,
  opts: ConfigurationOptions,
): Promise<WorkloadObject[]> {
  const param = { namespace: target.namespace, labelSelector: selectorString(target.selector) };
  if (target.kind === "Deployment") return (await api.listNamespacedDeployment(param, opts)).items;
  if (target.kind === "StatefulSet")
    return (await api.listNamespacedStatefulSet(param, opts)).items;
  return (await api.listNamespacedDaemonSet(param, opts)).items;
}

export function restartsOf(pods: V1Pod[]): number {
  let total = 0;
  for (const pod of pods) {
    const statuses = [
      ...(pod.status?.containerStatuses ?? []),
      ...(pod.status?.initContainerStatuses ?? []),
    ];
    total += statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
  }
  return total;
}

function describeTarget(target: KubernetesProbeTarget): string {
  return target.name
    ? `${target.kind} ${target.namespace}/${target.name}`
    : `${target.kind}s matching ${selectorString(target.selector)} in ${target.namespace}`;
}

function notFound(err: unknown): boolean {
  return (err as { code?: unknown }).code === 404;
}

export const kubernetesProbe: Probe<KubernetesProbeTarget> = (target, ctx) => {
  // The validator refuses such a check already; this holds if it was bypassed.
  const refusal = namespaceRefusal(target.namespace, target.checkNamespace, target.crossNamespace);
  return refusal ? Promise.resolve(failed(`Refused: ${refusal}`, 0)) : probeWorkloads(target, ctx);
};

const probeWorkloads: Probe<KubernetesProbeTarget> = async (target, ctx) => {
  const elapsed = stopwatch();
  const { apps, core } = apis(target, ctx);
  const opts = withSignal(ctx.signal);
  let objects: WorkloadObject[];
  try {
    objects = target.name
      ? await readByName(apps, target, opts)
      : await listBySelector(apps, target, opts);
  } catch (err) {
    if (notFound(err)) return failed(`${describeTarget(target)} not found`, elapsed());
    const why = ctx.signal.aborted ? abortMessage(ctx.signal, ctx.timeoutMs) : errorMessage(err);
    return failed(`Could not read ${describeTarget(target)}: ${why}`, elapsed());
  }
  if (objects.length === 0) return failed(`No ${describeTarget(target)}`, elapsed());
  const workloads = objects.map((o) => workloadFrom(target.kind, o));
  let restarts: number;
  try {
    restarts = await podRestarts(core, target.namespace, workloads, opts);
  } catch (err) {
    const why = ctx.signal.aborted ? abortMessage(ctx.signal, ctx.timeoutMs) : errorMessage(err);
    return failed(`Could not list pods of ${describeTarget(target)}: ${why}`, elapsed());
  }
  const desired = workloads.reduce((s, w) => s + w.desired, 0);
  const ready = workloads.reduce((s, w) => s + w.ready, 0);
  const metrics = [
    metric("replicasDesired", desired, "count"),
    metric("replicasReady", ready, "count"),
    metric("replicasReadyPercent", desired === 0 ? 100 : round((ready / desired) * 100), "%"),
    metric("restarts", restarts, "count"),
  ];
  if (!target.name) metrics.push(metric("workloads", workloads.length, "count"));
  const message = `${describeTarget(target)}: ${ready}/${desired} replicas ready`;
  return { ok: true, latencyMs: elapsed(), message, metrics };
};

async function podRestarts(
  core: CoreV1Api,
  namespace: string,
  workloads: Workload[],
  opts: ConfigurationOptions,
): Promise<number> {
  let total = 0;
  for (const w of workloads) {
    if (!w.podSelector) continue;
    const pods = await core.listNamespacedPod({ namespace, labelSelector: w.podSelector }, opts);
    total += restartsOf(pods.items);
  }
  return total;
}
