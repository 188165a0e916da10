// capacityCheck: usage of mounted volumes (statfs), database sizes, node
// resources (requests vs allocatable, and usage when metrics.k8s.io is
// served), each against the KPI thresholds (disk 70/80/95 %); with previous
// samples, the growth per day by least-squares regression and the days until
// a volume is full. The result's data.sample is the sample to pass as
// previousSamples next time.
import type { V1Pod } from "@kubernetes/client-node";
import { statfs } from "node:fs/promises";
import { z } from "zod";
import { NodeMetricsKind } from "../lib/kinds.ts";
import { parseConfig } from "./config.ts";
import { envOf, hasDatabaseEnv } from "./env.ts";
import { coreApi, customObjectsApi, parseQuantity } from "./kube.ts";
import { withClient } from "./postgres.ts";
import { runTaskBody } from "./result.ts";
import type { Severity, TaskContext, TaskOutcome, TaskResult } from "./types.ts";

/** Where the controller mounts the task's PersistentVolumeClaims: <root>/<claim>. */
export const DEFAULT_VOLUMES_ROOT = "/pake/volumes";

const Sample = z.object({
  time: z.iso.datetime({ offset: true }),
  /** Volume name → used bytes. */
  volumes: z.record(z.string(), z.number().nonnegative()).optional(),
  /** Database name → bytes. */
  databases: z.record(z.string(), z.number().nonnegative()).optional(),
});
export type CapacitySample = z.output<typeof Sample>;

const ThresholdInput = z.object({
  metric: z.string(),
  warning: z.number(),
  critical: z.number(),
  direction: z.enum(["Above", "Below"]).default("Above"),
});

/**
 * The CRD's capacityCheck fields plus: `volumes` (name → mount path; default
 * <volumesRoot>/<claim> for each persistentVolumeClaims entry), `database`
 * (measure database sizes; default when connectionSecretRef is set) and
 * `previousSamples` (earlier results' data.sample, for growth).
 */
export const CapacityCheckConfig = z.object({
  persistentVolumeClaims: z.array(z.string().min(1)).max(32).optional(),
  volumesRoot: z.string().min(1).default(DEFAULT_VOLUMES_ROOT),
  volumes: z
    .array(z.object({ name: z.string().min(1), path: z.string().min(1) }))
    .max(32)
    .optional(),
  connectionSecretRef: z.object({ name: z.string() }).optional(),
  database: z.boolean().optional(),
  nodes: z.boolean().default(true),
  warningDaysUntilFull: z.int().min(1).max(3650).default(30),
  criticalDaysUntilFull: z.int().min(1).max(3650).default(7),
  thresholds: z.array(ThresholdInput).max(16).optional(),
  previousSamples: z.array(Sample).max(1000).optional(),
});
export type CapacityCheckConfig = z.output<typeof CapacityCheckConfig>;
export type CapacityCheckInput = z.input<typeof CapacityCheckConfig>;

/** The KPI table: disk, memory and CPU (target, warning, critical in %). */
export const CAPACITY_DEFAULTS: Readonly<
  Record<string, { target: number; warning: number; critical: number }>
> = {
  diskPercent: { target: 70, warning: 80, critical: 95 },
  memoryPercent: { target: 70, warning: 80, critical: 95 },
  cpuPercent: { target: 60, warning: 80, critical: 95 },
};

export interface Finding {
  subject: string;
  metric: string;
  value: number;
  severity: Severity;
  message: string;
}

interface Point {
  days: number;
  value: number;
}

/** Least-squares slope (value per day) of the points; undefined with fewer than 2 distinct times. */
export function growthPerDay(points: readonly Point[]): number | undefined {
  if (points.length < 2) return undefined;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.days, 0) / n;
  const my = points.reduce((s, p) => s + p.value, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.days - mx) ** 2;
    sxy += (p.days - mx) * (p.value - my);
  }
  return sxx === 0 ? undefined : sxy / sxx;
}

/** Days until `capacity` is reached at `perDay` growth; undefined when not growing. */
export function daysUntilFull(
  used: number,
  capacity: number,
  perDay: number | undefined,
): number | undefined {
  if (perDay === undefined || perDay <= 0) return undefined;
  return Math.max(0, (capacity - used) / perDay);
}

