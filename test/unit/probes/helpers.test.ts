import { describe, expect, it } from "vitest";
import { TimerHeap } from "../../../src/probes/heap.ts";
import {
  ErrorWindow,
  bodyMismatch,
  describeTlsError,
  isExpectedStatus,
  safeUrl,
} from "../../../src/probes/http.ts";
import { restartsOf, selectorString, workloadFrom } from "../../../src/probes/kubernetes.ts";
import { CheckResourcePool } from "../../../src/probes/pool.ts";
import { parseQuantity } from "../../../src/runtime/quantity.ts";
import { infoMetrics, parseInfo } from "../../../src/probes/redis.ts";
import { maxUsage, mountFor } from "../../../src/probes/system.ts";

describe("Given HTTP answers", () => {
  it.each([
    [200, undefined, true],
    [302, undefined, true],
    [399, [], true],
    [404, undefined, false],
    [503, undefined, false],
    [503, [503], true],
    [200, [201, 204], false],
  ] as const)("status %d with expected %j is ok: %s", (status, expected, ok) => {
    expect(isExpectedStatus(status, expected as number[] | undefined)).toBe(ok);
  });

  it.each([
    ["all good", { contains: "good" }, undefined],
    ["all bad", { contains: "good" }, "Response body does not contain the expected text"],
    ['{"status":"UP"}', { regex: '"status":\\s*"UP"' }, undefined],
    [
      '{"status":"DOWN"}',
      { regex: '"status":"UP"' },
      'Response body does not match /"status":"UP"/',
    ],
    ["x", { regex: "(" }, expect.stringMatching(/^Invalid bodyMatch regex/)],
  ])("body %j against %j gives %s", (body, match, expected) => {
    expect(bodyMismatch(body, match)).toEqual(expected);
  });

  it.each([
    ["CERT_HAS_EXPIRED", "TLS error: certificate has expired (CERT_HAS_EXPIRED)"],
    [
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "TLS error: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)",
    ],
    [
      "ERR_TLS_CERT_ALTNAME_INVALID",
      "TLS error: certificate does not match the host name (ERR_TLS_CERT_ALTNAME_INVALID)",
    ],
    ["ECONNREFUSED", undefined],
  ])("names the TLS problem of %s", (code, expected) => {
    expect(describeTlsError(Object.assign(new Error("x"), { code }))).toBe(expected);
  });

  it("keeps credentials and queries out of messages", () => {
    expect(safeUrl(new URL("https://user:secret@example.com:8443/health?token=abc#x"))).toBe(
      "https://example.com:8443/health",
    );
  });

  it("computes the error rate over a bounded window of probes", () => {
    const w = new ErrorWindow(4);
    for (const ok of [false, true, true, true, true]) w.record(ok);
    expect(w.samples).toBe(4);
    expect(w.ratePercent()).toBe(0);
    w.record(false);
    expect(w.ratePercent()).toBe(25);
  });
});

describe("Given Redis INFO output", () => {
  const info = [
    "# Memory",
    "used_memory:524288",
    "maxmemory:1048576",
    "# Clients",
    "connected_clients:3",
    "# Stats",
    "rejected_connections:1",
    "evicted_keys:42",
    "keyspace_hits:90",
    "keyspace_misses:10",
    "",
  ].join("\r\n");

  it("reports memory against maxmemory, clients, rejections, evictions and hit ratio", () => {
    expect(infoMetrics(parseInfo(info))).toEqual([
      { name: "usedMemoryBytes", value: 524288, unit: "bytes" },
      { name: "maxMemoryBytes", value: 1048576, unit: "bytes" },
      { name: "memoryPercent", value: 50, unit: "%", kind: "memory" },
      { name: "connectedClients", value: 3, unit: "count" },
      { name: "rejectedConnections", value: 1, unit: "count" },
      { name: "evictedKeys", value: 42, unit: "count" },
      { name: "hitRatioPercent", value: 90, unit: "%" },
    ]);
  });

  it("leaves out memory percent without maxmemory and hit ratio without lookups", () => {
    const names = infoMetrics(
      parseInfo("used_memory:10\r\nmaxmemory:0\r\nkeyspace_hits:0\r\n"),
    ).map((m) => m.name);
    expect(names).toEqual(["usedMemoryBytes"]);
  });
});

