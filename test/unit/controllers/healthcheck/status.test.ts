import { describe, expect, it } from "vitest";
import { healthCheckOptionsFromEnv } from "../../../../src/controllers/healthcheck/config.ts";
import { secretReferences } from "../../../../src/controllers/healthcheck/controller.ts";
import {
  applyReconcile,
  applyReport,
  healthyCondition,
  type Status,
} from "../../../../src/controllers/healthcheck/status.ts";
import type { HealthStatusFields } from "../../../../src/health/check.ts";

const T0 = Date.UTC(2026, 0, 1);

const fields = (over: Partial<HealthStatusFields> = {}): HealthStatusFields => ({
  state: "Healthy",
  message: "PostgreSQL answered",
  lastProbeTime: new Date(T0).toISOString(),
  latencyMs: 3.2,
  metrics: [{ name: "queryTimeMs", value: 1.1, unit: "ms", state: "Healthy" }],
  consecutiveFailures: 0,
  consecutiveSuccesses: 4,
  successCount: 4,
  failureCount: 0,
  availability: { last1h: 100 },
  availabilityBuckets: {
    bucketSeconds: 3600,
    startTime: "2026-01-01T00:00:00Z",
    probes: [4],
    successes: [4],
  },
  healthScore: 100,
  trend: "stable",
  ...over,
});

describe("Given a probe report", () => {
  it("maps each state to the Healthy condition", () => {
    expect(healthyCondition("Healthy", "")).toMatchObject({ status: "True", reason: "Healthy" });
    expect(healthyCondition("Warning", "")).toMatchObject({ status: "True", reason: "Degraded" });
    expect(healthyCondition("Critical", "")).toMatchObject({ status: "False", reason: "Critical" });
    expect(healthyCondition("Unknown", "")).toMatchObject({
      status: "Unknown",
      reason: "NotProbed",
    });
  });

  it("writes the fields, the Healthy condition and the incidentRef, with the message redacted", () => {
    const status: Status = { target: "redis/cache", observedGeneration: 2 };
    applyReport(status, {
      fields: fields({ state: "Critical", message: "redis://:pw@h:1 refused" }),
      now: T0,
      incident: "cache-1a2b3c4d",
    });
    expect(status).toMatchObject({
      target: "redis/cache",
      observedGeneration: 2,
      state: "Critical",
      message: "redis://[REDACTED]@h:1 refused",
      healthScore: 100,
      incidentRef: { name: "cache-1a2b3c4d" },
    });
    expect(status.conditions?.[0]).toMatchObject({ type: "Healthy", status: "False" });
    applyReport(status, { fields: fields(), now: T0 + 1000, incident: null });
    expect(status.incidentRef).toBeUndefined();
    expect(status.lastFailureTime).toBeUndefined();
  });

  it("leaves incidentRef alone when the report says nothing about it", () => {
    const status: Status = { incidentRef: { name: "x-1" } };
    applyReport(status, { fields: fields(), now: T0 });
    expect(status.incidentRef).toEqual({ name: "x-1" });
  });
});

describe("Given a reconcile outcome", () => {
  const base = { generation: 3, target: "postgres/db", now: T0, intervalText: "30s" };

  it("is Ready while probing", () => {
    const status: Status = {};
    applyReconcile(status, { ...base, suspended: false });
    expect(status.target).toBe("postgres/db");
    expect(status.observedGeneration).toBe(3);
    expect(status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "Probing",
      message: "Probing postgres/db every 30s",
    });
  });

  it("is not Ready when suspended or when a reference is missing", () => {
    const suspended: Status = {};
    applyReconcile(suspended, { ...base, suspended: true });
    expect(suspended.conditions?.find((c) => c.type === "Ready")?.reason).toBe("Suspended");
    expect(suspended.conditions?.find((c) => c.type === "Suspended")?.status).toBe("True");
    const missing: Status = {};
    applyReconcile(missing, {
      ...base,
      suspended: false,
      problem: { reason: "ReferenceNotFound", message: "Secret ns/x not found" },
    });
    expect(missing.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "ReferenceNotFound",
    });
  });

  it("names the Secret and key of each reference", () => {
    expect(secretReferences({ redis: { urlSecretRef: { name: "r", key: "url" } } })).toEqual([
      "spec.target.redis.urlSecretRef r key url",
    ]);
    expect(
      secretReferences({
        http: {
          url: "http://x/",
          method: "GET",
          followRedirects: true,
          insecureSkipTLSVerify: false,
          headersFrom: [{ name: "Authorization", secretKeyRef: { name: "tok", key: "auth" } }],
        },
      }),
    ).toEqual(["spec.target.http.headersFrom[Authorization] tok key auth"]);
  });
});

describe("Given the HealthCheck settings from the environment", () => {
  it("parses the status interval and the concurrency", () => {
    expect(healthCheckOptionsFromEnv({})).toEqual({});
    expect(
      healthCheckOptionsFromEnv({
        PAKE_HEALTHCHECK_STATUS_INTERVAL: "2m",
        PAKE_PROBE_CONCURRENCY: "32",
      }),
    ).toEqual({ statusIntervalMs: 120_000, concurrency: 32 });
  });

  it("rejects bad values with the variable's name", () => {
    expect(() => healthCheckOptionsFromEnv({ PAKE_HEALTHCHECK_STATUS_INTERVAL: "soon" })).toThrow(
      /PAKE_HEALTHCHECK_STATUS_INTERVAL/,
    );
    expect(() => healthCheckOptionsFromEnv({ PAKE_PROBE_CONCURRENCY: "0" })).toThrow(
      /PAKE_PROBE_CONCURRENCY/,
    );
  });
});
