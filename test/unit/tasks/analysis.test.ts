import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  auditPod,
  blockingReason,
  daysUntilFull,
  growthPerDay,
  importTrivyReport,
  parseQuantity,
  usageSeverity,
} from "../../../src/tasks/index.ts";

const restrictedPod: V1Pod = {
  metadata: { name: "good", namespace: "app" },
  spec: {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "app",
        image: "app:1",
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        resources: { limits: { cpu: "500m", memory: "256Mi" } },
        env: [
          { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
        ],
      },
    ],
  },
};

const pod = (patch: Partial<V1Pod["spec"]>, container: Record<string, unknown> = {}): V1Pod => ({
  metadata: { name: "p", namespace: "app" },
  spec: {
    ...restrictedPod.spec!,
    ...patch,
    containers: [{ ...restrictedPod.spec!.containers[0]!, ...container }],
  },
});

describe("Given pods audited against the Pod Security Standards", () => {
  it("a restricted pod passes the restricted level", () => {
    expect(auditPod(restrictedPod, "restricted")).toEqual([]);
  });

  it.each([
    {
      name: "privileged",
      p: pod(
        {},
        {
          securityContext: {
            privileged: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
          },
        },
      ),
      check: "privileged",
      severity: "critical",
    },
    {
      name: "runAsUser 0",
      p: pod({ securityContext: { runAsUser: 0, seccompProfile: { type: "RuntimeDefault" } } }),
      check: "runAsNonRoot",
      severity: "high",
    },
    {
      name: "runAsNonRoot missing",
      p: pod({ securityContext: { seccompProfile: { type: "RuntimeDefault" } } }),
      check: "runAsNonRoot",
      severity: "medium",
    },
    {
      name: "hostNetwork",
      p: pod({ hostNetwork: true }),
      check: "hostNamespaces",
      severity: "high",
    },
    { name: "hostPID", p: pod({ hostPID: true }), check: "hostNamespaces", severity: "high" },
    {
      name: "a hostPath volume",
      p: pod({ volumes: [{ name: "root", hostPath: { path: "/" } }] }),
      check: "hostPathVolumes",
      severity: "high",
    },
    {
      name: "privilege escalation allowed",
      p: pod({}, { securityContext: { capabilities: { drop: ["ALL"] } } }),
      check: "allowPrivilegeEscalation",
      severity: "medium",
    },
    {
      name: "SYS_ADMIN added",
      p: pod(
        {},
        {
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { add: ["SYS_ADMIN"], drop: ["ALL"] },
          },
        },
      ),
      check: "capabilities",
      severity: "critical",
    },
    { name: "no limits", p: pod({}, { resources: {} }), check: "resourceLimits", severity: "low" },
    {
      name: "a literal password",
      p: pod({}, { env: [{ name: "DB_PASSWORD", value: "hunter2hunter2" }] }),
      check: "plaintextSecretEnv",
      severity: "high",
    },
    {
      name: "an AWS key under an innocent name",
      p: pod({}, { env: [{ name: "CONFIG", value: "AKIAABCDEFGHIJKLMNOP" }] }),
      check: "plaintextSecretEnv",
      severity: "high",
    },
  ])("flags $name", ({ p, check, severity }) => {
    const findings = auditPod(p, "restricted");
    expect(findings).toContainEqual(expect.objectContaining({ check, severity }));
  });

  it("never puts a secret value into a finding", () => {
    const findings = auditPod(
      pod({}, { env: [{ name: "API_TOKEN", value: "tok-9f8e7d6c5b" }] }),
      "restricted",
    );
    expect(JSON.stringify(findings)).not.toContain("tok-9f8e7d6c5b");
  });

  it("baseline does not require restricted-only settings", () => {
    const plain: V1Pod = {
      metadata: { name: "plain", namespace: "a" },
      spec: {
        containers: [{ name: "c", image: "i", resources: { limits: { cpu: "1", memory: "1Gi" } } }],
      },
    };
    expect(auditPod(plain, "baseline")).toEqual([]);
    expect(
      auditPod(plain, "restricted")
        .map((f) => f.check)
        .sort(),
    ).toEqual(["allowPrivilegeEscalation", "capabilities", "runAsNonRoot", "seccompProfile"]);
  });
});

