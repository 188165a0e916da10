// The generated openAPIV3Schema is structural and bounded, carries the
// defaults and the CEL rules, and the CRD files on disk are up to date.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  KINDS,
  StructuralSchemaError,
  buildCustomResourceDefinition,
  toStructuralSchema,
  walkSchema,
} from "../../../src/crds/index.ts";
import type { JSONSchemaProps, KindDescriptor } from "../../../src/crds/index.ts";
import { renderCrdFiles, staleFiles } from "../../../tools/generate-crds.ts";

const schemaOf = (d: KindDescriptor): JSONSchemaProps =>
  buildCustomResourceDefinition(d).spec.versions[0]!.schema.openAPIV3Schema;

const byKind = Object.fromEntries(KINDS.map((d) => [d.kind, schemaOf(d)]));

/** The node at a dotted path such as ".spec.target.http" ("[*]" for items). */
function nodeAt(kind: string, path: string): JSONSchemaProps {
  let found: JSONSchemaProps | undefined;
  walkSchema(byKind[kind]!, (node, p) => {
    if (p === path) found = node;
  });
  if (!found) throw new Error(`no node ${path} in ${kind}`);
  return found;
}

/** A string, list or map whose size the CEL cost estimator can bound. */
function isBounded(node: JSONSchemaProps): boolean {
  switch (node.type) {
    case "string":
      return node.maxLength !== undefined || node.enum !== undefined || node.format === "date-time";
    case "array":
      return node.maxItems !== undefined;
    case "object":
      return node.properties !== undefined || node.maxProperties !== undefined;
    default:
      return true;
  }
}

const FORBIDDEN = ["$ref", "$schema", "$defs", "anyOf", "oneOf", "allOf", "not", "nullable"];

describe("Given the CRD of each kind", () => {
  const kinds = KINDS.map((d) => ({ kind: d.kind, descriptor: d, schema: schemaOf(d) }));

  it.each(kinds)("Then every node of $kind has a type", ({ schema }) => {
    const untyped: string[] = [];
    walkSchema(schema, (node, path) => {
      if (node.type === undefined && node["x-kubernetes-int-or-string"] !== true)
        untyped.push(path);
    });
    expect(untyped).toEqual([]);
  });

  it.each(kinds)("Then $kind uses no keyword outside the structural subset", ({ schema }) => {
    const bad: string[] = [];
    walkSchema(schema, (node, path) => {
      for (const key of FORBIDDEN) if (key in node) bad.push(`${path} ${key}`);
      if ((node.additionalProperties as unknown) === false)
        bad.push(`${path} additionalProperties`);
      if (node.properties && node.additionalProperties) bad.push(`${path} both`);
    });
    expect(bad).toEqual([]);
  });

  it.each(kinds)("Then only $kind's metadata is free-form", ({ schema }) => {
    const free: string[] = [];
    walkSchema(schema, (node, path) => {
      const open = node.type === "object" && !node.properties && !node.additionalProperties;
      if (open || node["x-kubernetes-preserve-unknown-fields"]) free.push(path);
    });
    expect(free.filter((p) => p !== ".metadata")).toEqual([]);
  });

  it.each(kinds)(
    "Then every string, list and map of $kind's spec and status is bounded",
    ({ schema }) => {
      const unbounded: string[] = [];
      walkSchema(schema, (node, path) => {
        if (!path.startsWith(".spec") && !path.startsWith(".status")) return;
        const bounded = isBounded(node);
        if (!bounded) unbounded.push(path);
      });
      expect(unbounded).toEqual([]);
    },
  );

  it.each(kinds)("Then every field of $kind is described for kubectl explain", ({ schema }) => {
    const undocumented: string[] = [];
    walkSchema(schema, (node, path) => {
      const isItem = path.endsWith("[*]") || path.endsWith("{*}");
      if (path !== ".metadata" && !isItem && !node.description) undocumented.push(path || "<root>");
    });
    expect(undocumented).toEqual([]);
  });

  it.each(kinds)(
    "Then $kind is namespaced, in the pake category, with a status subresource",
    ({ descriptor }) => {
      const crd = buildCustomResourceDefinition(descriptor);
      expect(crd.metadata.name).toBe(`${descriptor.plural}.pake.dev`);
      expect(crd.spec.scope).toBe("Namespaced");
      expect(crd.spec.names.categories).toEqual(["pake"]);
      expect(crd.spec.names.shortNames.length).toBe(1);
      expect(crd.spec.versions).toHaveLength(1);
      expect(crd.spec.versions[0]).toMatchObject({
        name: "v1alpha1",
        served: true,
        storage: true,
        subresources: { status: {} },
      });
    },
  );

  it.each(kinds)(
    "Then $kind's status has observedGeneration and map-keyed conditions",
    ({ kind }) => {
      expect(nodeAt(kind, ".status.observedGeneration").type).toBe("integer");
      const conditions = nodeAt(kind, ".status.conditions");
      expect(conditions["x-kubernetes-list-type"]).toBe("map");
      expect(conditions["x-kubernetes-list-map-keys"]).toEqual(["type"]);
      expect(Object.keys(conditions.items?.properties ?? {})).toEqual([
        "type",
        "status",
        "reason",
        "message",
        "lastTransitionTime",
        "observedGeneration",
      ]);
    },
  );
});

