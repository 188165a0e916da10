import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { parseOperatorConfig, type OperatorConfig } from "../../../src/cli/operator-config.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { Manager } from "../../../src/runtime/manager.ts";
import type { Runnable } from "../../../src/runtime/runnable.ts";
import { MemoryLeaseStore } from "./memory-lease-store.ts";

const logger = createLogger({ level: "silent" });

function config(extra: string[] = []): OperatorConfig {
  return parseOperatorConfig(
    ["--metrics-bind-address", "127.0.0.1:0", "--leader-elect=false", ...extra],
    {
      env: {},
      readServiceAccountNamespace: () => undefined,
    },
  );
}

/** A runnable that records its lifecycle into a shared journal. */
function recorder(
  journal: string[],
  name: string,
  opts: { leader?: boolean; stopMs?: number; failStart?: boolean } = {},
): Runnable {
  return {
    name,
    needsLeaderElection: opts.leader ?? false,
    start() {
      journal.push(`start ${name}`);
      return opts.failStart ? Promise.reject(new Error(`${name} broke`)) : Promise.resolve();
    },
    async stop(deadlineMs) {
      journal.push(`stop ${name} (deadline ${deadlineMs > 0 ? "set" : "none"})`);
      await sleep(opts.stopMs ?? 0);
      journal.push(`stopped ${name}`);
    },
  };
}

async function status(manager: Manager, path: string): Promise<number> {
  return (await fetch(`http://127.0.0.1:${manager.http.port()}${path}`)).status;
}

