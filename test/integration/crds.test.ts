// The generated CRDs against the real kube-apiserver: they install and become
// Established, every sample is accepted, and a corpus of invalid objects is
// rejected with a message naming the offending field (OpenAPI validation,
// defaults and the CEL rules from src/crds).
import { ApiException, CustomObjectsApi } from "@kubernetes/client-node";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace, installCrds, useSharedEnv, waitFor } from "../env/index.ts";

const env = useSharedEnv();
const GROUP = "pake.dev";
const VERSION = "v1alpha1";
const PLURALS: Record<string, string> = {
  HealthCheck: "healthchecks",
  MaintenanceTask: "maintenancetasks",
  BackupPolicy: "backuppolicies",
  Incident: "incidents",
};

let ns: string;
let api: CustomObjectsApi;

beforeAll(async () => {
  await installCrds(env, "deploy/crds");
  ns = await createTestNamespace(env, "crds");
  api = env.kubeConfig().makeApiClient(CustomObjectsApi);
});

type Obj = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };

function object(kind: string, name: string, spec: Record<string, unknown>): Obj {
  return { kind, metadata: { name }, spec };
}

const hc = (spec: Record<string, unknown>, name = "hc"): Obj =>
  object("HealthCheck", name, { target: { tcp: { host: "db", port: 5432 } }, ...spec });
const hcTarget = (target: Record<string, unknown>): Obj => hc({ target });
const mt = (spec: Record<string, unknown>, name = "mt"): Obj =>
  object("MaintenanceTask", name, {
    schedule: "0 2 * * *",
    task: { logCleanup: { claimName: "logs" } },
    ...spec,
  });
const mtTask = (task: Record<string, unknown>): Obj => mt({ task });
const bp = (spec: Record<string, unknown>, name = "bp"): Obj =>
  object("BackupPolicy", name, {
    database: { connectionSecretRef: { name: "pg" } },
    schedule: "0 1 * * *",
    storage: { persistentVolumeClaim: { claimName: "backups" } },
    ...spec,
  });
const inc = (spec: Record<string, unknown>, name = "inc"): Obj =>
  object("Incident", name, { severity: "high", title: "Something broke", ...spec });

/** Creates obj; returns the API server's error message, or "" when accepted. */
async function create(obj: Obj, dryRun = true): Promise<string> {
  try {
    await api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURALS[obj.kind] ?? "",
      body: { apiVersion: `${GROUP}/${VERSION}`, ...obj },
      fieldValidation: "Strict",
      ...(dryRun ? { dryRun: "All" } : {}),
    });
    return "";
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body = (error as ApiException<unknown>).body;
    const text = typeof body === "string" ? body : JSON.stringify(body);
    try {
      return (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      return text;
    }
  }
}

const thresholds = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ metric: `m${i}`, warning: 1, critical: 2 }));