describe("Given kinds whose Job names derive from the object name", () => {
  it.each([
    ["MaintenanceTask", 52],
    ["BackupPolicy", 52],
    ["HealthCheck", undefined],
    ["Incident", undefined],
  ])("Then %s limits metadata.name to %s characters", (kind, max) => {
    expect(byKind[kind]!.properties?.metadata?.properties?.name?.maxLength).toBe(max);
  });
});

describe("Given the printer columns", () => {
  it.each([
    ["HealthCheck", ["Target", "State", "Latency", "Score", "Last Probe", "Age"]],
    ["MaintenanceTask", ["Task", "Schedule", "Last Result", "Last Run", "Next Run", "Age"]],
    ["BackupPolicy", ["Database", "Schedule", "Last Backup", "Size", "Verified", "Age"]],
    ["Incident", ["Severity", "Phase", "Source", "Age", "Deadline"]],
  ])("Then %s shows %j by default", (kind, names) => {
    const d = KINDS.find((k) => k.kind === kind)!;
    expect(d.printerColumns.filter((c) => !c.priority).map((c) => c.name)).toEqual(names);
  });

  it.each(KINDS.flatMap((d) => d.printerColumns.map((c) => ({ kind: d.kind, ...c }))))(
    "Then $kind column $name points at a field of the schema",
    ({ kind, jsonPath }) => {
      if (jsonPath.startsWith(".metadata")) return;
      expect(() => nodeAt(kind, jsonPath)).not.toThrow();
    },
  );
});

describe("Given fields with defaults", () => {
  it.each([
    ["HealthCheck", ".spec.interval", "30s"],
    ["HealthCheck", ".spec.timeout", "5s"],
    ["HealthCheck", ".spec.failureThreshold", 3],
    ["HealthCheck", ".spec.successThreshold", 2],
    ["HealthCheck", ".spec.suspend", false],
    ["HealthCheck", ".spec.target.http.method", "GET"],
    ["HealthCheck", ".spec.thresholds[*].direction", "Above"],
    ["HealthCheck", ".spec.incident.severity", "high"],
    ["MaintenanceTask", ".spec.timeZone", "UTC"],
    ["MaintenanceTask", ".spec.concurrencyPolicy", "Forbid"],
    ["MaintenanceTask", ".spec.successfulRunsHistoryLimit", 3],
    ["MaintenanceTask", ".spec.failedRunsHistoryLimit", 1],
    ["MaintenanceTask", ".spec.task.cacheCleanup.confirmFlush", false],
    ["MaintenanceTask", ".spec.task.logCleanup.maxAge", "7d"],
    ["BackupPolicy", ".spec.format", "custom"],
    ["BackupPolicy", ".spec.retention", { keepLast: 7 }],
    ["BackupPolicy", ".spec.compression", { algorithm: "gzip" }],
    ["Incident", ".spec.acknowledged", false],
    ["Incident", ".spec.resolved", false],
  ])("Then %s %s defaults to %j and is not required", (kind, path, value) => {
    expect(nodeAt(kind, path).default).toEqual(value);
    const parentPath = path.slice(0, path.lastIndexOf("."));
    const field = path.slice(path.lastIndexOf(".") + 1);
    expect(nodeAt(kind, parentPath).required ?? []).not.toContain(field);
  });
});

