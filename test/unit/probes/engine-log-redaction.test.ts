// The engine logs each state change with the probe's message; a message can
// quote a connection URI with its password, so the log line is redacted.
import { Writable } from "node:stream";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ProbeEngine } from "../../../src/probes/engine.ts";
import { createProbeEngineMetrics } from "../../../src/probes/metrics.ts";
import type { ProbeRegistry } from "../../../src/probes/registry.ts";
import type { Probe, ProbeResult } from "../../../src/probes/types.ts";
import { FakeClock } from "../../../src/runtime/clock.ts";
import { createLogger } from "../../../src/runtime/log.ts";

const CANARY = "hunter2-canary";

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return { lines, stream };
}

async function runFailingCheck(probe: Probe): Promise<string[]> {
  const clock = new FakeClock();
  const { lines, stream } = capture();
  const probes = Object.fromEntries(
    ["postgres", "redis", "http", "tcp", "kubernetes", "system"].map((t) => [t, probe]),
  ) as unknown as ProbeRegistry;
  const engine = new ProbeEngine({
    onReport: () => undefined,
    clock,
    probes,
    metrics: createProbeEngineMetrics(new Registry()),
    logger: createLogger({ level: "debug" }, stream),
    maxStartSpreadMs: 1_000,
  });
  await engine.start();
  engine.upsert({
    key: "ns/db",
    namespace: "ns",
    name: "db",
    target: { type: "tcp", host: "db", port: 5432 },
    intervalMs: 1_000,
    timeoutMs: 500,
  });
  await clock.advance(30_000);
  await engine.stop(1_000);
  return lines;
}

describe("Given a probe whose message quotes a connection URI with a password", () => {
  it.each([
    `connect postgresql://app:${CANARY}@db:5432/app failed`,
    `connect postgresql://app:p@${CANARY}@db:5432/app failed`,
    `auth failed: password=${CANARY}`,
  ])(
    "When the check changes state with %j, then the log line hides the password",
    async (message) => {
      const failed: ProbeResult = { ok: false, latencyMs: 5, message, metrics: [] };
      const lines = await runFailingCheck(() => Promise.resolve(failed));
      const transitions = lines.filter((l) => l.includes("Changed HealthCheck state"));
      expect(transitions.length).toBeGreaterThan(0);
      expect(transitions.join("")).toContain("[REDACTED]");
      expect(lines.join("")).not.toContain(CANARY);
    },
  );
});
