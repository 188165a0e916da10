// The redis probe against a real Redis: up, over a memory threshold (low
// maxmemory, filled until it evicts), stopped and restarted, and a timeout
// that disconnects from a server that never answers.
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { Redis as RedisClient } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryFromStatus, observe } from "../../src/health/check.ts";
import { CheckResourcePool } from "../../src/probes/pool.ts";
import { redisProbe } from "../../src/probes/redis.ts";
import type { ProbeResult, RedisProbeTarget } from "../../src/probes/types.ts";
import { startRedis, type Redis } from "../env/index.ts";

let server: Redis;

beforeAll(async () => {
  server = await startRedis({ settings: { maxmemory: "4mb", "maxmemory-policy": "allkeys-lru" } });
});

afterAll(async () => {
  await server?.destroy();
});

async function probe(url: string, pool: CheckResourcePool, timeoutMs = 2000): Promise<ProbeResult> {
  const t: RedisProbeTarget = { type: "redis", url };
  return redisProbe(t, { signal: AbortSignal.timeout(timeoutMs), timeoutMs, pool });
}

function value(result: ProbeResult, name: string): number | undefined {
  return result.metrics.find((m) => m.name === name)?.value;
}

function stateOf(result: ProbeResult) {
  return observe(memoryFromStatus(), result, { failureThreshold: 1 }, Date.now()).status;
}

describe("Given a running Redis", () => {
  it("reports PING latency, memory against maxmemory, clients and the hit ratio", async () => {
    const client = new RedisClient(server.url);
    await client.set("k", "v");
    await client.get("k");
    await client.get("missing");
    await client.quit();
    const pool = new CheckResourcePool();
    const result = await probe(server.url, pool);
    expect(result).toMatchObject({ ok: true, message: "Redis answered PING" });
    expect(value(result, "pingTimeMs")).toBeLessThan(100);
    expect(value(result, "maxMemoryBytes")).toBe(4 * 1024 * 1024);
    expect(value(result, "memoryPercent")).toBeLessThan(80);
    expect(value(result, "connectedClients")).toBeGreaterThanOrEqual(1);
    expect(value(result, "rejectedConnections")).toBe(0);
    expect(value(result, "hitRatioPercent")).toBe(50);
    expect(stateOf(result).state).toBe("Healthy");
    // The same client serves the next probe.
    const clients = value(result, "connectedClients");
    expect(value(await probe(server.url, pool), "connectedClients")).toBe(clients);
    await pool.close();
  });

  it("grades memory above the KPI threshold Critical once filled up to maxmemory", async () => {
    const client = new RedisClient(server.url);
    const chunk = "x".repeat(10_000);
    for (let i = 0; i < 600; i++) await client.set(`fill:${i}`, chunk);
    await client.quit();
    const pool = new CheckResourcePool();
    const result = await probe(server.url, pool);
    await pool.close();
    expect(value(result, "memoryPercent")).toBeGreaterThan(95);
    expect(value(result, "evictedKeys")).toBeGreaterThan(0);
    const status = stateOf(result);
    expect(status.state).toBe("Critical");
    expect(status.message).toBe("Redis answered PING; memoryPercent is Critical (above 95 %)");
  });
});

describe("Given a stopped Redis", () => {
  it("fails the probe with a clear message, and the same check reconnects once it is back", async () => {
    const pool = new CheckResourcePool();
    expect((await probe(server.url, pool)).ok).toBe(true);
    await server.stop();
    const result = await probe(server.url, pool);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^Redis at 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/);
    expect(stateOf(result).state).toBe("Critical");
    await server.start();
    expect((await probe(server.url, pool)).ok).toBe(true);
    await pool.close();
  });
});

describe("Given a Redis that never answers", () => {
  it("times out and closes the connection", async () => {
    const sockets: Socket[] = [];
    const closed: Promise<unknown>[] = [];
    const silent = createServer((socket) => {
      socket.resume(); // read (and ignore) the commands, so the client's FIN is seen
      sockets.push(socket);
      closed.push(once(socket, "close"));
    });
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    const { port } = silent.address() as { port: number };
    const pool = new CheckResourcePool();
    const started = Date.now();
    const result = await probe(`redis://127.0.0.1:${port}`, pool, 300);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result.ok).toBe(false);
    expect(result.message).toBe(`Redis at 127.0.0.1:${port} failed: timed out after 300 ms`);
    expect(sockets.length).toBeGreaterThan(0);
    await Promise.all(closed);
    await pool.close();
    silent.close();
  });
});
