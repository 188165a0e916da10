import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type {
  CapacityCheckTask,
  DatabaseVacuumTask,
  LogCleanupTask,
  PerformanceReportTask,
  SecurityScanTask,
} from "../../../src/crds/maintenancetask.ts";
import {
  completeResult,
  fitResult,
  MAX_RESULT_BYTES,
  writeTerminationMessage,
} from "../../../src/tasks/result.ts";
import {
  executeTask,
  globMatcher,
  runTask,
  validateTaskConfig,
  type CapacityCheckInput,
  type DatabaseVacuumInput,
  type LogCleanupInput,
  type PerformanceReportInput,
  type SecurityScanInput,
  type TaskResult,
} from "../../../src/tasks/index.ts";

const FIXED = new Date("2024-05-01T02:00:00Z");
const clock = () => FIXED;
const size = (r: TaskResult) => Buffer.byteLength(JSON.stringify(r), "utf8");

describe("Given a task result larger than a termination message", () => {
  it.each([
    {
      name: "one long list",
      data: {
        files: Array.from({ length: 5000 }, (_, i) => ({ path: `dir/app-${i}.log`, bytes: i })),
      },
    },
    {
      name: "several lists and nested lists",
      data: {
        findings: Array.from({ length: 300 }, (_, i) => ({
          message: `finding ${i} ${"x".repeat(50)}`,
        })),
        databases: [
          {
            database: "app",
            tables: Array.from({ length: 400 }, (_, i) => ({ table: `public.t${i}` })),
          },
        ],
      },
    },
    {
      name: "multi-byte text",
      data: { keys: Array.from({ length: 2000 }, (_, i) => `schlüssel-ü-€-${i}`) },
    },
  ])("cuts $name to at most 4096 bytes and counts what was dropped", ({ data }) => {
    const r = completeResult(
      "logCleanup",
      FIXED,
      { summary: "done", details: { files: 1 }, data },
      clock,
    );
    expect(size(r)).toBeLessThanOrEqual(MAX_RESULT_BYTES);
    expect(Object.values(r.truncated ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(r.summary).toBe("done");
  });

  it("records exactly how many entries of a list were dropped", () => {
    const files = Array.from({ length: 1000 }, (_, i) => `f${i}`);
    const r = completeResult(
      "logCleanup",
      FIXED,
      { summary: "s", details: {}, data: { files } },
      clock,
    );
    const kept = (r.data?.files as string[]).length;
    expect(kept + r.truncated!["data.files"]!).toBe(1000);
    expect(kept).toBeGreaterThan(100);
  });

  it("leaves a small result alone", () => {
    const r = completeResult(
      "cacheCleanup",
      FIXED,
      { summary: "ok", details: { keys: 3 }, data: { sample: ["a"] } },
      clock,
    );
    expect(r.truncated).toBeUndefined();
    expect(r).toMatchObject({
      task: "cacheCleanup",
      result: "Succeeded",
      details: { keys: "3" },
      durationMs: 0,
    });
  });

  it("keeps capacityCheck's data.sample when data must go, so the next run can forecast", () => {
    const sample = { time: "2026-03-01T02:00:00.000Z", volumes: { data: 1234 }, databases: {} };
    const details = Object.fromEntries(
      Array.from({ length: 32 }, (_, i) => [`key${i}`, "v".repeat(200)]),
    );
    const r = completeResult(
      "capacityCheck",
      FIXED,
      { summary: "capacity ok", details, data: { sample, notes: [], findings: [] } },
      clock,
    );
    expect(size(r)).toBeLessThanOrEqual(MAX_RESULT_BYTES);
    expect(r.truncated).toMatchObject({ data: 1 });
    expect(r.data).toEqual({ sample });
    const other = completeResult(
      "cacheCleanup",
      FIXED,
      { summary: "s", details, data: { sample: { a: 1 } } },
      clock,
    );
    expect(other.data).toBeUndefined();
  });

  it("keeps the run's severity, the controller's cue for a critical finding, when data must go", () => {
    const details = Object.fromEntries(
      Array.from({ length: 32 }, (_, i) => [`key${i}`, "v".repeat(200)]),
    );
    const findings = Array.from({ length: 200 }, (_, i) => ({ severity: "critical", n: i }));
    const r = completeResult(
      "capacityCheck",
      FIXED,
      { summary: "capacity critical", details, data: { findings }, severity: "critical" },
      clock,
    );
    expect(size(r)).toBeLessThanOrEqual(MAX_RESULT_BYTES);
    expect(r.result).toBe("Succeeded");
    expect(r.severity).toBe("critical");
    const clean = completeResult("logCleanup", FIXED, { summary: "ok", details: {} }, clock);
    expect(clean).not.toHaveProperty("severity");
  });

  it("stays within the bound even when the summary and details are huge", () => {
    const details = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`key${i}`, "v".repeat(300)]),
    );
    const r = fitResult(
      completeResult(
        "capacityCheck",
        FIXED,
        { summary: "s".repeat(5000), details, error: "e".repeat(5000) },
        clock,
      ),
    );
    expect(size(r)).toBeLessThanOrEqual(MAX_RESULT_BYTES);
  });

  it("writes the termination message to an overridable path", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "pake-term-")), "termination-log");
    const r = completeResult("logCleanup", FIXED, { summary: "s", details: {} }, clock);
    await writeTerminationMessage(r, undefined, { PAKE_TERMINATION_MESSAGE_PATH: path });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(r);
  });
});