const FALLBACK_THRESHOLD = { target: undefined, warning: 80, critical: 95 };

function thresholdFor(config: CapacityCheckConfig, metric: string) {
  const kpi = CAPACITY_DEFAULTS[metric] ?? FALLBACK_THRESHOLD;
  const own = config.thresholds?.find((t) => t.metric === metric);
  if (own === undefined) return kpi;
  return { target: kpi.target, warning: own.warning, critical: own.critical };
}

/** The severity of a usage percentage: critical > critical, warning > warning, info > target. */
export function usageSeverity(
  value: number,
  t: { target?: number | undefined; warning: number; critical: number },
): Severity | undefined {
  if (value > t.critical) return "critical";
  if (value > t.warning) return "medium";
  if (t.target !== undefined && value > t.target) return "info";
  return undefined;
}

function usageFinding(
  config: CapacityCheckConfig,
  subject: string,
  metric: string,
  value: number,
): Finding | undefined {
  const t = thresholdFor(config, metric);
  const severity = usageSeverity(value, t);
  if (severity === undefined) return undefined;
  const level =
    severity === "critical"
      ? `critical (> ${t.critical} %)`
      : severity === "medium"
        ? `warning (> ${t.warning} %)`
        : `above target (> ${t.target} %)`;
  return {
    subject,
    metric,
    value: round(value),
    severity,
    message: `${subject}: ${metric} ${round(value)} % is ${level}`,
  };
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export interface VolumeUsage {
  name: string;
  path: string;
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
  percent: number;
  growthBytesPerDay?: number;
  daysUntilFull?: number;
}

function volumesOf(config: CapacityCheckConfig): { name: string; path: string }[] {
  if (config.volumes !== undefined) return config.volumes;
  return (config.persistentVolumeClaims ?? []).map((name) => ({
    name,
    path: `${config.volumesRoot}/${name}`,
  }));
}

function history(
  config: CapacityCheckConfig,
  kind: "volumes" | "databases",
  name: string,
  nowMs: number,
): Point[] {
  return (config.previousSamples ?? [])
    .map((s) => ({ days: (Date.parse(s.time) - nowMs) / 86_400_000, value: s[kind]?.[name] }))
    .filter((p): p is Point => p.value !== undefined && p.days < 0);
}

async function measureVolume(
  config: CapacityCheckConfig,
  v: { name: string; path: string },
  nowMs: number,
): Promise<VolumeUsage> {
  const s = await statfs(v.path);
  const used = (s.blocks - s.bfree) * s.bsize;
  const available = s.bavail * s.bsize;
  const capacity = used + available; // what df shows: reserved blocks excluded
  const usage: VolumeUsage = {
    name: v.name,
    path: v.path,
    totalBytes: s.blocks * s.bsize,
    usedBytes: used,
    availableBytes: available,
    percent: capacity === 0 ? 0 : round((used / capacity) * 100),
  };
  const growth = growthPerDay([
    ...history(config, "volumes", v.name, nowMs),
    { days: 0, value: used },
  ]);
  if (growth !== undefined) usage.growthBytesPerDay = Math.round(growth);
  const days = daysUntilFull(used, capacity, growth);
  if (days !== undefined) usage.daysUntilFull = round(days);
  return usage;
}

function forecastFinding(config: CapacityCheckConfig, v: VolumeUsage): Finding | undefined {
  if (v.daysUntilFull === undefined || v.daysUntilFull >= config.warningDaysUntilFull)
    return undefined;
  const critical = v.daysUntilFull < config.criticalDaysUntilFull;
  return {
    subject: `volume ${v.name}`,
    metric: "daysUntilFull",
    value: v.daysUntilFull,
    severity: critical ? "critical" : "medium",
    message: `volume ${v.name} is forecast to be full in ${v.daysUntilFull} day(s) (${critical ? "critical" : "warning"} below ${critical ? config.criticalDaysUntilFull : config.warningDaysUntilFull})`,
  };
}

export interface DatabaseSize {
  name: string;
  bytes: number;
  growthBytesPerDay?: number;
}

async function measureDatabases(
  ctx: TaskContext,
  config: CapacityCheckConfig,
  nowMs: number,
): Promise<DatabaseSize[]> {
  const rows = await withClient(envOf(ctx), undefined, async (client) => {
    const r = await client.query<{ name: string; bytes: string }>(
      `SELECT datname AS name, pg_database_size(datname)::text AS bytes
         FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 2 DESC`,
    );
    return r.rows;
  });
  return rows.map((r) => {
    const bytes = Number(r.bytes);
    const growth = growthPerDay([
      ...history(config, "databases", r.name, nowMs),
      { days: 0, value: bytes },
    ]);
    return growth === undefined
      ? { name: r.name, bytes }
      : { name: r.name, bytes, growthBytesPerDay: Math.round(growth) };
  });
}

export interface NodeUsage {
  name: string;
  cpuRequestedPercent: number;
  memoryRequestedPercent: number;
  cpuUsedPercent?: number;
  memoryUsedPercent?: number;
}

function podRequests(pods: readonly V1Pod[], node: string): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  const onNode = pods.filter((p) => p.spec?.nodeName === node);
  for (const c of onNode.flatMap((p) => p.spec?.containers ?? [])) {
    const requests = c.resources?.requests ?? {};
    cpu += parseQuantity(requests.cpu) || 0;
    memory += parseQuantity(requests.memory) || 0;
  }
  return { cpu, memory };
}

