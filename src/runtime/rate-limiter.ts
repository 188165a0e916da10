// Rate limiters for the work queue, with client-go's semantics: `when(key)`
// says how long to wait before the key may be processed again (and records
// the attempt), `forget(key)` resets its history after a success.
import { realClock, type Clock } from "./clock.ts";

export interface RateLimiter {
  /** Delay in ms before `key` may be retried; each call counts as one more failure. */
  when(key: string): number;
  /** Forgets the key's failures (call after a successful reconcile). */
  forget(key: string): void;
  /** How many times `when` was called for the key since the last `forget`. */
  numRequeues(key: string): number;
}

export interface ExponentialOptions {
  /** First delay; default 5 ms. */
  baseMs?: number;
  /** Cap; default 1000 s. */
  maxMs?: number;
}

/** Per-key exponential back-off: base·2^failures, capped at max. */
export class ExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(opts: ExponentialOptions = {}) {
    this.baseMs = opts.baseMs ?? 5;
    this.maxMs = opts.maxMs ?? 1_000_000;
  }

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n, 60));
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

export interface TokenBucketOptions {
  /** Sustained rate, tokens per second; default 10. */
  qps?: number;
  /** Bucket size; default 100. */
  burst?: number;
  clock?: Clock;
}

/**
 * A global token bucket shared by all keys (overall retry rate). Each `when`
 * reserves a token and returns how long until that token exists.
 */
export class TokenBucketRateLimiter implements RateLimiter {
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number;

  constructor(opts: TokenBucketOptions = {}) {
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 100;
    this.clock = opts.clock ?? realClock;
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  when(_key: string): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
  }

  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }
}

/** The longest delay of several limiters (per-key back-off AND a global rate). */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.when(key)));
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.numRequeues(key)));
  }
}

/** client-go's default: 5 ms → 1000 s per key, and 10 qps / burst 100 overall. */
export function defaultControllerRateLimiter(clock: Clock = realClock): RateLimiter {
  return new MaxOfRateLimiter(
    new ExponentialFailureRateLimiter({ baseMs: 5, maxMs: 1_000_000 }),
    new TokenBucketRateLimiter({ qps: 10, burst: 100, clock }),
  );
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /** Fraction of the delay added at random, 0..1; default 0.5 (delay·[1, 1.5)). */
  jitter?: number;
  random?: () => number;
}

/** Exponential back-off with jitter for attempt 1, 2, 3…; used by the informer. */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const factor = opts.factor ?? 2;
  const jitter = opts.jitter ?? 0.5;
  const random = opts.random ?? Math.random;
  const base = Math.min(
    opts.maxMs,
    opts.initialMs * factor ** Math.max(0, Math.min(attempt - 1, 60)),
  );
  return Math.round(base * (1 + jitter * random()));
}