describe("Given a Trivy JSON report", () => {
  it("counts vulnerabilities and misconfigurations by severity", () => {
    const report = {
      ArtifactName: "registry/app:1.2",
      Results: [
        {
          Target: "app (debian 12)",
          Vulnerabilities: [
            { VulnerabilityID: "CVE-1", Severity: "CRITICAL", PkgName: "openssl" },
            { VulnerabilityID: "CVE-2", Severity: "HIGH" },
            { VulnerabilityID: "CVE-2", Severity: "HIGH" },
            { VulnerabilityID: "CVE-3", Severity: "LOW" },
            { VulnerabilityID: "CVE-4", Severity: "UNKNOWN" },
          ],
        },
        { Target: "Dockerfile", Misconfigurations: [{ ID: "DS002", Severity: "HIGH" }] },
        { Target: "empty", Vulnerabilities: null },
      ],
    };
    const out = importTrivyReport(JSON.stringify(report));
    expect(out.artifact).toBe("registry/app:1.2");
    expect(out.vulnerabilities).toEqual({
      critical: 1,
      high: 2,
      medium: 0,
      low: 1,
      unknown: 1,
      total: 5,
    });
    expect(out.misconfigurations).toMatchObject({ high: 1, total: 1 });
    expect(out.top.map((t) => t.id)).toEqual(["CVE-1", "CVE-2"]);
  });

  it.each([
    { name: "not JSON", input: "{", error: /JSON/ },
    { name: "Results not a list", input: '{"Results": 3}', error: /not a Trivy JSON report/ },
  ])("rejects $name", ({ input, error }) => {
    expect(() => importTrivyReport(input)).toThrow(error);
  });
});

describe("Given capacity samples", () => {
  it.each([
    {
      name: "steady growth of 10 per day",
      points: [
        { days: -2, value: 80 },
        { days: -1, value: 90 },
        { days: 0, value: 100 },
      ],
      want: 10,
    },
    { name: "one point only", points: [{ days: 0, value: 100 }], want: undefined },
    {
      name: "shrinking",
      points: [
        { days: -1, value: 100 },
        { days: 0, value: 90 },
      ],
      want: -10,
    },
  ])("growthPerDay: $name", ({ points, want }) => {
    const g = growthPerDay(points);
    if (want === undefined) expect(g).toBeUndefined();
    else expect(g).toBeCloseTo(want, 6);
  });

  it.each([
    { used: 100, capacity: 200, perDay: 10, want: 10 },
    { used: 100, capacity: 200, perDay: 0, want: undefined },
    { used: 100, capacity: 200, perDay: -5, want: undefined },
  ])(
    "daysUntilFull($used of $capacity at $perDay/day) = $want",
    ({ used, capacity, perDay, want }) => {
      expect(daysUntilFull(used, capacity, perDay)).toBe(want);
    },
  );

  it.each([
    { value: 65, want: undefined },
    { value: 75, want: "info" },
    { value: 85, want: "medium" },
    { value: 96, want: "critical" },
  ])("disk at $value % against 70/80/95 is $want", ({ value, want }) => {
    expect(usageSeverity(value, { target: 70, warning: 80, critical: 95 })).toBe(want);
  });

  it.each([
    { q: "250m", want: 0.25 },
    { q: "2", want: 2 },
    { q: "512Mi", want: 512 * 2 ** 20 },
    { q: "1G", want: 1e9 },
    { q: "1e3", want: 1000 },
    { q: "12Zi", want: NaN },
  ])("parses the quantity $q", ({ q, want }) => {
    expect(parseQuantity(q)).toBe(want);
  });
});

describe("Given locks held on a table before VACUUM", () => {
  const opts = { full: false, maxTransactionAgeSeconds: 600 };
  it.each([
    { name: "nobody", holders: [], want: undefined },
    {
      name: "a reader in a short transaction",
      holders: [{ pid: 1, mode: "AccessShareLock", xact_age: 3, state: "active" }],
      want: undefined,
    },
    {
      name: "a SHARE lock",
      holders: [{ pid: 2, mode: "ShareLock", xact_age: 3, state: "idle in transaction" }],
      want: "conflicting lock: pid 2 holds ShareLock",
    },
    {
      name: "a reader in a long transaction",
      holders: [{ pid: 3, mode: "AccessShareLock", xact_age: 3600, state: "idle in transaction" }],
      want: "long transaction: pid 3 holds AccessShareLock",
    },
  ])("$name → $want", ({ holders, want }) => {
    const reason = blockingReason(holders, opts);
    if (want === undefined) expect(reason).toBeUndefined();
    else expect(reason).toContain(want);
  });

  it("VACUUM FULL conflicts even with a reader", () => {
    expect(
      blockingReason([{ pid: 1, mode: "AccessShareLock", xact_age: 1, state: "active" }], {
        full: true,
        maxTransactionAgeSeconds: 600,
      }),
    ).toContain("conflicting lock");
  });
});
