import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "../../../src/runtime/clock.ts";
import {
  decide,
  defaultIdentity,
  LeaderElector,
  microTime,
  nextRecord,
  observe,
  releasedRecord,
  type LeaderElectorOptions,
  type LeaseRecord,
  type StoppedReason,
} from "../../../src/runtime/leader-election.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { registry } from "../../../src/runtime/metrics.ts";
import { MemoryLeaseStore } from "./memory-lease-store.ts";

const T0 = Date.UTC(2025, 0, 1);
const logger = createLogger({ level: "silent" });

function held(holder: string, extra: Partial<LeaseRecord> = {}): LeaseRecord {
  return {
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    acquireTime: microTime(T0),
    renewTime: microTime(T0),
    leaseTransitions: 3,
    ...extra,
  };
}

describe("Given a candidate deciding what to do with the Lease it read", () => {
  it.each([
    { when: "there is no Lease", current: undefined, observedAt: T0, now: T0, action: "create" },
    { when: "we hold it", current: held("me"), observedAt: T0, now: T0, action: "renew" },
    {
      when: "it was released",
      current: held("", { leaseDurationSeconds: 1 }),
      observedAt: T0,
      now: T0,
      action: "acquire",
    },
    {
      when: "another holds it, seen just now",
      current: held("peer"),
      observedAt: T0,
      now: T0,
      action: "wait",
    },
    {
      when: "another holds it, unchanged for 14.999 s",
      current: held("peer"),
      observedAt: T0,
      now: T0 + 14_999,
      action: "wait",
    },
    {
      when: "another holds it, unchanged for the full 15 s",
      current: held("peer"),
      observedAt: T0,
      now: T0 + 15_000,
      action: "acquire",
    },
    {
      when: "its renewTime is an hour old by our clock but we only just saw it (clock skew)",
      current: held("peer", { renewTime: microTime(T0 - 3_600_000) }),
      observedAt: T0,
      now: T0 + 1000,
      action: "wait",
    },
    {
      when: "its renewTime is in our future but it has not changed for the lease duration",
      current: held("peer", { renewTime: microTime(T0 + 3_600_000) }),
      observedAt: T0,
      now: T0 + 15_000,
      action: "acquire",
    },
  ])("When $when, then it decides to $action", ({ current, observedAt, now, action }) => {
    const observation = current ? { record: current, observedAt } : undefined;
    expect(decide({ current, observation, identity: "me", now }).action).toBe(action);
  });

  it("When it has to wait, then it reports the holder and the local expiry time", () => {
    const current = held("peer", { leaseDurationSeconds: 4 });
    expect(
      decide({
        current,
        observation: { record: current, observedAt: T0 },
        identity: "me",
        now: T0 + 1,
      }),
    ).toEqual({
      action: "wait",
      holder: "peer",
      expiresAt: T0 + 4000,
    });
  });
});

describe("Given observations of a Lease over time", () => {
  it("When the record is unchanged, then the expiry clock keeps its start", () => {
    const first = observe(undefined, held("peer"), T0);
    expect(observe(first, held("peer"), T0 + 5000)).toBe(first);
  });

  it.each([
    { field: "renewTime", change: { renewTime: microTime(T0 + 2000) } },
    { field: "holderIdentity", change: { holderIdentity: "other" } },
    { field: "leaseTransitions", change: { leaseTransitions: 4 } },
  ])("When $field changes, then the expiry clock restarts", ({ change }) => {
    const first = observe(undefined, held("peer"), T0);
    expect(observe(first, held("peer", change), T0 + 5000).observedAt).toBe(T0 + 5000);
  });
});

describe("Given the record a candidate writes", () => {
  it("When taking over from another holder, then acquireTime is now and transitions increase", () => {
    const next = nextRecord({
      current: held("peer"),
      identity: "me",
      leaseDurationSeconds: 15,
      now: T0 + 60_000,
      renewing: false,
    });
    expect(next).toEqual({
      holderIdentity: "me",
      leaseDurationSeconds: 15,
      acquireTime: microTime(T0 + 60_000),
      renewTime: microTime(T0 + 60_000),
      leaseTransitions: 4,
    });
  });

  it("When renewing, then acquireTime and transitions are kept", () => {
    const next = nextRecord({
      current: held("me"),
      identity: "me",
      leaseDurationSeconds: 15,
      now: T0 + 2000,
      renewing: true,
    });
    expect(next.acquireTime).toBe(microTime(T0));
    expect(next.renewTime).toBe(microTime(T0 + 2000));
    expect(next.leaseTransitions).toBe(3);
  });

  it("When creating the Lease, then transitions start at 0", () => {
    expect(
      nextRecord({
        current: undefined,
        identity: "me",
        leaseDurationSeconds: 15,
        now: T0,
        renewing: false,
      }).leaseTransitions,
    ).toBe(0);
  });

  it("When releasing, then the holder is cleared and the duration is 1 s", () => {
    expect(releasedRecord(held("me"), T0)).toMatchObject({
      holderIdentity: "",
      leaseDurationSeconds: 1,
    });
  });

  it("When formatting times, then they carry microseconds as metav1.MicroTime requires", () => {
    expect(microTime(Date.UTC(2025, 0, 1, 0, 0, 0, 123))).toBe("2025-01-01T00:00:00.123000Z");
  });

  it("When two processes on one host pick identities, then they differ and name the host", () => {
    const [a, b] = [defaultIdentity(), defaultIdentity()];
    expect(a).not.toBe(b);
    expect(a).toContain(`_${process.pid}_`);
  });
});

