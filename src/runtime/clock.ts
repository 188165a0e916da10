// An injectable clock, so that back-off, rate limits, delayed work and
// watchdogs can be tested without real time. Production code takes a `Clock`
// (default `realClock`); unit tests pass a `FakeClock` and advance it.
// Every timer of the real clock is capped at Node's limit and re-armed, so no
// caller can schedule past it by mistake (see cappedTimer).

/** A scheduled callback that can be cancelled. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch, like Date.now(). It jumps when the wall clock is set (NTP). */
  now(): number;
  /**
   * Milliseconds on a clock that never jumps (performance.now), for measuring
   * durations such as lease expiry. Its origin means nothing. A clock without
   * it measures durations with now().
   */
  monotonic?(): number;
  /** Runs fn once after ms milliseconds (like setTimeout). */
  setTimer(fn: () => void, ms: number): Timer;
  /** Resolves after ms milliseconds, or early (without rejecting) when signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Node's longest timer delay, 2^31−1 ms (about 24.8 days). Node fires a
 * setTimeout with a longer delay after 1 ms, which turns a requeue at a
 * yearly slot into a hot loop.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** The host's one-shot timer, for delays up to MAX_TIMER_DELAY_MS; returns its cancel function. */
export type HostTimer = (fn: () => void, ms: number) => () => void;

/** Node's setTimeout, unref'd so that a timer never keeps the process alive. */
const nodeTimer: HostTimer = (fn, ms) => {
  const handle = setTimeout(fn, ms);
  handle.unref();
  return () => clearTimeout(handle);
};

/**
 * Runs fn after ms on a host timer that waits at most MAX_TIMER_DELAY_MS: a
 * longer delay waits the limit, then re-arms for the rest. Infinity never
 * fires; a negative or NaN delay fires at once (as setTimeout does).
 */
export function cappedTimer(host: HostTimer, fn: () => void, ms: number): Timer {
  let cancelStep: () => void = () => undefined;
  const arm = (remaining: number): void => {
    const step = Math.min(remaining, MAX_TIMER_DELAY_MS);
    cancelStep = host(() => (remaining > step ? arm(remaining - step) : fn()), step);
  };
  arm(Number.isNaN(ms) ? 0 : Math.max(0, ms));
  return { cancel: () => cancelStep() };
}

/** A clock on a host timer, every delay capped and re-armed (see cappedTimer). */
export function hostClock(host: HostTimer, now: () => number = () => Date.now()): Clock {
  const clock: Clock = {
    now,
    monotonic: () => performance.now(),
    setTimer: (fn, ms) => cappedTimer(host, fn, ms),
    sleep: (ms, signal) => sleepWith(clock, ms, signal),
  };
  return clock;
}

/** The wall clock on Node's timers. Timers are unref'd so they never keep the process alive. */
export const realClock: Clock = hostClock(nodeTimer);

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets pending promise callbacks (microtasks and I/O-free continuations) run. */
export async function flushPromises(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * A manual clock for tests: time stands still until `advance` moves it, which
 * fires due timers in time order and lets promise continuations run between
 * them, so code awaiting `sleep` proceeds as it would in real time. Timers
 * and monotonic() follow `advance` only; `stepWallClock` moves now() alone,
 * as an NTP step does.
 */
export class FakeClock implements Clock {
  private readonly start: number;
  /** Monotonic time since construction; timers are due on it. */
  private current = 0;
  /** Sum of the wall-clock steps. */
  private wallStep = 0;
  private timers: FakeTimer[] = [];
  private nextId = 1;

  constructor(start: number | Date = Date.UTC(2025, 0, 1)) {
    this.start = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.start + this.current + this.wallStep;
  }

  monotonic(): number {
    return this.current;
  }

  /** Sets the wall clock forward (ms > 0) or back without moving monotonic time or timers. */
  stepWallClock(ms: number): void {
    this.wallStep += ms;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const timer: FakeTimer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return {
      cancel: () => {
        this.timers = this.timers.filter((t) => t.id !== timer.id);
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /** Number of timers not yet fired. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by ms, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushPromises();
    for (;;) {
      const due = this.nextDue(target);
      if (!due) break;
      this.timers = this.timers.filter((t) => t.id !== due.id);
      this.current = Math.max(this.current, due.at);
      due.fn();
      await flushPromises();
    }
    this.current = target;
    await flushPromises();
  }

  private nextDue(target: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (t.at <= target && (!best || t.at < best.at || (t.at === best.at && t.id < best.id)))
        best = t;
    }
    return best;
  }
}
