// Leader election measures durations (lease expiry, renew deadline) on a
// monotonic clock: a step of the wall clock (NTP setting it back or forward
// by an hour) must neither hand the Lease to a second leader nor drop or keep
// leadership wrongly. The renew deadline runs from the start of the renewal
// attempt, as in client-go, not from the last successful renewal.
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "../../../src/runtime/clock.ts";
import { LeaderElector, type StoppedReason } from "../../../src/runtime/leader-election.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { MemoryLeaseStore } from "./memory-lease-store.ts";

const T0 = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;
const logger = createLogger({ level: "silent" });

interface Candidate {
  elector: LeaderElector;
  stopped: StoppedReason[];
}

describe("Given electors on a clock whose wall time steps (15 s / 10 s / 2 s)", () => {
  let clock: FakeClock;
  const electors: LeaderElector[] = [];

  function candidate(store: MemoryLeaseStore, identity: string): Candidate {
    const stopped: StoppedReason[] = [];
    const elector = new LeaderElector({
      store,
      identity,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2000,
      jitter: 0,
      clock,
      logger,
      onStartedLeading: () => undefined,
      onStoppedLeading: (reason) => stopped.push(reason),
    });
    electors.push(elector);
    return { elector, stopped };
  }

  afterEach(async () => {
    const stopping = electors.splice(0).map((e) => e.stop());
    // Long enough for a slow answer in flight (1 s) to arrive.
    await clock.advance(2000);
    await Promise.all(stopping);
  });

  /** Leader "a" renewing on store, standby "b" waiting, both observed for 1 s. */
  async function leaderAndStandby(key: string) {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore(key);
    const a = candidate(store, "a");
    void a.elector.run();
    await clock.advance(0);
    const b = candidate(store, "b");
    void b.elector.run();
    await clock.advance(1000);
    return { store, a, b };
  }

  it.each([
    ["forward 1 h", HOUR],
    ["back 1 h", -HOUR],
  ])(
    "When the wall clock steps %s while the leader renews, then the standby never takes over",
    async (_step, ms) => {
      const { store, a, b } = await leaderAndStandby(`t/step-renewing-${ms}`);
      clock.stepWallClock(ms);
      // The leader's renewals keep failing only briefly (one attempt), far within the deadline.
      store.failing = true;
      await clock.advance(1500);
      store.failing = false;
      await clock.advance(30_000);
      expect([a.elector.isLeader(), b.elector.isLeader()]).toEqual([true, false]);
      expect(a.stopped).toEqual([]);
      expect(store.lease?.record.holderIdentity).toBe("a");
    },
  );

  it("When the wall clock steps forward 1 h and a standby reads the Lease at once, then it does not count the lease as expired", async () => {
    const { b } = await leaderAndStandby("t/step-forward-standby");
    clock.stepWallClock(HOUR);
    expect(await b.elector.tryAcquireOrRenew()).toBe("held-by-other");
  });

  it("When the wall clock steps back 1 h and the leader vanishes, then the standby takes over after the lease duration", async () => {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore("t/step-back-vanish");
    const crashed = candidate(store, "crashed");
    expect(await crashed.elector.tryAcquireOrRenew()).toBe("ok");
    const b = candidate(store, "b");
    void b.elector.run();
    await clock.advance(1000);
    clock.stepWallClock(-HOUR);
    await clock.advance(13_000);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(2000);
    expect(b.elector.isLeader()).toBe(true);
  });

  it("When the wall clock steps back 1 h and renewals fail, then leadership is lost at the renew deadline", async () => {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore("t/step-back-lost");
    const a = candidate(store, "a");
    const outcome = a.elector.run();
    await clock.advance(0);
    store.failing = true;
    clock.stepWallClock(-HOUR);
    await clock.advance(12_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stopped).toEqual(["lost"]);
    expect(await outcome).toBe("lost");
  });

  it("When renewals fail until 9.5 s after the last success and the API server then answers in 1 s, then leadership is kept", async () => {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore("t/deadline-from-attempt");
    const a = candidate(store, "a");
    void a.elector.run();
    await clock.advance(0);
    // Renewed at 0; the attempt starts at 2 s, so its deadline is 12 s (not 10 s).
    store.failing = true;
    await clock.advance(9500);
    store.failing = false;
    const get = store.get.bind(store);
    store.get = async () => {
      await clock.sleep(1000);
      return get();
    };
    // The try at 10 s is answered at 11 s, within the attempt's deadline.
    await clock.advance(20_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.stopped).toEqual([]);
  });
});
