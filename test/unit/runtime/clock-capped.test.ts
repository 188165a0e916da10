// The real clock's timers are capped at Node's limit (2^31−1 ms) and re-armed
// for the rest, checked on a fake host timer that records what it was asked
// for and fires only when the test says so (no real waiting).
import { describe, expect, it } from "vitest";
import {
  cappedTimer,
  hostClock,
  MAX_TIMER_DELAY_MS,
  realClock,
  type HostTimer,
} from "../../../src/runtime/clock.ts";

const LIMIT = MAX_TIMER_DELAY_MS;

/** A host timer that records each step's delay and fires the pending one on demand. */
function fakeHost() {
  const armed: number[] = [];
  let pending: { fn: () => void; cancelled: boolean } | undefined;
  const host: HostTimer = (fn, ms) => {
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThanOrEqual(LIMIT);
    armed.push(ms);
    const step = { fn, cancelled: false };
    pending = step;
    return () => {
      step.cancelled = true;
    };
  };
  /** Fires the step armed last, as the host would when its delay has passed. */
  const fire = (): void => {
    const step = pending;
    pending = undefined;
    if (step && !step.cancelled) step.fn();
  };
  return { host, armed, fire, isArmed: () => pending !== undefined && !pending.cancelled };
}

describe("Given the clock's timers on a host timer limited to 2^31−1 ms", () => {
  it.each([
    { ms: 0, steps: [0] },
    { ms: 1_000, steps: [1_000] },
    { ms: LIMIT, steps: [LIMIT] },
    { ms: LIMIT + 1, steps: [LIMIT, 1] },
    { ms: 3 * LIMIT + 5, steps: [LIMIT, LIMIT, LIMIT, 5] },
    { ms: 30 * 86_400_000, steps: [LIMIT, 30 * 86_400_000 - LIMIT] },
    { ms: -5, steps: [0] },
    { ms: Number.NaN, steps: [0] },
  ])(
    "When a timer of $ms ms is set, then the host waits $steps and fn runs once, after the last step",
    ({ ms, steps }) => {
      const { host, armed, fire } = fakeHost();
      let runs = 0;
      cappedTimer(host, () => runs++, ms);
      for (let i = 0; i < steps.length; i++) {
        expect(runs).toBe(0);
        fire();
      }
      expect(armed).toEqual(steps);
      expect(runs).toBe(1);
      fire();
      expect(runs).toBe(1);
    },
  );

  it("When a long timer is cancelled between two steps, then the current step is cancelled and fn never runs", () => {
    const { host, armed, fire, isArmed } = fakeHost();
    let runs = 0;
    const timer = cappedTimer(host, () => runs++, 2 * LIMIT + 1);
    fire();
    expect(isArmed()).toBe(true);
    timer.cancel();
    expect(isArmed()).toBe(false);
    fire();
    expect(armed).toEqual([LIMIT, LIMIT]);
    expect(runs).toBe(0);
  });

  it("When a timer of Infinity is set, then it re-arms at the limit and never runs", () => {
    const { host, armed, fire } = fakeHost();
    let runs = 0;
    cappedTimer(host, () => runs++, Number.POSITIVE_INFINITY);
    for (let i = 0; i < 100; i++) fire();
    expect(armed).toHaveLength(101);
    expect(new Set(armed)).toEqual(new Set([LIMIT]));
    expect(runs).toBe(0);
  });

  it("When a clock on the host sleeps past the limit, then it resolves only after the last step", async () => {
    const { host, armed, fire } = fakeHost();
    const clock = hostClock(host, () => 0);
    let woke = false;
    const sleeping = clock.sleep(LIMIT + 10).then(() => (woke = true));
    fire();
    await Promise.resolve();
    expect(woke).toBe(false);
    fire();
    await sleeping;
    expect(woke).toBe(true);
    expect(armed).toEqual([LIMIT, 10]);
  });
});

describe("Given the real clock on Node's timers", () => {
  it("When a timer beyond 24.8 days is set, then it has not fired 50 ms later (Node alone fires it after 1 ms)", async () => {
    let fired = false;
    const timer = realClock.setTimer(() => (fired = true), 30 * 86_400_000);
    await new Promise((r) => setTimeout(r, 50));
    timer.cancel();
    expect(fired).toBe(false);
  });

  it("When a short timer is set, then it fires", async () => {
    const fired = await new Promise<boolean>((resolve) => {
      realClock.setTimer(() => resolve(true), 5);
    });
    expect(fired).toBe(true);
  });
});
