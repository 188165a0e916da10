// System probe: CPU, memory, disk and network of the host the operator runs
// on (systeminformation), and node usage through metrics.k8s.io when the
// cluster serves that API (discovered; skipped with a note when not).
import {
  ApisApi,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Node,
} from "@kubernetes/client-node";
import si from "systeminformation";
import { withSignal } from "./kubernetes.ts";
import { parseQuantity } from "../runtime/quantity.ts";
import type { Metric, Probe, ProbeContext, SystemProbeTarget } from "./types.ts";
import { errorMessage } from "../lib/errors.ts";
import { NodeMetricsKind } from "../lib/kinds.ts";
import { abortMessage, abortable, failed, metric, round, stopwatch } from "./util.ts";
import { nodeScopeRefusal } from "./tenancy.ts";

const DISCOVERY_TTL_MS = 5 * 60_000;

/** The filesystem holding `path`: the mount with the longest matching prefix. */
export function mountFor<T extends { mount: string }>(
  filesystems: T[],
  path: string,
): T | undefined {
  const inside = (mount: string): boolean =>
    path === mount || mount === "/" || path.startsWith(mount.endsWith("/") ? mount : `${mount}/`);
  return filesystems
    .filter((fs) => inside(fs.mount))
    .sort((a, b) => b.mount.length - a.mount.length)[0];
}

async function hostMetrics(mountPath: string): Promise<{ metrics: Metric[]; notes: string[] }> {
  const [load, mem, filesystems, network] = await Promise.all([
    si.currentLoad(),
    si.mem(),
    si.fsSize(),
    si.networkStats("*"),
  ]);
  const metrics = [
    metric("cpuPercent", round(load.currentLoad), "%", "cpu"),
    metric("memoryPercent", round(((mem.total - mem.available) / mem.total) * 100), "%", "memory"),
  ];
  const notes: string[] = [];
  const fs = mountFor(filesystems, mountPath);
  if (fs) metrics.push(metric("diskPercent", round(fs.use), "%", "disk"));
  else notes.push(`No filesystem found for mount path ${mountPath}`);
  const external = network.filter((n) => n.iface !== "lo" && n.rx_sec !== null && n.rx_sec >= 0);
  if (external.length > 0) {
    const rx = external.reduce((s, n) => s + (n.rx_sec ?? 0), 0);
    const tx = external.reduce((s, n) => s + (n.tx_sec ?? 0), 0);
    metrics.push(
      metric("networkRxBytesPerSec", round(rx), "bytes/s"),
      metric("networkTxBytesPerSec", round(tx), "bytes/s"),
    );
  }
  return { metrics, notes };
}

interface Discovery {
  at: number;
  served: boolean;
}

async function metricsApiServed(kubeConfig: KubeConfig, ctx: ProbeContext): Promise<boolean> {
  const cache = ctx.pool.get<{ value?: Discovery }>("metrics-api-discovery", {
    create: () => ({}),
  });
  if (cache.value && Date.now() - cache.value.at < DISCOVERY_TTL_MS) return cache.value.served;
  const groups = await kubeConfig.makeApiClient(ApisApi).getAPIVersions({}, withSignal(ctx.signal));
  const served = groups.groups.some((g) => g.name === "metrics.k8s.io");
  cache.value = { at: Date.now(), served };
  return served;
}

export interface NodeMetrics {
  items: { metadata: { name: string }; usage: { cpu: string; memory: string } }[];
}

/** Highest CPU and memory usage of the nodes, in percent of their allocatable resources. */
export function maxUsage(usage: NodeMetrics, nodes: V1Node[]): { cpuMax: number; memMax: number } {
  let cpuMax = 0;
  let memMax = 0;
  for (const item of usage.items) {
    const allocatable =
      nodes.find((n) => n.metadata?.name === item.metadata.name)?.status?.allocatable ?? {};
    const cpuCap = parseQuantity(allocatable.cpu);
    const memCap = parseQuantity(allocatable.memory);
    if (cpuCap > 0) cpuMax = Math.max(cpuMax, (parseQuantity(item.usage.cpu) / cpuCap) * 100);
    if (memCap > 0) memMax = Math.max(memMax, (parseQuantity(item.usage.memory) / memCap) * 100);
  }
  return { cpuMax, memMax };
}

async function nodeMetrics(
  target: SystemProbeTarget,
  kubeConfig: KubeConfig,
  ctx: ProbeContext,
): Promise<Metric[]> {
  const opts = withSignal(ctx.signal);
  const { group, version, plural } = NodeMetricsKind;
  const labelSelector = Object.entries(target.nodeSelector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const [usage, nodes] = await Promise.all([
    kubeConfig
      .makeApiClient(CustomObjectsApi)
      .listClusterCustomObject(
        { group, version, plural, labelSelector },
        opts,
      ) as Promise<NodeMetrics>,
    kubeConfig.makeApiClient(CoreV1Api).listNode({ labelSelector }, opts),
  ]);
  const { cpuMax, memMax } = maxUsage(usage, nodes.items);
  return [
    metric("nodes", usage.items.length, "count"),
    metric("nodeCpuPercentMax", round(cpuMax), "%", "cpu"),
    metric("nodeMemoryPercentMax", round(memMax), "%", "memory"),
  ];
}

async function collect(
  target: SystemProbeTarget,
  ctx: ProbeContext,
): Promise<{ metrics: Metric[]; notes: string[]; parts: string[] }> {
  const scope = target.scope ?? "Host";
  const out = { metrics: [] as Metric[], notes: [] as string[], parts: [] as string[] };
  if (scope !== "Nodes") {
    const host = await hostMetrics(target.mountPath ?? "/");
    out.metrics.push(...host.metrics);
    out.notes.push(...host.notes);
    out.parts.push("host metrics collected");
  }
  if (scope === "Host") return out;
  if (!target.kubeConfig) {
    out.parts.push("node usage skipped: no cluster access configured");
  } else if (await metricsApiServed(target.kubeConfig, ctx)) {
    out.metrics.push(...(await nodeMetrics(target, target.kubeConfig, ctx)));
    out.parts.push("node usage collected from metrics.k8s.io");
  } else {
    out.parts.push("node usage skipped: metrics.k8s.io is not served");
  }
  return out;
}

export const systemProbe: Probe<SystemProbeTarget> = async (target, ctx) => {
  const elapsed = stopwatch();
  // The validator refuses such a check already; this holds if it was bypassed.
  const refusal = nodeScopeRefusal(target.scope ?? "Host", target.nodeScope);
  if (refusal) return failed(`Refused: ${refusal}`, elapsed());
  try {
    const { metrics, notes, parts } = await abortable(collect(target, ctx), ctx.signal);
    const message = parts.join("; ");
    return {
      ok: true,
      latencyMs: elapsed(),
      message: message.charAt(0).toUpperCase() + message.slice(1),
      metrics,
      notes,
    };
  } catch (err) {
    const why = ctx.signal.aborted ? abortMessage(ctx.signal, ctx.timeoutMs) : errorMessage(err);
    return failed(`Could not collect system metrics: ${why}`, elapsed());
  }
};
