// Types shared by the probes and the probe engine.
//
// The HealthCheck spec (src/crds/healthcheck.ts) names Secrets; a probe needs
// the resolved connection. The controller reads the referenced Secrets and
// builds a `ProbeTarget` with `resolveTarget` (resolve.ts); the engine and the
// probes never read Secrets themselves.
import type { KubeConfig } from "@kubernetes/client-node";
import type { LabelSelector } from "../crds/common.ts";
import type { TargetKind } from "../crds/healthcheck.ts";
import type { ProbeResult } from "../health/probe-result.ts";

// What a probe reports is the input of the health state machine, so its types
// live in health/ (which imports nothing from probes/).
export type { Metric, MetricKind, ProbeResult } from "../health/probe-result.ts";

// ---------------------------------------------------------------------------
// Resolved targets
// ---------------------------------------------------------------------------

export interface PostgresProbeTarget {
  type: "postgres";
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  /** node-postgres `ssl`: false, or TLS options. */
  ssl?: false | { rejectUnauthorized: boolean };
  /** Query timed as the database query time. Default "SELECT 1". */
  query?: string;
  /** Report the slowest statements when pg_stat_statements exists. Default true. */
  collectStatements?: boolean;
}

export interface RedisProbeTarget {
  type: "redis";
  /** redis:// or rediss:// URL, password included. */
  url: string;
}

export interface HttpProbeTarget {
  type: "http";
  url: string;
  /** Default GET. */
  method?: string;
  /** Status codes counted as success; default 200–399 (like a Kubernetes httpGet probe). */
  expectedStatusCodes?: number[];
  /** Header name → value, already resolved from Secrets. */
  headers?: Record<string, string>;
  body?: string;
  bodyMatch?: { contains?: string; regex?: string };
  /** Default true, at most 5 hops. */
  followRedirects?: boolean;
  insecureSkipTLSVerify?: boolean;
  /** Methods the operator allows (tenancy.ts); unset: GET and HEAD. */
  allowedMethods?: readonly string[];
}

export interface TcpProbeTarget {
  type: "tcp";
  host: string;
  port: number;
}

export interface KubernetesProbeTarget {
  type: "kubernetes";
  kind: "Deployment" | "StatefulSet" | "DaemonSet";
  namespace: string;
  name?: string;
  selector?: LabelSelector;
  kubeConfig: KubeConfig;
  /** The HealthCheck's namespace: the only one read unless crossNamespace (tenancy.ts). */
  checkNamespace?: string;
  crossNamespace?: boolean;
}

export interface SystemProbeTarget {
  type: "system";
  /** Default Host. */
  scope?: "Host" | "Nodes" | "All";
  /** Default "/". */
  mountPath?: string;
  nodeSelector?: Record<string, string>;
  /** Needed for scope Nodes and All. */
  kubeConfig?: KubeConfig;
  /** Scope Nodes and All are allowed by the operator (tenancy.ts); unset: Host only. */
  nodeScope?: boolean;
}

export type ProbeTarget =
  | PostgresProbeTarget
  | RedisProbeTarget
  | HttpProbeTarget
  | TcpProbeTarget
  | KubernetesProbeTarget
  | SystemProbeTarget;

export type ProbeType = ProbeTarget["type"];
// The probe types are exactly the CRD's target kinds.
const _sameKinds: [ProbeType] extends [TargetKind]
  ? [TargetKind] extends [ProbeType]
    ? true
    : never
  : never = true;
void _sameKinds;

// ---------------------------------------------------------------------------
// Probe contract
// ---------------------------------------------------------------------------

/**
 * Connections kept for one check between probes (pg Pool, ioredis client,
 * keep-alive agent, sliding windows). Owned by the engine: closed when the
 * check is removed or its connection configuration changes.
 */
export interface ResourcePool {
  /**
   * The resource named `name`, created on first use. When `configKey` differs
   * from the one it was created with, the old one is disposed and a new one
   * created (e.g. a pg Pool whose statement timeout changed).
   */
  get<T>(name: string, spec: ResourceSpec<T>): T;
  /** Disposes the named resource now (e.g. a broken client); the next get creates it anew. */
  discard(name: string): Promise<void>;
  /** Disposes everything; later gets throw. */
  close(): Promise<void>;
}

export interface ResourceSpec<T> {
  configKey?: string;
  create: () => T;
  dispose?: (resource: T) => Promise<void> | void;
}

export interface ProbeContext {
  /** Aborted when the per-probe timeout passes or the check is removed. */
  signal: AbortSignal;
  timeoutMs: number;
  pool: ResourcePool;
}

export type Probe<T extends ProbeTarget = ProbeTarget> = (
  target: T,
  ctx: ProbeContext,
) => Promise<ProbeResult>;
