import { describe, expect, it } from "vitest";
import { FakeClock, flushPromises } from "../../../src/runtime/clock.ts";
import {
  ExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  TokenBucketRateLimiter,
  backoffDelay,
} from "../../../src/runtime/rate-limiter.ts";
import { WorkQueue, runWorkers } from "../../../src/runtime/workqueue.ts";

function newQueue(clock = new FakeClock()) {
  const limiter = new ExponentialFailureRateLimiter({ baseMs: 5, maxMs: 1_000_000 });
  return { clock, queue: new WorkQueue({ name: "test", clock, rateLimiter: limiter }) };
}

describe("Given a work queue", () => {
  it("When the same key is added many times, Then it is queued once", async () => {
    const { queue } = newQueue();
    queue.add("ns/a");
    queue.add("ns/a");
    queue.add("ns/b");
    queue.add("ns/a");
    expect(queue.len()).toBe(2);
    expect(await queue.get()).toBe("ns/a");
    expect(await queue.get()).toBe("ns/b");
    expect(queue.len()).toBe(0);
  });

  it("When a key in flight is added again, Then it is not handed out until done, and then once", async () => {
    const { queue } = newQueue();
    queue.add("k");
    expect(await queue.get()).toBe("k");
    queue.add("k");
    queue.add("k");
    expect(queue.len()).toBe(0);
    let second: string | undefined;
    void queue.get().then((k) => (second = k));
    await flushPromises();
    expect(second).toBeUndefined();
    queue.done("k");
    await flushPromises();
    expect(second).toBe("k");
    expect(queue.len()).toBe(0);
  });

  it("When a key in flight is not added again, Then done does not re-queue it", async () => {
    const { queue } = newQueue();
    queue.add("k");
    await queue.get();
    queue.done("k");
    expect(queue.len()).toBe(0);
  });

  it("When several workers run, Then at most one processes a key at a time", async () => {
    const { queue } = newQueue();
    const active = new Map<string, number>();
    let maxSame = 0;
    let processed = 0;
    const workers = runWorkers({
      queue,
      workers: 4,
      process: async (key) => {
        active.set(key, (active.get(key) ?? 0) + 1);
        maxSame = Math.max(maxSame, active.get(key) ?? 0);
        queue.add(key); // re-added while in flight
        await flushPromises(1);
        active.set(key, (active.get(key) ?? 1) - 1);
        processed++;
        if (processed > 20) void queue.shutdown(0);
      },
    });
    for (const k of ["a", "b", "a", "c", "a"]) queue.add(k);
    await workers;
    expect(maxSame).toBe(1);
    expect(processed).toBeGreaterThan(20);
  });

  it.each([
    { name: "later add keeps the earlier time", first: 200, second: 1000, readyAt: 200 },
    { name: "earlier add replaces a later time", first: 1000, second: 500, readyAt: 500 },
    { name: "equal times fire once", first: 300, second: 300, readyAt: 300 },
  ])(
    "When addAfter is called twice ($name), Then the earliest wins",
    async ({ first, second, readyAt }) => {
      const { clock, queue } = newQueue();
      queue.addAfter("k", first);
      queue.addAfter("k", second);
      await clock.advance(readyAt - 1);
      expect(queue.len()).toBe(0);
      await clock.advance(1);
      expect(queue.len()).toBe(1);
      await clock.advance(2000);
      expect(queue.len()).toBe(1);
      expect(clock.pendingTimers()).toBe(0);
    },
  );

  it("When a key fails repeatedly, Then addRateLimited backs off exponentially and forget resets it", async () => {
    const { clock, queue } = newQueue();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = clock.now();
      queue.addRateLimited("k");
      while (queue.len() === 0) await clock.advance(1);
      delays.push(clock.now() - start);
      await queue.get();
      queue.done("k");
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(queue.numRequeues("k")).toBe(4);
    queue.forget("k");
    expect(queue.numRequeues("k")).toBe(0);
  });

  it("When shut down with nothing in flight, Then it resolves true and get returns undefined", async () => {
    const { queue } = newQueue();
    let waiting: string | undefined = "pending";
    void queue.get().then((k) => (waiting = k));
    await flushPromises();
    expect(await queue.shutdown(1000)).toBe(true);
    await flushPromises();
    expect(waiting).toBeUndefined();
    queue.add("k");
    expect(await queue.get()).toBeUndefined();
  });

  it("When shut down with work in flight, Then it waits for done, up to the deadline", async () => {
    const { clock, queue } = newQueue();
    queue.add("a");
    queue.add("b");
    await queue.get();
    await queue.get();
    let result: boolean | undefined;
    void queue.shutdown(1000).then((r) => (result = r));
    queue.done("a");
    await clock.advance(999);
    expect(result).toBeUndefined();
    await clock.advance(1);
    expect(result).toBe(false);

    const second = newQueue();
    second.queue.add("x");
    await second.queue.get();
    let ok: boolean | undefined;
    void second.queue.shutdown(1000).then((r) => (ok = r));
    await second.clock.advance(500);
    second.queue.done("x");
    await flushPromises();
    expect(ok).toBe(true);
  });

  it("When shut down, Then delayed keys are dropped", async () => {
    const { clock, queue } = newQueue();
    queue.addAfter("k", 100);
    await queue.shutdown(0);
    await clock.advance(200);
    expect(queue.len()).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe("Given the per-key exponential limiter", () => {
  it.each([
    [1, 5],
    [2, 10],
    [3, 20],
    [10, 2560],
    [18, 655_360],
    [19, 1_000_000],
    [40, 1_000_000],
  ])("When a key failed %i times, Then the last delay is %i ms", (failures, expected) => {
    const limiter = new ExponentialFailureRateLimiter({ baseMs: 5, maxMs: 1_000_000 });
    let last = 0;
    for (let i = 0; i < failures; i++) last = limiter.when("k");
    expect(last).toBe(expected);
    expect(limiter.when("other")).toBe(5);
  });
});

describe("Given a token bucket of 10 qps and burst 2", () => {
  it("When tokens run out, Then later reservations wait and the bucket refills over time", async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucketRateLimiter({ qps: 10, burst: 2, clock });
    expect([bucket.when("a"), bucket.when("b"), bucket.when("c"), bucket.when("d")]).toEqual([
      0, 0, 100, 200,
    ]);
    await clock.advance(1000);
    expect(bucket.when("e")).toBe(0);
  });

  it("When combined with per-key back-off, Then the longer delay wins", () => {
    const clock = new FakeClock();
    const limiter = new MaxOfRateLimiter(
      new ExponentialFailureRateLimiter({ baseMs: 5 }),
      new TokenBucketRateLimiter({ qps: 1, burst: 1, clock }),
    );
    expect(limiter.when("a")).toBe(5);
    expect(limiter.when("b")).toBe(1000);
    limiter.forget("a");
    expect(limiter.numRequeues("a")).toBe(0);
  });
});

describe("Given the informer back-off", () => {
  it.each([
    { attempt: 1, random: 0, expected: 800 },
    { attempt: 2, random: 0, expected: 1600 },
    { attempt: 3, random: 0.5, expected: 4000 },
    { attempt: 10, random: 0, expected: 30_000 },
    { attempt: 10, random: 0.999, expected: 44_985 },
  ])(
    "When attempt $attempt draws $random, Then it waits $expected ms",
    ({ attempt, random, expected }) => {
      expect(backoffDelay(attempt, { initialMs: 800, maxMs: 30_000, random: () => random })).toBe(
        expected,
      );
    },
  );
});
