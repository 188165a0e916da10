import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  type CheckReport,
  ProbeEngine,
  jitterFraction,
  type CheckDefinition,
} from "../../../src/probes/engine.ts";
import { createProbeEngineMetrics } from "../../../src/probes/metrics.ts";
import type { ProbeRegistry } from "../../../src/probes/registry.ts";
import type { Probe, ProbeContext, ProbeResult } from "../../../src/probes/types.ts";
import { FakeClock } from "../../../src/runtime/clock.ts";
import { createLogger } from "../../../src/runtime/log.ts";

const OK: ProbeResult = { ok: true, latencyMs: 5, message: "Connected", metrics: [] };

interface Harness {
  clock: FakeClock;
  engine: ProbeEngine;
  reports: CheckReport[];
  registry: Registry;
  calls: { key: string; at: number; ctx: ProbeContext }[];
}

function harness(probe: Probe, options: { concurrency?: number } = {}): Harness {
  const clock = new FakeClock();
  const registry = new Registry();
  const reports: CheckReport[] = [];
  const calls: Harness["calls"] = [];
  const recording: Probe = (target, ctx) => {
    calls.push({ key: target.type === "tcp" ? target.host : "", at: clock.now(), ctx });
    return probe(target, ctx);
  };
  const probes = Object.fromEntries(
    ["postgres", "redis", "http", "tcp", "kubernetes", "system"].map((t) => [t, recording]),
  ) as unknown as ProbeRegistry;
  const engine = new ProbeEngine({
    onReport: (r) => {
      reports.push(r);
    },
    clock,
    probes,
    metrics: createProbeEngineMetrics(registry),
    logger: createLogger({ level: "silent" }),
    concurrency: options.concurrency,
    maxStartSpreadMs: 10_000,
  });
  return { clock, engine, reports, registry, calls };
}

function check(name: string, extra: Partial<CheckDefinition> = {}): CheckDefinition {
  return {
    key: `ns/${name}`,
    namespace: "ns",
    name,
    target: { type: "tcp", host: name, port: 5432 },
    intervalMs: 10_000,
    timeoutMs: 1_000,
    ...extra,
  };
}

describe("Given a probe engine with many checks", () => {
  it("keeps a single timer for all of them", async () => {
    const { clock, engine } = harness(() => Promise.resolve(OK));
    await engine.start();
    for (let i = 0; i < 50; i++) engine.upsert(check(`c${i}`));
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(25_000);
    expect(clock.pendingTimers()).toBe(1);
    await engine.stop(1000);
  });

  it("spreads first probes by a deterministic jitter of the key", async () => {
    const { clock, engine } = harness(() => Promise.resolve(OK));
    await engine.start();
    const start = clock.now();
    const dues = ["a", "b", "c", "d", "e"].map((n) => {
      engine.upsert(check(n));
      return engine.nextDue(`ns/${n}`)! - start;
    });
    expect(dues).toEqual(
      ["a", "b", "c", "d", "e"].map((n) => Math.floor(jitterFraction(`ns/${n}`) * 10_000)),
    );
    expect(new Set(dues).size).toBe(5);
    for (const d of dues) expect(d).toBeLessThan(10_000);
    await engine.stop(1000);
  });

  it("probes each check once per interval, keeping its phase", async () => {
    const { clock, engine, calls } = harness(() => Promise.resolve(OK));
    await engine.start();
    const start = clock.now();
    engine.upsert(check("db"));
    const first = engine.nextDue("ns/db")!;
    await clock.advance(60_000);
    expect(calls.map((c) => c.at - start)).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => first - start + i * 10_000).filter((t) => t <= 60_000),
    );
    await engine.stop(1000);
  });

  it("never runs more probes at once than the concurrency limit", async () => {
    let inflight = 0;
    let peak = 0;
    const { clock, engine, calls } = harness(
      async (_t, ctx) => {
        inflight++;
        peak = Math.max(peak, inflight);
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        inflight--;
        return OK;
      },
      { concurrency: 2 },
    );
    await engine.start();
    for (let i = 0; i < 6; i++) engine.upsert(check(`c${i}`, { intervalMs: 60_000 }));
    await clock.advance(10_000);
    expect(peak).toBe(2);
    // Each probe hangs until its 1 s timeout; six of them drain two by two.
    await clock.advance(5_000);
    expect(calls.length).toBe(6);
    expect(peak).toBe(2);
    await engine.stop(1000);
  });
});

describe("Given a probe that outlives its timeout", () => {
  it("aborts the probe's signal and reports the timeout as a failure", async () => {
    let aborted: AbortSignal | undefined;
    const { clock, engine, reports } = harness(
      (_t, ctx) =>
        new Promise<ProbeResult>((resolve) => {
          ctx.signal.addEventListener("abort", () => {
            aborted = ctx.signal;
            resolve({
              ok: false,
              latencyMs: 1000,
              message: "Request failed: timed out after 1000 ms",
              metrics: [],
            });
          });
        }),
    );
    await engine.start();
    engine.upsert(check("slow", { intervalMs: 60_000, timeoutMs: 1_000 }));
    await clock.advance(10_000 + 1_000);
    expect(aborted?.aborted).toBe(true);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.result).toMatchObject({
      ok: false,
      message: "Request failed: timed out after 1000 ms",
    });
    await engine.stop(1000);
  });

  it("reports a timeout even when the probe ignores the signal", async () => {
    const { clock, engine, reports } = harness(() => new Promise<ProbeResult>(() => undefined));
    await engine.start();
    engine.upsert(check("stuck", { intervalMs: 60_000, timeoutMs: 500 }));
    await clock.advance(10_000 + 600);
    expect(reports[0]!.result).toMatchObject({
      ok: false,
      message: "Probe timed out after 500 ms",
    });
    await engine.stop(1000);
  });
});

