// securityScan against the real kube-apiserver: pods are created (they stay
// Pending: there is no kubelet for them, which is fine for an audit), a
// Trivy-format report is imported from a file and from a ConfigMap.
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace, useSharedEnv, waitFor } from "../env/index.ts";
import { runCapacityCheck, runSecurityScan, type PodFinding } from "../../src/tasks/index.ts";

const env = useSharedEnv();
let ns: string;
let core: CoreV1Api;
let reportPath: string;

const trivyReport = {
  SchemaVersion: 2,
  ArtifactName: "registry.example/app:1.0",
  ArtifactType: "container_image",
  Results: [
    {
      Target: "registry.example/app:1.0 (alpine 3.19)",
      Class: "os-pkgs",
      Type: "alpine",
      Vulnerabilities: [
        { VulnerabilityID: "CVE-2024-0001", PkgName: "openssl", Severity: "HIGH" },
        { VulnerabilityID: "CVE-2024-0002", PkgName: "busybox", Severity: "MEDIUM" },
        { VulnerabilityID: "CVE-2024-0003", PkgName: "zlib", Severity: "LOW" },
        { VulnerabilityID: "CVE-2024-0004", PkgName: "musl", Severity: "LOW" },
      ],
    },
    { Target: "app/package-lock.json", Class: "lang-pkgs", Type: "npm", Vulnerabilities: null },
  ],
};

const restricted: V1Pod = {
  metadata: { name: "restricted" },
  spec: {
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [
      {
        name: "app",
        image: "registry.example/app:1.0",
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        resources: {
          limits: { cpu: "100m", memory: "64Mi" },
          requests: { cpu: "50m", memory: "32Mi" },
        },
      },
    ],
  },
};

const dangerous: V1Pod = {
  metadata: { name: "dangerous" },
  spec: {
    automountServiceAccountToken: false,
    hostPID: true,
    volumes: [{ name: "host", hostPath: { path: "/var/run" } }],
    containers: [
      {
        name: "root",
        image: "registry.example/tool:latest",
        securityContext: { privileged: true, runAsUser: 0 },
        env: [{ name: "DB_PASSWORD", value: "correct-horse-battery" }],
        volumeMounts: [{ name: "host", mountPath: "/host" }],
      },
    ],
  },
};

async function createPod(pod: V1Pod): Promise<void> {
  // The namespace's default ServiceAccount appears shortly after the namespace.
  await waitFor(
    async () => {
      await core.createNamespacedPod({ namespace: ns, body: pod });
      return true;
    },
    { what: `pod ${pod.metadata?.name}`, timeoutMs: 30_000 },
  );
}

beforeAll(async () => {
  ns = await createTestNamespace(env, "tasks-sec");
  core = env.kubeConfig().makeApiClient(CoreV1Api);
  await createPod(restricted);
  await createPod(dangerous);
  reportPath = join(mkdtempSync(join(tmpdir(), "pake-trivy-")), "report.json");
  writeFileSync(reportPath, JSON.stringify(trivyReport));
});

const findingsOf = (data: Record<string, unknown> | undefined, pod: string) =>
  ((data?.findings ?? []) as PodFinding[]).filter((f) => f.pod === pod);

describe("Given pods in a namespace and a scanner report", () => {
  it("flags the privileged root pod, passes the restricted one, and imports the Trivy counts", async () => {
    const r = await runSecurityScan(
      { namespaces: [ns], scannerReport: { path: reportPath }, failOnSeverity: "None" },
      { kubeConfig: env.kubeConfig() },
    );
    expect(r.result).toBe("Succeeded");
    expect(findingsOf(r.data, "restricted")).toEqual([]);
    const checks = findingsOf(r.data, "dangerous").map((f) => f.check);
    expect(checks).toEqual(
      expect.arrayContaining([
        "privileged",
        "runAsNonRoot",
        "hostNamespaces",
        "hostPathVolumes",
        "allowPrivilegeEscalation",
        "resourceLimits",
        "plaintextSecretEnv",
      ]),
    );
    expect(JSON.stringify(r)).not.toContain("correct-horse-battery");
    expect(r.details).toMatchObject({
      podsAudited: "2",
      findingsCritical: "1",
      vulnerabilitiesCritical: "0",
      vulnerabilitiesHigh: "1",
      vulnerabilitiesMedium: "1",
      vulnerabilitiesLow: "2",
    });
    expect((r.data?.scanner as { artifact: string }).artifact).toBe("registry.example/app:1.0");
  });

  it("fails the run when a finding reaches failOnSeverity", async () => {
    const r = await runSecurityScan({ namespaces: [ns] }, { kubeConfig: env.kubeConfig() });
    expect(r.result).toBe("Failed");
    expect(r.error).toBe("findings at or above Critical");
  });

  it("imports the report from a ConfigMap in the task's namespace", async () => {
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "trivy" }, data: { "report.json": JSON.stringify(trivyReport) } },
    });
    const r = await runSecurityScan(
      {
        namespaces: [ns],
        level: "baseline",
        scannerReport: { configMapKeyRef: { name: "trivy", key: "report.json" } },
        failOnSeverity: "High",
      },
      { kubeConfig: env.kubeConfig(), namespace: ns },
    );
    expect(r.details).toMatchObject({ vulnerabilitiesHigh: "1", level: "baseline" });
    expect(r.result).toBe("Failed");
  });

  it("an empty namespace list audits every namespace", async () => {
    const r = await runSecurityScan({ failOnSeverity: "None" }, { kubeConfig: env.kubeConfig() });
    expect(Number(r.details.podsAudited)).toBeGreaterThanOrEqual(2);
  });
});

describe("Given cluster nodes to check for capacity", () => {
  it("reads nodes and pod requests through the API without failing when none are registered", async () => {
    const r = await runCapacityCheck(
      { nodes: true, database: false },
      { kubeConfig: env.kubeConfig() },
    );
    expect(r.result).toBe("Succeeded");
    expect(r.data?.notes).toEqual([]);
    expect(Array.isArray(r.data?.nodes)).toBe(true);
  });
});