type NodeMetrics = { metadata?: { name?: string }; usage?: { cpu?: string; memory?: string } };

async function nodeMetrics(ctx: TaskContext): Promise<Map<string, NodeMetrics["usage"]>> {
  const api = await customObjectsApi(ctx);
  try {
    const { group, version, plural } = NodeMetricsKind;
    const list = (await api.listClusterCustomObject({ group, version, plural })) as {
      items?: NodeMetrics[];
    };
    return new Map((list.items ?? []).map((m) => [m.metadata?.name ?? "", m.usage]));
  } catch {
    return new Map(); // metrics.k8s.io not served
  }
}

async function measureNodes(ctx: TaskContext): Promise<NodeUsage[]> {
  const core = await coreApi(ctx);
  const nodes = (await core.listNode()).items;
  if (nodes.length === 0) return [];
  const pods = (
    await core.listPodForAllNamespaces({
      fieldSelector: "status.phase!=Succeeded,status.phase!=Failed",
    })
  ).items;
  const metrics = await nodeMetrics(ctx);
  return nodes.map((n) => {
    const name = n.metadata?.name ?? "";
    return nodeUsage(name, n.status?.allocatable ?? {}, podRequests(pods, name), metrics.get(name));
  });
}

/** used / allocatable in percent; undefined when either is unknown. */
function percentOf(used: string | number | undefined, allocatable: number): number | undefined {
  if (used === undefined || !(allocatable > 0)) return undefined;
  const value = typeof used === "number" ? used : parseQuantity(used);
  return Number.isNaN(value) ? undefined : round((value / allocatable) * 100);
}

function nodeUsage(
  name: string,
  allocatable: Record<string, string>,
  requested: { cpu: number; memory: number },
  usage: NodeMetrics["usage"],
): NodeUsage {
  const cpu = parseQuantity(allocatable.cpu);
  const memory = parseQuantity(allocatable.memory);
  const out: NodeUsage = {
    name,
    cpuRequestedPercent: percentOf(requested.cpu, cpu) ?? 0,
    memoryRequestedPercent: percentOf(requested.memory, memory) ?? 0,
  };
  const cpuUsed = percentOf(usage?.cpu, cpu);
  const memoryUsed = percentOf(usage?.memory, memory);
  if (cpuUsed !== undefined) out.cpuUsedPercent = cpuUsed;
  if (memoryUsed !== undefined) out.memoryUsedPercent = memoryUsed;
  return out;
}

