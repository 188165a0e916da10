// A shutdown that abandons a runnable (its stop overran the deadline) must not
// release the leader Lease: the abandoned work may still be acting as leader
// until the process exits, so a peer has to wait for the lease to expire.
import { afterEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { parseOperatorConfig } from "../../../src/cli/operator-config.ts";
import { createLogger } from "../../../src/runtime/log.ts";
import { Manager } from "../../../src/runtime/manager.ts";
import type { Runnable } from "../../../src/runtime/runnable.ts";
import { MemoryLeaseStore } from "./memory-lease-store.ts";

const logger = createLogger({ level: "silent" });

const config = () =>
  parseOperatorConfig(
    [
      "--metrics-bind-address",
      "127.0.0.1:0",
      "--leader-elect=true",
      "--leader-election-lease-duration",
      "1s",
      "--leader-election-renew-deadline",
      "500ms",
      "--leader-election-retry-period",
      "100ms",
      "--graceful-shutdown-timeout",
      "200ms",
    ],
    { env: {}, readServiceAccountNamespace: () => undefined },
  );

/** A leader-only runnable whose stop takes stopMs. */
function controller(stopMs: number): Runnable {
  return {
    name: "controller",
    needsLeaderElection: true,
    start: () => Promise.resolve(),
    stop: () => sleep(stopMs),
  };
}

describe("Given a leader whose leader-only runnable stops in 200 ms or overruns", () => {
  const managers: Manager[] = [];
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.shutdown("test over")));
  });

  it.each([
    { what: "stops in time", stopMs: 0, holderAfter: "" },
    { what: "overruns the shutdown deadline", stopMs: 5000, holderAfter: "a" },
  ])(
    "When it $what, then the Lease holder after shutdown is $holderAfter (empty: released)",
    async ({ stopMs, holderAfter }) => {
      const store = new MemoryLeaseStore(`t/abandon-${stopMs}`);
      const manager = new Manager({
        config: config(),
        leaseStore: store,
        identity: "a",
        logger,
        exit: () => undefined,
      });
      managers.push(manager);
      manager.add(controller(stopMs));
      await manager.start();
      await sleep(200);
      expect(manager.isLeader()).toBe(true);
      expect(await manager.shutdown("test")).toBe(0);
      expect(store.lease?.record.holderIdentity).toBe(holderAfter);
    },
  );
});
