// The samples in config/samples parse with the zod schemas (strict: a typo in
// a sample fails here), come out with the defaults, and cover the operations
// guide's examples; the zod mirrors of the CEL rules reject what the API
// server rejects.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  BackupPolicySchema,
  HealthCheckSchema,
  HealthCheckSpec,
  IncidentSchema,
  KPI_DEFAULTS,
  MaintenanceTaskSchema,
  MaintenanceTaskSpec,
  BackupPolicySpec,
  taskType,
  targetKind,
} from "../../../src/crds/index.ts";
import type {
  BackupPolicy,
  HealthCheck,
  Incident,
  MaintenanceTask,
} from "../../../src/crds/index.ts";

const DIR = "config/samples";

interface Doc {
  file: string;
  kind: string;
  name: string;
  value: Record<string, unknown>;
}

function loadSamples(): Doc[] {
  const docs: Doc[] = [];
  for (const file of readdirSync(DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    if (file === "kustomization.yaml") continue;
    for (const doc of parseAllDocuments(readFileSync(join(DIR, file), "utf8"))) {
      const value = doc.toJS() as Record<string, unknown> | null;
      if (!value) continue;
      const meta = value.metadata as { name: string };
      docs.push({ file, kind: String(value.kind), name: meta.name, value });
    }
  }
  return docs;
}

const samples = loadSamples();
const pake = samples.filter((d) => d.kind !== "Secret");
const SCHEMAS = {
  HealthCheck: HealthCheckSchema,
  MaintenanceTask: MaintenanceTaskSchema,
  BackupPolicy: BackupPolicySchema,
  Incident: IncidentSchema,
} as const;

function parsed<T>(kind: keyof typeof SCHEMAS, name: string): T {
  const doc = pake.find((d) => d.kind === kind && d.name === name);
  if (!doc) throw new Error(`no sample ${kind}/${name}`);
  return SCHEMAS[kind].parse(doc.value) as T;
}

describe("Given the samples in config/samples", () => {
  it("Then there is at least one of each kind", () => {
    expect(new Set(pake.map((d) => d.kind))).toEqual(new Set(Object.keys(SCHEMAS)));
  });

  it.each(pake.map((d) => ({ ...d, id: `${d.kind}/${d.name}` })))(
    "Then $id ($file) parses with the zod schema",
    ({ kind, value }) => {
      const result = SCHEMAS[kind as keyof typeof SCHEMAS].safeParse(value);
      expect(result.error?.issues ?? []).toEqual([]);
    },
  );

  it("Then every Secret a sample references is in secrets.yaml with dev placeholders", () => {
    const secrets = samples.filter((d) => d.kind === "Secret");
    expect(secrets.every((s) => s.file === "secrets.yaml")).toBe(true);
    const names = new Set(secrets.map((s) => s.name));
    const text = pake.map((d) => JSON.stringify(d.value)).join("\n");
    const referenced = [
      ...text.matchAll(/"(?:connectionSecretRef|urlSecretRef|secretKeyRef)":\{"name":"([^"]+)"/g),
    ].map((m) => m[1]);
    expect(referenced.length).toBeGreaterThan(0);
    for (const name of referenced) expect(names).toContain(name);
    for (const s of secrets) expect(JSON.stringify(s.value.stringData)).toMatch(/dev-only/);
  });

  it("Then kustomization.yaml lists every sample file", () => {
    const kustomization = readFileSync(join(DIR, "kustomization.yaml"), "utf8");
    for (const file of new Set(samples.map((d) => d.file)))
      expect(kustomization).toContain(`- ${file}`);
  });
});

describe("Given the operations guide's health checks", () => {
  it.each([
    ["postgres", "postgres"],
    ["redis", "redis"],
    ["api", "http"],
  ])("Then HealthCheck %s probes a %s target", (name, kind) => {
    expect(targetKind(parsed<HealthCheck>("HealthCheck", name).spec.target)).toBe(kind);
  });

  it("Then the PostgreSQL check takes its connection from a Secret", () => {
    expect(
      parsed<HealthCheck>("HealthCheck", "postgres").spec.target.postgres?.connectionSecretRef.name,
    ).toBe("pake-postgres");
  });

  it.each(KPI_DEFAULTS.map((k) => ({ ...k })))(
    "Then the API check carries the KPI row $metric: $target / $warning / $critical",
    ({ metric, target, warning, critical }) => {
      const t = parsed<HealthCheck>("HealthCheck", "api").spec.thresholds?.find(
        (x) => x.metric === metric,
      );
      expect(t).toEqual({ metric, target, warning, critical, direction: "Above" });
    },
  );

  it("Then defaults are filled in when parsing", () => {
    const redis = parsed<HealthCheck>("HealthCheck", "redis");
    expect(redis.spec).toMatchObject({
      interval: "30s",
      failureThreshold: 3,
      successThreshold: 2,
      suspend: false,
    });
    expect(redis.spec.incident).toEqual({ enabled: true, severity: "high", autoResolve: true });
  });
});

describe("Given the operations guide's maintenance schedule", () => {
  it.each([
    ["log-cleanup", "logCleanup", "0 2 * * *", "15m"],
    ["cache-cleanup", "cacheCleanup", "0 */6 * * *", "10m"],
    ["security-scan", "securityScan", "0 3 * * 0", "45m"],
    ["capacity-check", "capacityCheck", "0 */4 * * *", "5m"],
    ["performance-report", "performanceReport", "0 4 * * 0", "30m"],
  ])("Then %s runs %s on %s with timeout %s", (name, type, schedule, timeout) => {
    const mt = parsed<MaintenanceTask>("MaintenanceTask", name);
    expect(taskType(mt.spec.task)).toBe(type);
    expect(mt.spec).toMatchObject({
      schedule,
      timeout,
      timeZone: "UTC",
      concurrencyPolicy: "Forbid",
    });
  });

  it("Then the nightly backup runs at 01:00 for up to 60m with GFS retention and verification", () => {
    const bp = parsed<BackupPolicy>("BackupPolicy", "postgres-nightly");
    expect(bp.spec).toMatchObject({ schedule: "0 1 * * *", timeout: "60m", format: "custom" });
    expect(bp.spec.retention).toMatchObject({ keepDaily: 7, keepWeekly: 4, keepMonthly: 6 });
    expect(bp.spec.verify?.enabled).toBe(true);
    expect(bp.spec.incident).toEqual({ enabled: true, severity: "high" });
  });

  it("Then the restore example restores postgres-nightly into a new database, suspended until run-now", () => {
    const mt = parsed<MaintenanceTask>("MaintenanceTask", "restore-nightly");
    expect(taskType(mt.spec.task)).toBe("databaseRestore");
    expect(mt.spec.suspend).toBe(true);
    expect(mt.spec.schedule).toBeUndefined();
    const restore = mt.spec.task.databaseRestore!;
    expect(restore.backupPolicyRef.name).toBe("postgres-nightly");
    parsed<BackupPolicy>("BackupPolicy", restore.backupPolicyRef.name);
    expect(restore).toMatchObject({ dropExisting: false, restoreGlobals: false });
    expect(restore.target.database).not.toBe("pake");
  });

  it("Then the Incident sample names its source", () => {
    const inc = parsed<Incident>("Incident", "api-response-time");
    expect(inc.spec.source).toEqual({ kind: "HealthCheck", name: "api" });
    expect(inc.spec.resolved).toBe(false);
  });
});

describe("Given specs the CEL rules reject", () => {
  const tcp = { tcp: { host: "db", port: 5432 } };
  it.each([
    ["HealthCheck", HealthCheckSpec, { target: tcp, interval: "5s", timeout: "10s" }, "timeout"],
    ["HealthCheck", HealthCheckSpec, { target: {} }, "target"],
    ["HealthCheck", HealthCheckSpec, { target: { ...tcp, http: { url: "http://a/b" } } }, "target"],
    [
      "HealthCheck",
      HealthCheckSpec,
      { target: tcp, thresholds: [{ metric: "cpuPercent", warning: 95, critical: 80 }] },
      "thresholds.0.warning",
    ],
    [
      "HealthCheck",
      HealthCheckSpec,
      { target: { kubernetes: { kind: "Deployment" } } },
      "target.kubernetes",
    ],
    [
      "MaintenanceTask",
      MaintenanceTaskSpec,
      { task: { cacheCleanup: { urlSecretRef: { name: "r", key: "url" }, flush: true } } },
      "task.cacheCleanup.confirmFlush",
    ],
    ["MaintenanceTask", MaintenanceTaskSpec, { task: {} }, "task"],
    [
      "MaintenanceTask",
      MaintenanceTaskSpec,
      { schedule: "0 2 * *", task: { custom: { image: "x" } } },
      "schedule",
    ],
    [
      "BackupPolicy",
      BackupPolicySpec,
      {
        database: { connectionSecretRef: { name: "pg" } },
        schedule: "@daily",
        storage: { persistentVolumeClaim: { claimName: "b" } },
        retention: { keepLast: 0 },
      },
      "retention",
    ],
  ])("Then a %s spec fails zod parsing at %j", (_kind, schema, spec, path) => {
    const result = schema.safeParse(spec);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join("."))).toContain(path);
  });
});