async function isLeaderMetric(lease: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric("pake_leader_is_leader")?.get();
  return metric?.values.find((v) => v.labels.lease === lease)?.value;
}

interface Candidate {
  elector: LeaderElector;
  started: number;
  stopped: StoppedReason[];
}

describe("Given electors sharing a Lease with a fake clock (15 s / 10 s / 2 s)", () => {
  let clock: FakeClock;
  const electors: LeaderElector[] = [];

  function candidate(
    store: MemoryLeaseStore,
    identity: string,
    extra: Partial<LeaderElectorOptions> = {},
  ): Candidate {
    const c: Candidate = {
      elector: undefined as unknown as LeaderElector,
      started: 0,
      stopped: [],
    };
    c.elector = new LeaderElector({
      store,
      identity,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2000,
      jitter: 0,
      clock,
      logger,
      onStartedLeading: () => {
        c.started++;
      },
      onStoppedLeading: (reason) => c.stopped.push(reason),
      ...extra,
    });
    electors.push(c.elector);
    return c;
  }

  afterEach(async () => {
    const stopping = electors.splice(0).map((e) => e.stop());
    await clock.advance(1);
    await Promise.all(stopping);
  });

  it("When one starts alone, then it creates the Lease, leads and sets the metric", async () => {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore("t/alone");
    const a = candidate(store, "a");
    void a.elector.run();
    await clock.advance(0);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.started).toBe(1);
    expect(store.lease?.record.holderIdentity).toBe("a");
    expect(await isLeaderMetric("t/alone")).toBe(1);
  });

  it("When the leader keeps renewing, then the peer never takes over", async () => {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore("t/renew");
    const a = candidate(store, "a");
    void a.elector.run();
    await clock.advance(0);
    const b = candidate(store, "b");
    void b.elector.run();
    await clock.advance(60_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(store.lease?.record.renewTime).toBe(microTime(T0 + 60_000));
  });

  it("When the leader vanishes without releasing, then the peer takes over only after the lease duration", async () => {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore("t/crash");
    const crashed = candidate(store, "crashed");
    expect(await crashed.elector.tryAcquireOrRenew()).toBe("ok");
    const b = candidate(store, "b");
    void b.elector.run();
    await clock.advance(14_000);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(2000);
    expect(b.elector.isLeader()).toBe(true);
    expect(store.lease?.record).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
  });

  it("When the leader stops gracefully, then it releases the Lease and the peer takes over at its next retry", async () => {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore("t/release");
    const a = candidate(store, "a");
    void a.elector.run();
    await clock.advance(0);
    const b = candidate(store, "b");
    void b.elector.run();
    await clock.advance(1000);
    await a.elector.stop();
    expect(a.stopped).toEqual(["released"]);
    expect(store.lease?.record).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1 });
    await clock.advance(2000);
    expect(b.elector.isLeader()).toBe(true);
  });

  it("When renewals fail for the renew deadline, then leadership is lost and reported", async () => {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore("t/lost");
    const a = candidate(store, "a");
    const outcome = a.elector.run();
    await clock.advance(0);
    store.failing = true;
    await clock.advance(8000);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(4000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stopped).toEqual(["lost"]);
    expect(await outcome).toBe("lost");
    expect(await isLeaderMetric("t/lost")).toBe(0);
  });

  it("When a renewal finds another holder, then leadership is lost at once", async () => {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore("t/stolen");
    const a = candidate(store, "a");
    const outcome = a.elector.run();
    await clock.advance(0);
    store.force(held("intruder", { renewTime: microTime(T0 + 500) }));
    await clock.advance(2000);
    expect(await outcome).toBe("lost");
    expect(a.stopped).toEqual(["lost"]);
  });

  it("When two candidates race for a new Lease, then exactly one wins (409 for the other)", async () => {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore("t/race");
    const a = candidate(store, "a");
    const b = candidate(store, "b");
    const results = await Promise.all([
      a.elector.tryAcquireOrRenew(),
      b.elector.tryAcquireOrRenew(),
    ]);
    expect(results.sort()).toEqual(["error", "ok"]);
    expect(store.writes).toBe(1);
  });

  it("When the API server hangs, then a renewal times out instead of blocking past the deadline", async () => {
    clock = new FakeClock(T0);
    const store = new MemoryLeaseStore("t/hang");
    const a = candidate(store, "a");
    const outcome = a.elector.run();
    await clock.advance(0);
    store.get = () => new Promise(() => undefined);
    await clock.advance(12_000);
    expect(await outcome).toBe("lost");
  });
});