function nodeFindings(config: CapacityCheckConfig, nodes: readonly NodeUsage[]): Finding[] {
  return nodes
    .flatMap((n) => [
      usageFinding(
        config,
        `node ${n.name}`,
        "cpuPercent",
        n.cpuUsedPercent ?? n.cpuRequestedPercent,
      ),
      usageFinding(
        config,
        `node ${n.name}`,
        "memoryPercent",
        n.memoryUsedPercent ?? n.memoryRequestedPercent,
      ),
    ])
    .filter((f): f is Finding => f !== undefined);
}

const SEVERITY_ORDER: readonly Severity[] = ["critical", "high", "medium", "low", "info"];

function worst(findings: readonly Finding[]): Severity | undefined {
  return SEVERITY_ORDER.find((s) => findings.some((f) => f.severity === s));
}

interface Measured {
  volumes: VolumeUsage[];
  databases: DatabaseSize[];
  nodes: NodeUsage[];
  notes: string[];
}

async function measureAll(
  ctx: TaskContext,
  config: CapacityCheckConfig,
  nowMs: number,
): Promise<Measured> {
  const volumes: VolumeUsage[] = [];
  for (const v of volumesOf(config)) volumes.push(await measureVolume(config, v, nowMs));
  const wantDb =
    config.database ?? (config.connectionSecretRef !== undefined || hasDatabaseEnv(envOf(ctx)));
  const databases = wantDb ? await measureDatabases(ctx, config, nowMs) : [];
  const notes: string[] = [];
  let nodes: NodeUsage[] = [];
  if (config.nodes) {
    nodes = await measureNodes(ctx).catch((err: Error) => {
      notes.push(`nodes not measured: ${err.message}`);
      return [];
    });
  }
  return { volumes, databases, nodes, notes };
}

function outcomeOf(config: CapacityCheckConfig, m: Measured, nowIso: string): TaskOutcome {
  const findings = [
    ...m.volumes.flatMap((v) => [
      usageFinding(config, `volume ${v.name}`, "diskPercent", v.percent),
      forecastFinding(config, v),
    ]),
    ...nodeFindings(config, m.nodes),
  ].filter((f): f is Finding => f !== undefined);
  const w = worst(findings.filter((f) => f.severity !== "info"));
  const level = w === undefined ? "ok" : w === "critical" ? "critical" : "warning";
  const fullest = [...m.volumes].sort((a, b) => b.percent - a.percent)[0];
  const dbBytes = m.databases.reduce((s, d) => s + d.bytes, 0);
  const parts = [
    `${m.volumes.length} volume(s)${fullest ? `, fullest ${fullest.name} ${fullest.percent} %` : ""}`,
    `${m.databases.length} database(s) ${(dbBytes / 1_048_576).toFixed(1)} MiB`,
    `${m.nodes.length} node(s)`,
  ];
  return {
    ...(w !== undefined ? { severity: w } : {}),
    summary: `capacity ${level}: ${parts.join("; ")}; ${findings.length} finding(s)`,
    details: {
      level,
      findings: findings.length,
      volumes: m.volumes.length,
      ...(fullest ? { fullestVolume: fullest.name, fullestVolumePercent: fullest.percent } : {}),
      ...(fullest?.daysUntilFull !== undefined
        ? { fullestVolumeDaysUntilFull: fullest.daysUntilFull }
        : {}),
      databaseBytes: dbBytes,
      nodes: m.nodes.length,
    },
    data: {
      findings: findings.sort(
        (a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity),
      ),
      sample: {
        time: nowIso,
        volumes: Object.fromEntries(m.volumes.map((v) => [v.name, v.usedBytes])),
        databases: Object.fromEntries(m.databases.map((d) => [d.name, d.bytes])),
      },
      volumes: m.volumes,
      databases: m.databases,
      nodes: m.nodes,
      notes: m.notes,
    },
  };
}

export async function runCapacityCheck(
  input: CapacityCheckInput,
  ctx: TaskContext = {},
): Promise<TaskResult> {
  return runTaskBody("capacityCheck", ctx.now, async () => {
    const config = parseConfig("capacityCheck", CapacityCheckConfig, input);
    const now = (ctx.now ?? (() => new Date()))();
    const measured = await measureAll(ctx, config, now.getTime());
    return outcomeOf(config, measured, now.toISOString());
  });
}