describe("Given messages that may carry credentials", () => {
  it.each([
    {
      input: "connect redis://:hunter2@cache:6379 failed",
      want: "connect redis://[REDACTED]@cache:6379 failed",
    },
    { input: "postgresql://app:s3cr3t@db/app", want: "postgresql://[REDACTED]@db/app" },
    { input: "password=hunter2 host=db", want: "password=[REDACTED] host=db" },
    { input: "no secrets here", want: "no secrets here" },
  ])("redacts $input in the summary and the error", ({ input, want }) => {
    const r = completeResult(
      "logCleanup",
      FIXED,
      { summary: input, details: {}, error: input },
      clock,
    );
    expect(r.summary).toBe(want);
    expect(r.error).toBe(want);
  });
});

describe("Given glob-ish file patterns", () => {
  it.each([
    { patterns: ["*.log"], path: "app.log", match: true },
    { patterns: ["*.log"], path: "sub/app.log", match: true },
    { patterns: ["*.log"], path: "app.log.1", match: false },
    { patterns: ["*.log.*"], path: "app.log.1.gz", match: true },
    { patterns: ["app-?.log"], path: "app-1.log", match: true },
    { patterns: ["app-[0-9].log"], path: "app-x.log", match: false },
    { patterns: ["app-[!0-9].log"], path: "app-x.log", match: true },
    { patterns: ["archive/**/*.gz"], path: "archive/2024/05/a.gz", match: true },
    { patterns: ["archive/**/*.gz"], path: "archive/a.gz", match: true },
    { patterns: ["archive/*.gz"], path: "other/archive/a.gz", match: false },
    { patterns: ["a+b(1).log"], path: "a+b(1).log", match: true },
  ])("$patterns on $path: $match", ({ patterns, path, match }) => {
    expect(globMatcher(patterns)(path)).toBe(match);
  });
});

describe("Given task configs", () => {
  it("the CRD's task types are accepted by the runners' config types", () => {
    expectTypeOf<z.output<typeof LogCleanupTask>>().toExtend<LogCleanupInput>();
    expectTypeOf<z.output<typeof DatabaseVacuumTask>>().toExtend<DatabaseVacuumInput>();
    expectTypeOf<z.output<typeof CapacityCheckTask>>().toExtend<CapacityCheckInput>();
    expectTypeOf<z.output<typeof SecurityScanTask>>().toExtend<SecurityScanInput>();
    expectTypeOf<z.output<typeof PerformanceReportTask>>().toExtend<PerformanceReportInput>();
  });

  it.each([
    { task: "logCleanup", config: { claimName: "logs", maxAge: "7d" }, valid: true },
    { task: "logCleanup", config: { maxAge: "7 days" }, valid: false, error: "maxAge" },
    {
      task: "cacheCleanup",
      config: { urlSecretRef: { name: "r", key: "url" }, pattern: "sess:*" },
      valid: true,
    },
    {
      task: "cacheCleanup",
      config: {},
      valid: false,
      error: "cacheCleanup needs pattern, idleTime or flush",
    },
    {
      task: "cacheCleanup",
      config: { flush: true, pattern: "x" },
      valid: false,
      error: "flush cannot be combined",
    },
    { task: "databaseVacuum", config: { mode: "Freeze" }, valid: false, error: "mode" },
    {
      task: "securityScan",
      config: { scannerReport: {} },
      valid: false,
      error: "configMapKeyRef or path",
    },
    { task: "custom", config: { image: "busybox", command: ["true"] }, valid: true },
    { task: "custom", config: { command: ["true"] }, valid: false, error: "image" },
    {
      task: "backupEverything",
      config: {},
      valid: false,
      error: 'unknown task "backupEverything"',
    },
  ])("$task $config → valid $valid", ({ task, config, valid, error }) => {
    const v = validateTaskConfig(task, config);
    expect(v.valid).toBe(valid);
    if (!v.valid) expect(v.error).toContain(error);
  });

  it("runTask turns bad JSON into a Failed result instead of throwing", async () => {
    const r = await runTask("logCleanup", "{not json", { now: clock });
    expect(r).toMatchObject({ task: "logCleanup", result: "Failed" });
    expect(r.error).toContain("task config is not valid JSON");
  });

  it("runTask refuses a custom task: it runs its own image", async () => {
    const r = await runTask("custom", { image: "busybox" }, { now: clock });
    expect(r.result).toBe("Failed");
    expect(r.summary).toContain("run their own image");
  });

  it("executeTask exits 1 on failure and writes the result", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "pake-term-")), "msg");
    const { result, exitCode } = await executeTask({
      name: "cacheCleanup",
      config: "{}",
      ctx: { now: clock, env: {} },
      terminationMessagePath: path,
    });
    expect(exitCode).toBe(1);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(result);
  });
});