describe("Given the cross-field constraints", () => {
  it.each([
    ["HealthCheck", ".spec.target", "has(self.postgres)", undefined],
    ["HealthCheck", ".spec", "duration(self.timeout) <= duration(self.interval)", ".timeout"],
    ["HealthCheck", ".spec.thresholds[*]", "self.warning < self.critical", ".warning"],
    ["HealthCheck", ".spec.thresholds[*]", "self.warning > self.critical", ".warning"],
    ["HealthCheck", ".spec.target.kubernetes", "has(self.name) != has(self.selector)", undefined],
    [
      "HealthCheck",
      ".spec.target.http.bodyMatch",
      "has(self.contains) != has(self.regex)",
      undefined,
    ],
    ["MaintenanceTask", ".spec.task", "has(self.databaseRestore)", undefined],
    [
      "MaintenanceTask",
      ".spec.task.cacheCleanup",
      "!self.flush || self.confirmFlush",
      ".confirmFlush",
    ],
    [
      "MaintenanceTask",
      ".spec",
      "!has(self.startingDeadlineSeconds) || has(self.schedule)",
      ".startingDeadlineSeconds",
    ],
    ["BackupPolicy", ".spec.retention", "self.keepLast > 0", undefined],
    ["BackupPolicy", ".spec.compression", "self.algorithm == 'gzip' && self.level <= 9", ".level"],
    ["Incident", ".spec", "has(self.source) == has(oldSelf.source)", ".source"],
    ["MaintenanceTask", ".spec.task.logCleanup", "!self.path.matches(", ".path"],
    ["BackupPolicy", ".spec.storage", "!self.path.matches(", ".path"],
  ])("Then %s %s has a CEL rule containing %s", (kind, path, fragment, fieldPath) => {
    const rules = nodeAt(kind, path)["x-kubernetes-validations"] ?? [];
    const rule = rules.find((r) => r.rule.includes(fragment));
    expect(rule, JSON.stringify(rules)).toBeDefined();
    expect(rule?.message.length).toBeGreaterThan(10);
    expect(rule?.fieldPath).toBe(fieldPath);
  });

  it("Then exactly-one rules name every alternative", () => {
    const rule = nodeAt("MaintenanceTask", ".spec.task")["x-kubernetes-validations"]![0]!.rule;
    for (const t of [
      "logCleanup",
      "cacheCleanup",
      "databaseVacuum",
      "capacityCheck",
      "securityScan",
      "performanceReport",
      "databaseRestore",
      "custom",
    ]) {
      expect(rule).toContain(`has(self.${t})`);
    }
  });
});

describe("Given a zod schema the API server cannot represent", () => {
  it.each([
    ["a union", z.object({ a: z.union([z.string(), z.number()]) }), "anyOf"],
    ["a free-form object", z.object({ a: z.looseObject({}) }), "needs properties"],
    ["a nullable field", z.object({ a: z.string().nullable() }), "nullable"],
  ])("Then converting %s fails naming the problem", (_name, schema, problem) => {
    expect(() => toStructuralSchema(schema, ".spec")).toThrow(StructuralSchemaError);
    expect(() => toStructuralSchema(schema, ".spec")).toThrow(problem);
  });

  it("Then exclusive bounds use the OpenAPI v3.0 boolean form", () => {
    const s = toStructuralSchema(z.object({ a: z.number().positive() }));
    expect(s.properties?.a).toMatchObject({ minimum: 0, exclusiveMinimum: true });
  });
});

describe("Given the generator", () => {
  it("Then rendering twice gives identical files", () => {
    expect(renderCrdFiles()).toEqual(renderCrdFiles());
  });

  it("Then the files in deploy/crds are up to date (npm run generate)", () => {
    expect(staleFiles(renderCrdFiles())).toEqual([]);
  });

  it("Then each file starts with the generated-file header and names one CRD", () => {
    for (const f of renderCrdFiles()) {
      expect(f.path).toMatch(/^deploy\/crds\/pake\.dev_[a-z]+\.yaml$/);
      expect(f.content.startsWith("# Code generated by tools/generate-crds.ts")).toBe(true);
    }
  });

  it("Then another target can render into its own directory with annotations", () => {
    const files = renderCrdFiles({
      dir: "chart/crds",
      annotations: { "helm.sh/resource-policy": "keep" },
    });
    expect(files.map((f) => f.path)).toContain("chart/crds/pake.dev_healthchecks.yaml");
    expect(files[0]!.content).toContain("helm.sh/resource-policy: keep");
  });
});