const INVALID: [description: string, object: Obj, field: string][] = [
  // HealthCheck
  ["a malformed interval", hc({ interval: "30x" }), "spec.interval"],
  ["an interval below 1s", hc({ interval: "500ms", timeout: "100ms" }), "spec.interval"],
  ["a timeout longer than the interval", hc({ interval: "5s", timeout: "10s" }), "spec.timeout"],
  ["a timeout below 100ms", hc({ timeout: "50ms" }), "spec.timeout"],
  ["a failureThreshold of 0", hc({ failureThreshold: 0 }), "spec.failureThreshold"],
  ["a successThreshold above 100", hc({ successThreshold: 101 }), "spec.successThreshold"],
  ["no target", object("HealthCheck", "hc", {}), "spec.target"],
  ["an empty target", hcTarget({}), "spec.target"],
  [
    "two targets",
    hcTarget({ tcp: { host: "db", port: 5432 }, http: { url: "http://api/health" } }),
    "spec.target",
  ],
  [
    "a TCP port out of range",
    hcTarget({ tcp: { host: "db", port: 70000 } }),
    "spec.target.tcp.port",
  ],
  ["a non-HTTP URL", hcTarget({ http: { url: "ftp://files/x" } }), "spec.target.http.url"],
  [
    "an unknown HTTP method",
    hcTarget({ http: { url: "http://api/health", method: "FETCH" } }),
    "spec.target.http.method",
  ],
  [
    "an impossible expected status code",
    hcTarget({ http: { url: "http://api/health", expectedStatusCodes: [700] } }),
    "spec.target.http.expectedStatusCodes[0]",
  ],
  [
    "a body match with both contains and regex",
    hcTarget({ http: { url: "http://api/health", bodyMatch: { contains: "ok", regex: "o+k" } } }),
    "spec.target.http.bodyMatch",
  ],
  [
    "a kubernetes target with both name and selector",
    hcTarget({
      kubernetes: { kind: "Deployment", name: "api", selector: { matchLabels: { app: "api" } } },
    }),
    "spec.target.kubernetes",
  ],
  [
    "a kubernetes target with neither name nor selector",
    hcTarget({ kubernetes: { kind: "Deployment" } }),
    "spec.target.kubernetes",
  ],
  [
    "a kubernetes target of an unsupported kind",
    hcTarget({ kubernetes: { kind: "Pod", name: "api" } }),
    "spec.target.kubernetes.kind",
  ],
  [
    "a Redis Secret reference without a key",
    hcTarget({ redis: { urlSecretRef: { name: "redis" } } }),
    "spec.target.redis.urlSecretRef.key",
  ],
  [
    "an invalid Secret name",
    hcTarget({ postgres: { connectionSecretRef: { name: "Bad_Name" } } }),
    "spec.target.postgres.connectionSecretRef.name",
  ],
  [
    "a system target with nodeSelector but scope Host",
    hcTarget({ system: { scope: "Host", nodeSelector: { role: "db" } } }),
    "spec.target.system.nodeSelector",
  ],
  [
    "a warning threshold above critical",
    hc({ thresholds: [{ metric: "responseTimeMs", warning: 1000, critical: 500 }] }),
    "spec.thresholds[0].warning",
  ],
  [
    "a Below threshold with warning under critical",
    hc({ thresholds: [{ metric: "hitRatio", direction: "Below", warning: 50, critical: 80 }] }),
    "spec.thresholds[0].warning",
  ],
  [
    "a threshold target beyond warning",
    hc({ thresholds: [{ metric: "cpuPercent", target: 90, warning: 80, critical: 95 }] }),
    "spec.thresholds[0].target",
  ],
  [
    "the same metric twice",
    hc({
      thresholds: [
        { metric: "cpuPercent", warning: 80, critical: 95 },
        { metric: "cpuPercent", warning: 70, critical: 90 },
      ],
    }),
    "spec.thresholds[1]",
  ],
  ["more than 32 thresholds", hc({ thresholds: thresholds(33) }), "spec.thresholds"],
  [
    "an unknown incident severity",
    hc({ incident: { severity: "urgent" } }),
    "spec.incident.severity",
  ],
  ["a misspelt field", hc({ intervall: "30s" }), "spec.intervall"],
  // MaintenanceTask
  ["a cron schedule with four fields", mt({ schedule: "0 2 * *" }), "spec.schedule"],
  ["an unknown schedule macro", mt({ schedule: "@daily-randomly" }), "spec.schedule"],
  ["a TZ= prefix in the schedule", mt({ schedule: "TZ=UTC 0 2 * * *" }), "spec.schedule"],
  ["a malformed time zone", mt({ timeZone: "Not A Zone" }), "spec.timeZone"],
  [
    "an unknown concurrency policy",
    mt({ concurrencyPolicy: "Sometimes" }),
    "spec.concurrencyPolicy",
  ],
  ["a timeout below 10s", mt({ timeout: "5s" }), "spec.timeout"],
  ["more than 10 retries", mt({ retries: 11 }), "spec.retries"],
  [
    "a history limit above 20",
    mt({ successfulRunsHistoryLimit: 50 }),
    "spec.successfulRunsHistoryLimit",
  ],
  [
    "a starting deadline without a schedule",
    object("MaintenanceTask", "mt", {
      startingDeadlineSeconds: 60,
      task: { logCleanup: { claimName: "logs" } },
    }),
    "spec.startingDeadlineSeconds",
  ],
  [
    "a starting deadline of 0 seconds",
    mt({ startingDeadlineSeconds: 0 }),
    "spec.startingDeadlineSeconds",
  ],
  [
    "a starting deadline of 9 seconds",
    mt({ startingDeadlineSeconds: 9 }),
    "spec.startingDeadlineSeconds",
  ],
  ["an empty task", mtTask({}), "spec.task"],
  [
    "two tasks",
    mtTask({ logCleanup: { claimName: "logs" }, custom: { image: "busybox" } }),
    "spec.task",
  ],
  [
    "a cache flush without confirmation",
    mtTask({ cacheCleanup: { urlSecretRef: { name: "redis", key: "url" }, flush: true } }),
    "spec.task.cacheCleanup.confirmFlush",
  ],
  [
    "a cache cleanup that selects no keys",
    mtTask({ cacheCleanup: { urlSecretRef: { name: "redis", key: "url" } } }),
    "spec.task.cacheCleanup",
  ],
  [
    "a log cleanup maxAge in words",
    mtTask({ logCleanup: { claimName: "logs", maxAge: "7 days" } }),
    "spec.task.logCleanup.maxAge",
  ],
  [
    "a capacity check with critical days above warning days",
    mtTask({ capacityCheck: { warningDaysUntilFull: 7, criticalDaysUntilFull: 30 } }),
    "spec.task.capacityCheck.criticalDaysUntilFull",
  ],
  [
    "a custom env var with both value and valueFrom",
    mtTask({
      custom: {
        image: "busybox",
        env: [{ name: "A", value: "x", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }],
      },
    }),
    "spec.task.custom.env[0]",
  ],
  ["a name too long for Job names", mt({}, "m".repeat(60)), "metadata.name"],
  [
    "a log cleanup path that climbs out of the volume",
    mtTask({ logCleanup: { claimName: "logs", path: "/var/../../etc" } }),
    "spec.task.logCleanup.path",
  ],
  // BackupPolicy
  [
    "a storage path that climbs out of the volume",
    bp({ storage: { persistentVolumeClaim: { claimName: "backups" }, path: "/backups/.." } }),
    "spec.storage.path",
  ],
  ["a retention that keeps nothing", bp({ retention: { keepLast: 0 } }), "spec.retention"],
  [
    "a retention maxAge in words",
    bp({ retention: { maxAge: "forever" } }),
    "spec.retention.maxAge",
  ],
  ["an unknown dump format", bp({ format: "tar" }), "spec.format"],
  [
    "a gzip level above 9",
    bp({ compression: { algorithm: "gzip", level: 15 } }),
    "spec.compression.level",
  ],
  [
    "zstd compression with the plain format",
    bp({ format: "plain", compression: { algorithm: "zstd" } }),
    "spec.compression.algorithm",
  ],
  [
    "no storage",
    object("BackupPolicy", "bp", {
      database: { connectionSecretRef: { name: "pg" } },
      schedule: "0 1 * * *",
    }),
    "spec.storage",
  ],
  [
    "no schedule",
    object("BackupPolicy", "bp", {
      database: { connectionSecretRef: { name: "pg" } },
      storage: { persistentVolumeClaim: { claimName: "backups" } },
    }),
    "spec.schedule",
  ],
  ["a name too long for Job names", bp({}, "b".repeat(53)), "metadata.name"],
  [
    "a starting deadline of 0 seconds",
    bp({ startingDeadlineSeconds: 0 }),
    "spec.startingDeadlineSeconds",
  ],
  [
    "a starting deadline of 9 seconds",
    bp({ startingDeadlineSeconds: 9 }),
    "spec.startingDeadlineSeconds",
  ],
  // Incident
  ["an unknown severity", inc({ severity: "urgent" }), "spec.severity"],
  ["an empty title", inc({ title: "" }), "spec.title"],
  ["a title over 256 characters", inc({ title: "t".repeat(257) }), "spec.title"],
  [
    "a source of an unknown kind",
    inc({ source: { kind: "Pod", name: "api" } }),
    "spec.source.kind",
  ],
];

