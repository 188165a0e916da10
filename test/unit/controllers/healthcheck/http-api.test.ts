import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import {
  countStates,
  healthApi,
  worstOf,
} from "../../../../src/controllers/healthcheck/http-api.ts";
import type { HealthCheckObject } from "../../../../src/controllers/healthcheck/status.ts";
import type { HealthState } from "../../../../src/crds/index.ts";

const T0 = Date.UTC(2026, 0, 1);

function check(namespace: string, name: string, state?: HealthState): HealthCheckObject {
  return {
    apiVersion: "pake.dev/v1alpha1",
    kind: "HealthCheck",
    metadata: { namespace, name },
    spec: {
      interval: "30s",
      timeout: "5s",
      failureThreshold: 3,
      successThreshold: 2,
      suspend: false,
      target: { redis: { urlSecretRef: { name: "r", key: "url" } } },
    },
    status: state
      ? {
          state,
          target: "redis/r",
          message: "redis://:hunter2@10.0.0.1:6379 refused",
          healthScore: 40,
          metrics: [{ name: "pingMs", value: 1, unit: "ms", state }],
        }
      : undefined,
  };
}

function call(
  checks: HealthCheckObject[],
  path: string,
  synced = true,
): { status: number; body: Record<string, unknown> } {
  const handler = healthApi({
    informer: {
      hasSynced: () => synced,
      list: () => checks,
      get: (ns, name) =>
        checks.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
    },
    now: () => T0,
  });
  let status = 0;
  let text = "";
  const res = {
    headersSent: false,
    writeHead(code: number) {
      status = code;
      return this;
    },
    end(body: string) {
      text = body;
    },
  } as unknown as ServerResponse;
  void handler({ method: "GET" } as IncomingMessage, res, new URL(path, "http://localhost"));
  return { status, body: JSON.parse(text) as Record<string, unknown> };
}

describe("Given HealthCheck states", () => {
  it("takes the worst: Critical > Warning > Unknown > Healthy, Healthy when empty", () => {
    expect(worstOf([])).toBe("Healthy");
    expect(worstOf(["Healthy", "Unknown"])).toBe("Unknown");
    expect(worstOf(["Unknown", "Warning", "Healthy"])).toBe("Warning");
    expect(worstOf(["Warning", "Critical"])).toBe("Critical");
    expect(countStates(["Healthy", "Healthy", "Critical"])).toEqual({
      Healthy: 2,
      Warning: 0,
      Critical: 1,
      Unknown: 0,
    });
  });
});

describe("Given the /health API", () => {
  const checks = [check("a", "db", "Healthy"), check("a", "cache", "Warning"), check("b", "new")];

  it("answers the overall state with counts, 200 unless Critical", () => {
    const r = call(checks, "/health");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: "Warning",
      total: 3,
      counts: { Healthy: 1, Warning: 1, Critical: 0, Unknown: 1 },
    });
    expect(r.body.checks).toBeUndefined();
    const critical = call([...checks, check("b", "api", "Critical")], "/health");
    expect(critical.status).toBe(503);
    expect(critical.body.status).toBe("Critical");
  });

  it("lists every check with metrics on /health/detailed, sorted, without secrets", () => {
    const r = call(checks, "/health/detailed");
    const list = r.body.checks as Array<Record<string, unknown>>;
    expect(list.map((c) => `${String(c.namespace)}/${String(c.name)}`)).toEqual([
      "a/cache",
      "a/db",
      "b/new",
    ]);
    expect(list[0]).toMatchObject({ state: "Warning", metrics: [{ name: "pingMs" }] });
    expect(list[2]).toMatchObject({ state: "Unknown", metrics: [] });
    expect(JSON.stringify(r.body)).not.toContain("hunter2");
  });

  it("answers one check by namespace and name, 404 when unknown, 503 when it is Critical", () => {
    expect(call(checks, "/health/a/db")).toMatchObject({
      status: 200,
      body: { namespace: "a", name: "db", state: "Healthy", healthScore: 40 },
    });
    expect(call(checks, "/health/a/missing").status).toBe(404);
    expect(call([check("a", "x", "Critical")], "/health/a/x").status).toBe(503);
  });

  it("answers 503 Unknown while the cache is not synced (not the leader)", () => {
    expect(call(checks, "/health", false)).toMatchObject({
      status: 503,
      body: { status: "Unknown" },
    });
  });
});