describe("Given Kubernetes workloads", () => {
  it.each([
    [{ matchLabels: { app: "web", tier: "front" } }, "app=web,tier=front"],
    [
      {
        matchExpressions: [
          { key: "env", operator: "In", values: ["prod", "staging"] },
          { key: "legacy", operator: "DoesNotExist" },
          { key: "team", operator: "Exists" },
          { key: "zone", operator: "NotIn", values: ["a"] },
        ],
      },
      "env in (prod,staging),!legacy,team,zone notin (a)",
    ],
    [undefined, ""],
  ])("selector %j is %s", (selector, expected) => {
    expect(selectorString(selector)).toBe(expected);
  });

  it.each([
    ["Deployment", { spec: { replicas: 3 }, status: { readyReplicas: 1 } }, 3, 1],
    ["Deployment", { spec: {}, status: {} }, 1, 0],
    ["StatefulSet", { spec: { replicas: 2 }, status: { readyReplicas: 2 } }, 2, 2],
    ["DaemonSet", { status: { desiredNumberScheduled: 4, numberReady: 3 } }, 4, 3],
  ] as const)("a %s %j has %d desired and %d ready", (...row) => {
    const [kind, obj, desired, ready] = row;
    expect(workloadFrom(kind, obj)).toMatchObject({ desired, ready });
  });

  it("sums container and init container restarts", () => {
    const pods = [
      { status: { containerStatuses: [{ restartCount: 2 }, { restartCount: 1 }] } },
      { status: { initContainerStatuses: [{ restartCount: 4 }] } },
      {},
    ];
    expect(restartsOf(pods as never)).toBe(7);
  });
});

describe("Given system figures", () => {
  it.each([
    ["250m", 0.25],
    ["2", 2],
    ["123456789n", 0.123456789],
    ["1Ki", 1024],
    ["1536Mi", 1536 * 2 ** 20],
    ["1G", 1e9],
    ["abc", Number.NaN],
  ])("quantity %s is %d", (q, expected) => {
    if (Number.isNaN(expected)) expect(parseQuantity(q)).toBeNaN();
    else expect(parseQuantity(q)).toBeCloseTo(expected, 12);
  });

  it("finds the filesystem of a path by the longest mount prefix", () => {
    const fs = [
      { mount: "/" },
      { mount: "/var" },
      { mount: "/var/lib/data" },
      { mount: "/variable" },
    ];
    expect(mountFor(fs, "/var/lib/data/pg")?.mount).toBe("/var/lib/data");
    expect(mountFor(fs, "/var/log")?.mount).toBe("/var");
    expect(mountFor(fs, "/variable")?.mount).toBe("/variable");
    expect(mountFor(fs, "/home")?.mount).toBe("/");
  });

  it("takes the busiest node's usage against its allocatable resources", () => {
    const usage = {
      items: [
        { metadata: { name: "a" }, usage: { cpu: "500m", memory: "1Gi" } },
        { metadata: { name: "b" }, usage: { cpu: "1500m", memory: "512Mi" } },
      ],
    };
    const nodes = [
      { metadata: { name: "a" }, status: { allocatable: { cpu: "2", memory: "4Gi" } } },
      { metadata: { name: "b" }, status: { allocatable: { cpu: "2", memory: "4Gi" } } },
    ];
    expect(maxUsage(usage, nodes)).toEqual({ cpuMax: 75, memMax: 25 });
  });
});

describe("Given the engine's building blocks", () => {
  it("pops timers in due order, ties in insertion order", () => {
    const heap = new TimerHeap<{ due: number; seq: number; id: string }>();
    const items = [5, 1, 9, 1, 3, 7, 2].map((due, seq) => ({ due, seq, id: `${due}/${seq}` }));
    for (const i of items) heap.push(i);
    const out: string[] = [];
    for (let i = heap.pop(); i; i = heap.pop()) out.push(i.id);
    expect(out).toEqual(["1/1", "1/3", "2/6", "3/4", "5/0", "7/5", "9/2"]);
  });

  it("recreates a pooled resource whose configuration key changed, disposing the old one", async () => {
    const pool = new CheckResourcePool();
    const disposed: string[] = [];
    const spec = (key: string) => ({
      configKey: key,
      create: () => key,
      dispose: (r: string) => void disposed.push(r),
    });
    expect(pool.get("pg", spec("5000"))).toBe("5000");
    expect(pool.get("pg", spec("5000"))).toBe("5000");
    expect(pool.get("pg", spec("1000"))).toBe("1000");
    await pool.close();
    expect(disposed).toEqual(["5000", "1000"]);
    expect(() => pool.get("pg", spec("1"))).toThrow(/closed/);
  });
});
