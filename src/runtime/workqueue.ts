// A work queue with client-go's semantics:
// - a key is queued at most once however often it is added (de-dup);
// - a key is handed to at most one worker at a time: adding a key that is
//   being processed marks it dirty, and it is queued again when `done` is called;
// - `addAfter` schedules a key for later (the earliest pending time wins);
// - `addRateLimited` delays by the rate limiter (per-key back-off + global
//   bucket), `forget` resets a key's back-off;
// - `shutdown(deadline)` stops handing out keys and waits for in-flight work.
import { Counter, Gauge, Histogram } from "prom-client";
import { realClock, type Clock, type Timer } from "./clock.ts";
import { errorMessage } from "../lib/errors.ts";
import { log as rootLog, type Logger } from "./log.ts";
import { registry } from "./metrics.ts";
import { defaultControllerRateLimiter, type RateLimiter } from "./rate-limiter.ts";

const depthGauge = new Gauge({
  name: "pake_workqueue_depth",
  help: "Keys waiting in the work queue.",
  labelNames: ["name"],
  registers: [registry],
});
const addsCounter = new Counter({
  name: "pake_workqueue_adds_total",
  help: "Keys added to the work queue.",
  labelNames: ["name"],
  registers: [registry],
});
const retriesCounter = new Counter({
  name: "pake_workqueue_retries_total",
  help: "Rate-limited re-adds (retries).",
  labelNames: ["name"],
  registers: [registry],
});
const latencyHistogram = new Histogram({
  name: "pake_workqueue_queue_duration_seconds",
  help: "Time a key waits in the queue before a worker takes it.",
  labelNames: ["name"],
  buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60, 300],
  registers: [registry],
});
const workHistogram = new Histogram({
  name: "pake_workqueue_work_duration_seconds",
  help: "Time a worker spends on a key.",
  labelNames: ["name"],
  buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60, 300],
  registers: [registry],
});

export interface WorkQueueOptions {
  /** Metric label and log name. */
  name: string;
  clock?: Clock;
  rateLimiter?: RateLimiter;
}

export class WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Map<string, number>();
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: Timer }>();
  private waiters: Array<(key: string | undefined) => void> = [];
  private idleWaiters: Array<() => void> = [];
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.name = opts.name;
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter(this.clock);
  }

  /** Queues the key unless it is already queued; a key in flight is queued again when done. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    addsCounter.inc({ name: this.name });
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds the key after ms; if the key is already scheduled, the earlier time wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Adds the key after the rate limiter's delay (a retry after failure). */
  addRateLimited(key: string): void {
    retriesCounter.inc({ name: this.name });
    this.addAfter(key, this.limiter.when(key));
  }

  /** Clears the key's back-off history (after success). Does not dequeue it. */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  /** Next key to work on; waits while empty; undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the key's processing finished; re-queues it if it was added meanwhile. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    workHistogram.observe({ name: this.name }, (this.clock.now() - started) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0) this.wakeIdle();
  }

  len(): number {
    return this.queue.length;
  }

  /** Keys currently handed out and not yet done. */
  inFlight(): string[] {
    return [...this.processing.keys()];
  }

  /** True when the key waits for a delayed add. */
  isScheduled(key: string): boolean {
    return this.delayed.has(key);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Stops handing out keys (waiting `get` calls resolve undefined), drops
   * queued and delayed keys, and waits up to deadlineMs for in-flight keys.
   * Resolves true if all in-flight work finished in time.
   */
  async shutdown(deadlineMs: number): Promise<boolean> {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.queue.length = 0;
    depthGauge.set({ name: this.name }, 0);
    for (const w of this.waiters.splice(0)) w(undefined);
    if (this.processing.size === 0) return true;
    let timer: Timer | undefined;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const expired = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimer(() => resolve(false), deadlineMs);
    });
    const result = await Promise.race([idle, expired]);
    timer?.cancel();
    return result;
  }

  private push(key: string): void {
    this.addedAt.set(key, this.clock.now());
    const waiter = this.waiters.shift();
    if (waiter) {
      this.handOut(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    depthGauge.set({ name: this.name }, this.queue.length);
  }

  private take(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    depthGauge.set({ name: this.name }, this.queue.length);
    this.handOut(key);
    return key;
  }

  private handOut(key: string): void {
    const now = this.clock.now();
    latencyHistogram.observe({ name: this.name }, (now - (this.addedAt.get(key) ?? now)) / 1000);
    this.addedAt.delete(key);
    this.dirty.delete(key);
    this.processing.set(key, now);
  }

  private wakeIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

export interface WorkersOptions {
  queue: WorkQueue;
  /** Number of concurrent workers. */
  workers: number;
  /** Processes one key; must handle its own errors (a throw is logged). */
  process: (key: string) => Promise<void>;
  logger?: Logger;
}

/** Runs N workers until the queue shuts down; resolves when all have exited. */
export async function runWorkers(opts: WorkersOptions): Promise<void> {
  const logger = opts.logger ?? rootLog;
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await opts.queue.get();
      if (key === undefined) return;
      try {
        await opts.process(key);
      } catch (err) {
        logger.error({ key, err: errorMessage(err) }, "Worker failed");
      } finally {
        opts.queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, worker));
}
