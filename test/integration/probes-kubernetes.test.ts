// The kubernetes and system probes against the shared control plane. It runs
// the deployment controller but no kubelet, so a Deployment's pods never
// become ready: its status shows missing replicas. metrics.k8s.io is not
// served there, so node usage is skipped with a note.
import { AppsV1Api } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { memoryFromStatus, observe } from "../../src/health/check.ts";
import { kubernetesProbe } from "../../src/probes/kubernetes.ts";
import { CheckResourcePool } from "../../src/probes/pool.ts";
import { systemProbe } from "../../src/probes/system.ts";
import type {
  KubernetesProbeTarget,
  ProbeResult,
  SystemProbeTarget,
} from "../../src/probes/types.ts";
import { createTestNamespace, useSharedEnv, waitFor } from "../env/index.ts";

const env = useSharedEnv();
let ns: string;

beforeAll(async () => {
  ns = await createTestNamespace(env, "probes");
  const apps = env.kubeConfig().makeApiClient(AppsV1Api);
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: "web", labels: { app: "web", tier: "front" } },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "registry.invalid/web:1" }] },
        },
      },
    },
  });
  await waitFor(
    async () =>
      (await apps.readNamespacedDeployment({ name: "web", namespace: ns })).status?.replicas === 3,
    { what: "the deployment controller to create the replicas", timeoutMs: 30_000 },
  );
});

async function probeWorkload(extra: Partial<KubernetesProbeTarget>): Promise<ProbeResult> {
  const target: KubernetesProbeTarget = {
    type: "kubernetes",
    kind: "Deployment",
    namespace: ns,
    kubeConfig: env.kubeConfig(),
    checkNamespace: ns,
    ...extra,
  };
  const pool = new CheckResourcePool();
  try {
    return await kubernetesProbe(target, {
      signal: AbortSignal.timeout(5000),
      timeoutMs: 5000,
      pool,
    });
  } finally {
    await pool.close();
  }
}

function value(result: ProbeResult, name: string): number | undefined {
  return result.metrics.find((m) => m.name === name)?.value;
}

function stateOf(result: ProbeResult) {
  return observe(memoryFromStatus(), result, { failureThreshold: 1 }, Date.now()).status;
}

describe("Given a Deployment whose pods never become ready", () => {
  it("reports missing replicas by name and grades the check Critical", async () => {
    const result = await probeWorkload({ name: "web" });
    expect(result).toMatchObject({ ok: true, message: `Deployment ${ns}/web: 0/3 replicas ready` });
    expect(value(result, "replicasDesired")).toBe(3);
    expect(value(result, "replicasReady")).toBe(0);
    expect(value(result, "replicasReadyPercent")).toBe(0);
    expect(value(result, "restarts")).toBe(0);
    const status = stateOf(result);
    expect(status.state).toBe("Critical");
    expect(status.message).toContain("replicasReadyPercent is Critical (below 50 %)");
  });

  it("finds it by label selector too", async () => {
    const result = await probeWorkload({ selector: { matchLabels: { tier: "front" } } });
    expect(result.ok).toBe(true);
    expect(result.message).toBe(`Deployments matching tier=front in ${ns}: 0/3 replicas ready`);
    expect(value(result, "workloads")).toBe(1);
  });

  it.each([
    [{ name: "missing" }, () => `Deployment ${ns}/missing not found`],
    [
      { selector: { matchLabels: { app: "nothing" } } },
      () => `No Deployments matching app=nothing in ${ns}`,
    ],
    [{ kind: "StatefulSet" as const, name: "web" }, () => `StatefulSet ${ns}/web not found`],
  ])("fails for %j", async (extra, message) => {
    const result = await probeWorkload(extra);
    expect(result).toMatchObject({ ok: false, message: message() });
  });
});

describe("Given a kubernetes probe whose timeout passes", () => {
  it("aborts the API request", async () => {
    const target: KubernetesProbeTarget = {
      type: "kubernetes",
      kind: "Deployment",
      namespace: ns,
      name: "web",
      kubeConfig: env.kubeConfig(),
      checkNamespace: ns,
    };
    const pool = new CheckResourcePool();
    const controller = new AbortController();
    controller.abort(Object.assign(new Error("timed out"), { name: "TimeoutError" }));
    const result = await kubernetesProbe(target, { signal: controller.signal, timeoutMs: 1, pool });
    await pool.close();
    expect(result).toMatchObject({
      ok: false,
      message: `Could not read Deployment ${ns}/web: timed out after 1 ms`,
    });
  });
});

describe("Given the system probe", () => {
  async function probeSystem(extra: Partial<SystemProbeTarget>): Promise<ProbeResult> {
    const pool = new CheckResourcePool();
    try {
      return await systemProbe(
        { type: "system", ...extra },
        { signal: AbortSignal.timeout(10_000), timeoutMs: 10_000, pool },
      );
    } finally {
      await pool.close();
    }
  }

  it("measures the host's CPU, memory and disk", async () => {
    const result = await probeSystem({ mountPath: "/" });
    expect(result).toMatchObject({ ok: true, message: "Host metrics collected" });
    for (const name of ["cpuPercent", "memoryPercent", "diskPercent"]) {
      const v = value(result, name);
      expect(v, name).toBeGreaterThanOrEqual(0);
      expect(v, name).toBeLessThanOrEqual(100);
    }
    expect(result.metrics.find((m) => m.name === "cpuPercent")?.kind).toBe("cpu");
  });

  it("skips node usage cleanly when metrics.k8s.io is not served", async () => {
    const result = await probeSystem({
      scope: "All",
      kubeConfig: env.kubeConfig(),
      nodeScope: true,
    });
    expect(result).toMatchObject({
      ok: true,
      message: "Host metrics collected; node usage skipped: metrics.k8s.io is not served",
    });
    expect(value(result, "nodes")).toBeUndefined();
  });
});