describe("Given pooled connections per check", () => {
  function pooling() {
    const created: number[] = [];
    const disposed: number[] = [];
    let n = 0;
    const probe: Probe = (_t, ctx) => {
      ctx.pool.get("conn", {
        create: () => {
          created.push(++n);
          return n;
        },
        dispose: (id) => {
          disposed.push(id);
        },
      });
      return Promise.resolve(OK);
    };
    return { probe, created, disposed };
  }

  it("reuses the connection across probes", async () => {
    const p = pooling();
    const { clock, engine, calls } = harness(p.probe);
    await engine.start();
    engine.upsert(check("db"));
    await clock.advance(50_000);
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(p.created).toEqual([1]);
    await engine.stop(1000);
  });

  it("closes it when the connection configuration changes, and not when only the policy does", async () => {
    const p = pooling();
    const { clock, engine } = harness(p.probe);
    await engine.start();
    engine.upsert(check("db", { connectionVersion: "rv1" }));
    await clock.advance(20_000);
    engine.upsert(check("db", { connectionVersion: "rv1", policy: { failureThreshold: 5 } }));
    await clock.advance(20_000);
    expect(p.disposed).toEqual([]);
    engine.upsert(check("db", { connectionVersion: "rv2" }));
    await clock.advance(20_000);
    expect(p.disposed).toEqual([1]);
    expect(p.created).toEqual([1, 2]);
    engine.upsert(
      check("db", { connectionVersion: "rv2", target: { type: "tcp", host: "db", port: 6543 } }),
    );
    await clock.advance(20_000);
    expect(p.disposed).toEqual([1, 2]);
    await engine.stop(1000);
  });

  it("closes it when the check is removed, and stops probing", async () => {
    const p = pooling();
    const { clock, engine, calls } = harness(p.probe);
    await engine.start();
    engine.upsert(check("db"));
    await clock.advance(20_000);
    await engine.remove("ns/db");
    expect(p.disposed).toEqual([1]);
    const count = calls.length;
    await clock.advance(60_000);
    expect(calls.length).toBe(count);
    expect(clock.pendingTimers()).toBe(0);
    await engine.stop(1000);
  });
});

describe("Given a suspended check", () => {
  it("does not probe it until resumed", async () => {
    const { clock, engine, calls } = harness(() => Promise.resolve(OK));
    await engine.start();
    engine.upsert(check("db", { suspend: true }));
    await clock.advance(60_000);
    expect(calls).toHaveLength(0);
    engine.suspend("ns/db", false);
    await clock.advance(20_000);
    expect(calls.length).toBeGreaterThan(0);
    engine.suspend("ns/db");
    const count = calls.length;
    await clock.advance(60_000);
    expect(calls.length).toBe(count);
    await engine.stop(1000);
  });
});

describe("Given probe reports", () => {
  it("delivers the health state, the write decision and a way to acknowledge the write", async () => {
    let result: ProbeResult = OK;
    const { clock, engine, reports, registry } = harness(() => Promise.resolve(result));
    await engine.start();
    engine.upsert(check("db", { policy: { failureThreshold: 1 } }));
    await clock.advance(10_000);
    expect(reports[0]).toMatchObject({
      key: "ns/db",
      status: { state: "Healthy" },
      decision: { write: true },
    });
    reports[0]!.markWritten();
    await clock.advance(10_000);
    expect(reports[1]!.decision.write).toBe(false);
    result = { ok: false, latencyMs: 1, message: "Could not connect", metrics: [] };
    await clock.advance(10_000);
    expect(reports[2]).toMatchObject({
      status: { state: "Critical", message: "Could not connect" },
      transition: { from: "Healthy", to: "Critical" },
      decision: { write: true, reasons: ["state", "message"] },
    });
    const text = await registry.metrics();
    expect(text).toContain(
      'pake_healthcheck_probe_failures_total{namespace="ns",name="db",target_type="tcp"} 1',
    );
    expect(text).toContain('pake_healthcheck_state{namespace="ns",name="db",state="Critical"} 1');
    expect(text).toContain('pake_healthcheck_state{namespace="ns",name="db",state="Healthy"} 0');
    expect(text).toMatch(/pake_healthcheck_score\{namespace="ns",name="db"\} \d+/);
    expect(text).toContain(
      'pake_healthcheck_probe_duration_seconds_count{namespace="ns",name="db",target_type="tcp"} 3',
    );
    await engine.stop(1000);
  });

  it("seeds a check's state from its status", async () => {
    const { clock, engine, reports } = harness(() => Promise.resolve(OK));
    await engine.start();
    engine.upsert(
      check("db", { status: { state: "Critical", successCount: 10, failureCount: 5 } }),
    );
    await clock.advance(10_000);
    expect(reports[0]!.status).toMatchObject({
      state: "Critical",
      successCount: 11,
      failureCount: 5,
    });
    await engine.stop(1000);
  });
});