function sampleFiles(): string[] {
  return readdirSync("config/samples")
    .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
    .sort((a, b) => (a === "secrets.yaml" ? -1 : b === "secrets.yaml" ? 1 : a.localeCompare(b)));
}

describe("Given the generated CRDs installed in a real kube-apiserver", () => {
  it("serves the four kinds in the pake category with their short names", async () => {
    // Discovery is updated asynchronously after Established.
    let stdout = "";
    await waitFor(
      async () => {
        const r = await env.kubectl("api-resources", "--api-group=pake.dev", "-o", "wide");
        stdout = r.stdout;
        return r.code === 0 && (stdout.match(/\bpake\b/g)?.length ?? 0) >= 4;
      },
      { what: "pake.dev in discovery", timeoutMs: 30_000 },
    );
    for (const short of ["hc", "mt", "bp", "inc"]) expect(stdout).toMatch(` ${short} `);
  });

  it("documents fields for kubectl explain", async () => {
    // The OpenAPI v3 document is published a little after Established.
    let stdout = "";
    await waitFor(
      async () => {
        const r = await env.kubectl("explain", "healthcheck.spec.target.http.expectedStatusCodes");
        stdout = r.stdout;
        return r.code === 0;
      },
      { what: "the HealthCheck OpenAPI schema", timeoutMs: 30_000 },
    );
    expect(stdout.replace(/\s+/g, " ")).toContain("When empty or unset, 200-399 do");
  });

  describe("When every sample is applied server-side", () => {
    it.each(sampleFiles())("Then %s is accepted", async (file) => {
      const result = await env.kubectl(
        "apply",
        "--server-side",
        "--field-manager=crds-test",
        "-n",
        ns,
        "-f",
        join("config/samples", file),
      );
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    });

    it("Then kubectl get pake lists them with the printer columns", async () => {
      const result = await env.kubectl("get", "pake", "-n", ns);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain("healthcheck.pake.dev/api");
      expect(result.stdout).toContain("maintenancetask.pake.dev/log-cleanup");
      expect(result.stdout).toContain("backuppolicy.pake.dev/postgres-nightly");
      expect(result.stdout).toContain("incident.pake.dev/api-response-time");
      expect(result.stdout).toMatch(/TARGET\s+STATE\s+LATENCY\s+SCORE\s+LAST PROBE\s+AGE/);
    });

    it("Then the API server applied the schema defaults", async () => {
      const result = await env.kubectl("get", "hc", "redis", "-n", ns, "-o", "json");
      const obj = JSON.parse(result.stdout) as { spec: Record<string, unknown> };
      expect(obj.spec).toMatchObject({
        failureThreshold: 3,
        successThreshold: 2,
        suspend: false,
        incident: { enabled: true, severity: "high", autoResolve: true },
      });
      const mtResult = await env.kubectl("get", "mt", "log-cleanup", "-n", ns, "-o", "json");
      const task = JSON.parse(mtResult.stdout) as { spec: Record<string, unknown> };
      expect(task.spec).toMatchObject({
        concurrencyPolicy: "Forbid",
        retries: 0,
        successfulRunsHistoryLimit: 3,
        failedRunsHistoryLimit: 1,
        task: { logCleanup: { recursive: true, dryRun: false } },
      });
    });
  });

  describe("When invalid objects are created", () => {
    it("Then the corpus is large enough to mean something", () => {
      expect(INVALID.length).toBeGreaterThanOrEqual(30);
    });

    const table = INVALID.map(([description, obj, field]) => ({ description, obj, field }));
    it.each(table)("Then $description is rejected naming $field", async ({ obj, field }) => {
      const message = await create(obj);
      expect(message, "the API server accepted the object").not.toBe("");
      expect(message).toContain(field);
    });
  });

  describe("When a starting deadline is below 10 seconds", () => {
    // The CronJob controller documents that below 10 s a run may be missed;
    // 0 would silently mean "never run a late slot".
    it.each([
      ["MaintenanceTask", 0, mt({ startingDeadlineSeconds: 0 })],
      ["BackupPolicy", 5, bp({ startingDeadlineSeconds: 5 })],
    ])("Then a %s with %i is rejected saying why", async (_kind, _seconds, obj) => {
      const message = await create(obj);
      expect(message).toContain("startingDeadlineSeconds must be at least 10");
      expect(message).toContain("may be missed");
    });

    it.each([
      ["MaintenanceTask", mt({ startingDeadlineSeconds: 10 })],
      ["BackupPolicy", bp({ startingDeadlineSeconds: 10 })],
    ])("Then a %s with exactly 10 is accepted", async (_kind, obj) => {
      expect(await create(obj)).toBe("");
    });
  });

  describe("When an existing object is changed", () => {
    it("Then a resolved Incident can be reopened, but its source cannot change", async () => {
      const name = "transition";
      const created = await create(
        inc({ resolved: true, source: { kind: "HealthCheck", name: "api" } }, name),
        false,
      );
      expect(created).toBe("");
      const patch = async (spec: Record<string, unknown>): Promise<string> => {
        const r = await env.kubectl(
          "patch",
          "inc",
          name,
          "-n",
          ns,
          "--type=merge",
          "-p",
          JSON.stringify({ spec }),
        );
        return r.code === 0 ? "" : r.stderr;
      };
      // Reopening is a person's decision; the Incident controller records it.
      expect(await patch({ resolved: false })).toBe("");
      expect(await patch({ source: { kind: "HealthCheck", name: "other" } })).toContain(
        "spec.source",
      );
      expect(await patch({ notes: "Root cause: a slow query." })).toBe("");
    });

    it("Then a realistic status is accepted through the status subresource", async () => {
      const name = "with-status";
      expect(await create(hc({}, name), false)).toBe("");
      const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      const status = {
        observedGeneration: 1,
        target: "tcp/db:5432",
        state: "Healthy",
        lastProbeTime: now,
        latencyMs: 3.2,
        metrics: [{ name: "responseTimeMs", value: 3.2, unit: "ms", state: "Healthy" }],
        successCount: 10,
        failureCount: 0,
        availability: { last1h: 100, last24h: 99.5 },
        healthScore: 98,
        trend: "stable",
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "ProbeSucceeded",
            message: "ok",
            lastTransitionTime: now,
          },
        ],
      };
      const r = await env.kubectl(
        "patch",
        "hc",
        name,
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status }),
      );
      expect(r.stderr).toBe("");
      const got = await env.kubectl("get", "hc", name, "-n", ns, "-o", "jsonpath={.status.state}");
      expect(got.stdout).toBe("Healthy");
    });
  });
});
