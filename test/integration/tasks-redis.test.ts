// cacheCleanup against a real Redis (its own, because flush empties it).
import { Redis as RedisClient } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startRedis, type Redis } from "../env/index.ts";
import { runCacheCleanup, runTask } from "../../src/tasks/index.ts";

let redis: Redis;
let client: RedisClient;
let env: Record<string, string>;

beforeAll(async () => {
  redis = await startRedis();
  client = new RedisClient(redis.url);
  env = { PAKE_REDIS_URL: redis.url };
});

afterAll(async () => {
  client.disconnect();
  await redis.destroy();
});

async function seed(prefix: string, count: number): Promise<void> {
  const pipeline = client.pipeline();
  for (let i = 0; i < count; i++) pipeline.set(`${prefix}${i}`, "v");
  await pipeline.exec();
}

beforeEach(async () => {
  await client.flushdb();
});

describe("Given a Redis database with session and other keys", () => {
  it("removes the keys matching a pattern in SCAN batches and reports scanned and removed", async () => {
    await seed("sess:", 2500);
    await seed("user:", 300);
    const r = await runCacheCleanup({ pattern: "sess:*", batchSize: 100 }, { env });
    expect(r.result).toBe("Succeeded");
    expect(r.details).toMatchObject({ keysRemoved: "2500", keysMatched: "2500" });
    expect(Number(r.details.keysScanned)).toBe(2500);
    expect(await client.dbsize()).toBe(300);
    expect((await client.keys("sess:*")).length).toBe(0);
  });

  it("stops after maxKeys", async () => {
    await seed("tmp:", 500);
    const r = await runCacheCleanup({ pattern: "tmp:*", batchSize: 50, maxKeys: 120 }, { env });
    expect(r.details).toMatchObject({ keysRemoved: "120", stoppedAtMaxKeys: "true" });
    expect(await client.dbsize()).toBe(380);
  });

  it("dryRun counts and deletes nothing", async () => {
    await seed("sess:", 40);
    const r = await runCacheCleanup({ pattern: "sess:*", dryRun: true }, { env });
    expect(r.details).toMatchObject({ keysMatched: "40", keysRemoved: "40", dryRun: "true" });
    expect(r.summary).toMatch(/^would remove 40 key\(s\)/);
    expect(await client.dbsize()).toBe(40);
  });

  it("removes only keys idle for longer than idleTime (OBJECT IDLETIME), combined with a pattern", async () => {
    await seed("cache:", 20);
    await seed("other:", 5);
    await new Promise((resolve) => setTimeout(resolve, 3200));
    for (let i = 0; i < 5; i++) await client.get(`cache:${i}`); // touched: no longer idle
    const r = await runCacheCleanup({ pattern: "cache:*", idleTime: "2s" }, { env });
    expect(r.details).toMatchObject({ keysRemoved: "15", keysScanned: "20" });
    expect((await client.keys("cache:*")).sort()).toEqual(
      [0, 1, 2, 3, 4].map((i) => `cache:${i}`).sort(),
    );
    expect(await client.exists("other:0")).toBe(1);
  });

  it("refuses to flush without the explicit confirmation", async () => {
    await seed("k:", 10);
    const r = await runTask("cacheCleanup", JSON.stringify({ flush: true }), { env });
    expect(r.result).toBe("Failed");
    expect(r.summary).toContain("refused to flush");
    expect(await client.dbsize()).toBe(10);
  });

  it("flushes with confirmFlush: true", async () => {
    await seed("k:", 10);
    const r = await runCacheCleanup({ flush: true, confirmFlush: true }, { env });
    expect(r.result).toBe("Succeeded");
    expect(r.details).toMatchObject({ flushed: "true", keysRemoved: "10" });
    expect(await client.dbsize()).toBe(0);
  });

  it("fails with a message naming the variable when no URL is set, and never leaks a password", async () => {
    const missing = await runCacheCleanup({ pattern: "x" }, { env: {} });
    expect(missing.error).toContain("PAKE_REDIS_URL");
    const wrong = await runCacheCleanup(
      { pattern: "x" },
      { env: { PAKE_REDIS_URL: "redis://:topsecret@127.0.0.1:1" } },
    );
    expect(wrong.result).toBe("Failed");
    expect(JSON.stringify(wrong)).not.toContain("topsecret");
  });
});
