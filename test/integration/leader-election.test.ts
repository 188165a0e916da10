// Leader election between real operator processes (node src/cli/main.ts
// operator) against the real kube-apiserver: exactly one leads; after SIGKILL
// the peer waits for the lease to expire; after SIGTERM the lease is released
// and the peer takes over at its next retry.
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  createTestNamespace,
  killOperators,
  startOperator,
  useSharedEnv,
  waitFor,
  type OperatorProcess,
} from "../env/index.ts";

const env = useSharedEnv();
const LEASE = "pake-operator-leader";

afterEach(killOperators);

interface Timings {
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
}

function startElectingOperator(name: string, ns: string, t: Timings): OperatorProcess {
  return startOperator({
    name: `operator-${name}-${ns}`,
    kubeconfigPath: env.kubeconfigPath,
    runDir: env.runDir,
    env: { LOG_LEVEL: "debug" },
    args: [
      "--leader-election-namespace",
      ns,
      "--leader-election-lease-duration",
      `${t.leaseDuration}ms`,
      "--leader-election-renew-deadline",
      `${t.renewDeadline}ms`,
      "--leader-election-retry-period",
      `${t.retryPeriod}ms`,
    ],
  });
}

/** The process's pake_leader_is_leader for our Lease, from its /metrics. */
async function leaderMetric(op: OperatorProcess, ns: string): Promise<number | undefined> {
  const text = await op.text("/metrics");
  const line = text
    .split("\n")
    .find((l) => l.startsWith("pake_leader_is_leader{") && l.includes(`lease="${ns}/${LEASE}"`));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

async function holder(ns: string): Promise<string> {
  const api = env.kubeConfig().makeApiClient(CoordinationV1Api);
  try {
    const lease = await api.readNamespacedLease({ name: LEASE, namespace: ns });
    return lease.spec?.holderIdentity ?? "";
  } catch {
    return "";
  }
}

/** Messages of the LeaderElection Events recorded on the Lease. */
async function leaseEvents(ns: string): Promise<string[]> {
  const res = await env.kubectl(
    "get",
    "events",
    "-n",
    ns,
    "--field-selector",
    "reason=LeaderElection",
    "-o",
    "json",
  );
  const list = JSON.parse(res.stdout) as {
    items: { message: string; involvedObject: { kind: string; name: string } }[];
  };
  return list.items
    .filter((e) => e.involvedObject.kind === "Lease" && e.involvedObject.name === LEASE)
    .map((e) => e.message);
}

/** Identities are hostname_pid_random, so the holder names the PID. */
function holds(h: string, op: OperatorProcess): boolean {
  return h.includes(`_${op.proc.pid}_`);
}

/** Waits until exactly one of the two leads, by the Lease and by both processes' metrics. */
async function electedLeader(
  ns: string,
  a: OperatorProcess,
  b: OperatorProcess,
): Promise<[OperatorProcess, OperatorProcess]> {
  let pair: [OperatorProcess, OperatorProcess] | undefined;
  await waitFor(
    async () => {
      const h = await holder(ns);
      const leader = holds(h, a) ? a : holds(h, b) ? b : undefined;
      if (!leader) return false;
      const other = leader === a ? b : a;
      const metrics = [await leaderMetric(leader, ns), await leaderMetric(other, ns)];
      if (metrics[0] !== 1 || metrics[1] !== 0) return false;
      pair = [leader, other];
      return true;
    },
    { what: "exactly one leader", timeoutMs: 30_000, intervalMs: 100 },
  );
  if (!pair) throw new Error("no leader");
  return pair;
}

/** Milliseconds from now until `op` holds the Lease and reports itself leader. */
async function timeUntilLeads(
  op: OperatorProcess,
  ns: string,
  start: number,
  timeoutMs: number,
): Promise<number> {
  let at = 0;
  await waitFor(
    async () => {
      if (!holds(await holder(ns), op)) return false;
      at = Date.now();
      return (await leaderMetric(op, ns)) === 1;
    },
    { what: `${op.proc.name} to take over`, timeoutMs, intervalMs: 50, process: op.proc },
  );
  return at - start;
}

const SHORT: Timings = { leaseDuration: 4000, renewDeadline: 3000, retryPeriod: 500 };
// controller-runtime's 15 s / 10 s / 2 s, scaled down to 6 s / 4 s / 0.8 s.
const DEFAULT_PROPORTIONS: Timings = { leaseDuration: 6000, renewDeadline: 4000, retryPeriod: 800 };

describe.each([
  { label: "short timings (4 s / 3 s / 0.5 s)", t: SHORT },
  { label: "the defaults' proportions (6 s / 4 s / 0.8 s)", t: DEFAULT_PROPORTIONS },
])("Given two operator processes with $label", ({ t }) => {
  it("When both run, then exactly one leads, by the Lease and by pake_leader_is_leader", async () => {
    const ns = await createTestNamespace(env, "le");
    const a = startElectingOperator("a", ns, t);
    const b = startElectingOperator("b", ns, t);
    const [leader, follower] = await electedLeader(ns, a, b);
    // Still exactly one after a few renewals.
    await new Promise((r) => setTimeout(r, t.retryPeriod * 4));
    expect(holds(await holder(ns), leader)).toBe(true);
    expect([await leaderMetric(leader, ns), await leaderMetric(follower, ns)]).toEqual([1, 0]);
    const events = await leaseEvents(ns);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatch(new RegExp(`_${leader.proc.pid}_\\w+ became leader$`));
  });

  it("When the leader is SIGKILLed, then the other takes over after the lease expires, not before", async () => {
    const ns = await createTestNamespace(env, "le");
    const [leader, follower] = await electedLeader(
      ns,
      startElectingOperator("a", ns, t),
      startElectingOperator("b", ns, t),
    );
    const start = Date.now();
    leader.proc.signal("SIGKILL");
    const takeover = await timeUntilLeads(follower, ns, start, t.leaseDuration * 3);
    console.log(
      `[leader-election] SIGKILL takeover (${t.leaseDuration}/${t.renewDeadline}/${t.retryPeriod} ms): ${takeover} ms`,
    );
    expect(takeover).toBeGreaterThanOrEqual(t.leaseDuration - 2 * t.retryPeriod);
    expect(takeover).toBeLessThanOrEqual(t.leaseDuration + 3 * t.retryPeriod + 1000);
  });

  it("When the leader gets SIGTERM, then it releases the Lease, exits 0 and the other takes over well under the lease duration", async () => {
    const ns = await createTestNamespace(env, "le");
    const [leader, follower] = await electedLeader(
      ns,
      startElectingOperator("a", ns, t),
      startElectingOperator("b", ns, t),
    );
    const start = Date.now();
    leader.proc.signal("SIGTERM");
    const exit = leader.proc.exited.then((code) => ({ code, after: Date.now() - start }));
    const takeover = await timeUntilLeads(follower, ns, start, t.leaseDuration * 3);
    const { code, after } = await exit;
    console.log(
      `[leader-election] SIGTERM takeover (${t.leaseDuration}/${t.renewDeadline}/${t.retryPeriod} ms): ${takeover} ms; leader exited ${code} after ${after} ms`,
    );
    expect(code).toBe(0);
    expect(takeover).toBeLessThan(t.leaseDuration / 2);
    expect(leader.proc.logTail(50)).toContain("Released the leader lease");
    await waitFor(
      async () => (await leaseEvents(ns)).some((m) => m.endsWith("released the lease")),
      {
        what: "the released Event",
        timeoutMs: 5000,
      },
    );
  });
});
