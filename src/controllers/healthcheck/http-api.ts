// The operations guide's health API on the operator's HTTP server, answered
// from the HealthCheck informer's cache (the objects' status as written, so
// /health and `kubectl get hc` agree):
//   GET /health                      overall state (worst across checks) and counts
//   GET /health/detailed             every check with its metrics
//   GET /health/<namespace>/<name>   one check (404 when unknown)
// JSON; 503 when the answer's state is Critical, and 503 (state Unknown)
// until the cache has synced. Every replica keeps the cache (module.ts), so a
// standby answers like the leader. Only status fields go out, message
// redacted: never a Secret's content. The module protects every path but the
// summary (the HTTP server's authorizer).
import { redactText } from "../../lib/redact.ts";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HealthState } from "../../crds/index.ts";
import { sendJson, type RouteHandler } from "../../runtime/http-server.ts";
import type { Informer } from "../../runtime/informer.ts";
import { formatTime } from "../../runtime/normalize.ts";
import type { HealthCheckObject as HealthCheck } from "./status.ts";

const SEVERITY: Record<HealthState, number> = { Healthy: 0, Unknown: 1, Warning: 2, Critical: 3 };

export type Counts = Record<HealthState, number>;

export interface CheckSummary {
  namespace: string;
  name: string;
  target?: string;
  state: HealthState;
  message?: string;
  latencyMs?: number;
  healthScore?: number;
  trend?: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
  consecutiveFailures?: number;
  availability?: Record<string, number | undefined>;
  suspended: boolean;
  incident?: string;
}

export interface CheckDetail extends CheckSummary {
  metrics: Array<{ name: string; value: number; unit?: string; state: HealthState }>;
  successCount?: number;
  failureCount?: number;
  lastSuccessTime?: string;
  lastFailureTime?: string;
}

/** Worst state: Critical > Warning > Unknown > Healthy; Healthy when there are no checks. */
export function worstOf(states: HealthState[]): HealthState {
  return states.reduce<HealthState>((w, s) => (SEVERITY[s] > SEVERITY[w] ? s : w), "Healthy");
}

export function countStates(states: HealthState[]): Counts {
  const counts: Counts = { Healthy: 0, Warning: 0, Critical: 0, Unknown: 0 };
  for (const s of states) counts[s]++;
  return counts;
}

export function summarize(hc: HealthCheck): CheckSummary {
  const s = hc.status ?? {};
  return {
    namespace: hc.metadata.namespace ?? "",
    name: hc.metadata.name ?? "",
    target: s.target,
    state: s.state ?? "Unknown",
    message: s.message === undefined ? undefined : redactText(s.message),
    latencyMs: s.latencyMs,
    healthScore: s.healthScore,
    trend: s.trend,
    lastProbeTime: s.lastProbeTime,
    lastTransitionTime: s.lastTransitionTime,
    consecutiveFailures: s.consecutiveFailures,
    availability: s.availability,
    suspended: hc.spec?.suspend === true,
    incident: s.incidentRef?.name,
  };
}

export function detail(hc: HealthCheck): CheckDetail {
  const s = hc.status ?? {};
  return {
    ...summarize(hc),
    metrics: (s.metrics ?? []).map((m) => ({
      name: m.name,
      value: m.value,
      unit: m.unit,
      state: m.state,
    })),
    successCount: s.successCount,
    failureCount: s.failureCount,
    lastSuccessTime: s.lastSuccessTime,
    lastFailureTime: s.lastFailureTime,
  };
}

const byKey = (a: HealthCheck, b: HealthCheck): number =>
  `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
    `${b.metadata.namespace}/${b.metadata.name}`,
  );

export interface HealthApiOptions {
  informer: Pick<Informer<HealthCheck>, "hasSynced" | "list" | "get">;
  now: () => number;
}

/** The overall answer for a set of checks (GET /health and /health/detailed). */
export function overall(checks: HealthCheck[], now: number, detailed: boolean): object {
  const states = checks.map((c) => c.status?.state ?? "Unknown");
  const sorted = [...checks].sort(byKey);
  return {
    status: worstOf(states),
    timestamp: formatTime(now),
    total: checks.length,
    counts: countStates(states),
    ...(detailed ? { checks: sorted.map(detail) } : {}),
  };
}

const codeFor = (state: HealthState): number => (state === "Critical" ? 503 : 200);

export function healthApi(opts: HealthApiOptions): RouteHandler {
  return (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(res, 405, { error: "MethodNotAllowed", message: "use GET" });
      return;
    }
    if (!opts.informer.hasSynced()) {
      sendJson(res, 503, {
        status: "Unknown",
        message: "HealthChecks not loaded yet (this replica is still starting)",
      });
      return;
    }
    const parts = url.pathname.split("/").filter((p) => p.length > 0);
    const now = opts.now();
    if (parts.length === 1 || (parts.length === 2 && parts[1] === "detailed")) {
      const body = overall(opts.informer.list(), now, parts.length === 2) as {
        status: HealthState;
      };
      sendJson(res, codeFor(body.status), body);
      return;
    }
    const [, namespace, name] = parts.map(decodeURIComponent);
    const hc = parts.length === 3 ? opts.informer.get(namespace, name ?? "") : undefined;
    if (!hc) {
      sendJson(res, 404, {
        error: "NotFound",
        message: `no HealthCheck ${parts.slice(1).join("/")}`,
      });
      return;
    }
    const body = { ...detail(hc), timestamp: formatTime(now) };
    sendJson(res, codeFor(body.state), body);
  };
}