describe("Given a manager without leader election", () => {
  let manager: Manager | undefined;
  afterEach(async () => {
    await manager?.shutdown("test over");
    manager = undefined;
  });

  it("When started, then every runnable starts in order and /readyz turns 200", async () => {
    const journal: string[] = [];
    manager = new Manager({ config: config(), logger, exit: () => undefined });
    manager.add(recorder(journal, "probes"));
    manager.add(recorder(journal, "healthcheck", { leader: true }));
    expect(manager.isReady()).toBe(false);
    await manager.start();
    expect(journal).toEqual(["start probes", "start healthcheck"]);
    expect(manager.isReady()).toBe(true);
    expect(manager.isLeader()).toBe(true);
    expect(await status(manager, "/readyz")).toBe(200);
    expect(await status(manager, "/healthz")).toBe(200);
  });

  it("When shut down, then /readyz turns 503 first and runnables stop in reverse order", async () => {
    const journal: string[] = [];
    manager = new Manager({ config: config(), logger, exit: () => undefined });
    manager.add(recorder(journal, "a"));
    manager.add(recorder(journal, "b", { leader: true, stopMs: 300 }));
    await manager.start();
    const port = manager.http.port();
    const stopping = manager.shutdown("test");
    expect(manager.isReady()).toBe(false);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    expect(await stopping).toBe(0);
    expect(journal.slice(2)).toEqual([
      "stop b (deadline set)",
      "stopped b",
      "stop a (deadline set)",
      "stopped a",
    ]);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it("When a runnable overruns the shutdown deadline, then it is abandoned and shutdown still completes", async () => {
    const journal: string[] = [];
    manager = new Manager({
      config: config(["--graceful-shutdown-timeout", "200ms"]),
      logger,
      exit: () => undefined,
    });
    manager.add(recorder(journal, "fast"));
    manager.add(recorder(journal, "slow", { stopMs: 5000 }));
    await manager.start();
    const before = Date.now();
    expect(await manager.shutdown("test")).toBe(0);
    expect(Date.now() - before).toBeLessThan(2500);
    // Reverse order: "slow" used up the budget, so "fast" is still asked to stop, with no time left.
    expect(journal.slice(2, 4)).toEqual(["stop slow (deadline set)", "stop fast (deadline none)"]);
    expect(journal).not.toContain("stopped slow");
  });

  it("When a runnable fails to start, then run() shuts down and exits 1", async () => {
    const journal: string[] = [];
    const exits: number[] = [];
    manager = new Manager({ config: config(), logger, exit: (code) => exits.push(code) });
    manager.add(recorder(journal, "ok"));
    manager.add(recorder(journal, "broken", { failStart: true }));
    const removeHandlers = manager.installSignalHandlers();
    try {
      expect(await manager.run()).toBe(1);
    } finally {
      removeHandlers();
    }
    expect(exits).toEqual([1]);
    expect(journal).toContain("stopped ok");
  });

  it.each(["SIGTERM", "SIGINT"])(
    "When %s arrives, then it shuts down gracefully and exits 0; a second signal exits 1 at once",
    async (signal) => {
      const journal: string[] = [];
      const exits: number[] = [];
      const signals = new EventEmitter();
      manager = new Manager({ config: config(), logger, exit: (code) => exits.push(code) });
      manager.add(recorder(journal, "slow", { stopMs: 400 }));
      manager.installSignalHandlers(signals);
      await manager.start();
      signals.emit(signal);
      expect(manager.isReady()).toBe(false);
      signals.emit(signal);
      expect(exits).toEqual([1]);
      expect(await manager.done()).toBe(0);
      await sleep(10);
      expect(exits).toEqual([1, 0]);
      expect(journal).toContain("stopped slow");
    },
  );

  it("When a runnable is added after start, then it is refused", async () => {
    manager = new Manager({ config: config(), logger, exit: () => undefined });
    await manager.start();
    expect(() => manager?.add(recorder([], "late"))).toThrow(/after start/);
  });
});

describe("Given two managers with leader election on one Lease (1 s / 500 ms / 100 ms)", () => {
  const managers: Manager[] = [];
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.shutdown("test over")));
  });

  const timings = [
    "--leader-elect=true",
    "--leader-election-lease-duration",
    "1s",
    "--leader-election-renew-deadline",
    "500ms",
    "--leader-election-retry-period",
    "100ms",
  ];

  function make(
    store: MemoryLeaseStore,
    journal: string[],
    id: string,
    exits: number[] = [],
  ): Manager {
    const m = new Manager({
      config: config(timings),
      leaseStore: store,
      identity: id,
      logger,
      exit: (c) => exits.push(c),
    });
    m.add(recorder(journal, `${id}-everywhere`));
    m.add(recorder(journal, `${id}-controller`, { leader: true }));
    managers.push(m);
    return m;
  }

  it("When both start, then only the leader starts leader-only runnables, and both are ready", async () => {
    const store = new MemoryLeaseStore("t/mgr");
    const journal: string[] = [];
    const a = make(store, journal, "a");
    await a.start();
    await sleep(200);
    const b = make(store, journal, "b");
    await b.start();
    await sleep(300);
    expect(journal).toEqual(["start a-everywhere", "start a-controller", "start b-everywhere"]);
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    expect([await status(a, "/readyz"), await status(b, "/readyz")]).toEqual([200, 200]);
  });

  it("When the leader shuts down, then it releases the Lease and the other starts its controllers at once", async () => {
    const store = new MemoryLeaseStore("t/mgr2");
    const journal: string[] = [];
    const a = make(store, journal, "a");
    await a.start();
    await sleep(200);
    const b = make(store, journal, "b");
    await b.start();
    await a.shutdown("test");
    expect(store.lease?.record.holderIdentity).toBe("");
    await sleep(300);
    expect(b.isLeader()).toBe(true);
    expect(journal).toContain("start b-controller");
  });

  it("When the leader cannot renew within the renew deadline, then the process exits 1", async () => {
    const store = new MemoryLeaseStore("t/mgr3");
    const exits: number[] = [];
    const a = make(store, [], "a", exits);
    await a.start();
    await sleep(200);
    store.failing = true;
    await sleep(900);
    expect(exits).toEqual([1]);
    expect(await a.done()).toBe(1);
    store.failing = false;
  });
});
