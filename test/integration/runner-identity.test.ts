// The identity built-in runners run as, against the real API server: the
// operator gives a runner that talks to the API the namespace's runner
// ServiceAccount (created on demand with a Role of exactly what the runners
// read), and the runners are run with that ServiceAccount's own token, as in
// a pod. The namespace's `default` ServiceAccount has no rights: 403.
import { CoreV1Api } from "@kubernetes/client-node";
import { KubeConfig } from "@kubernetes/client-node";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace, runKubectl, toolchain, useSharedEnv, waitFor } from "../env/index.ts";
import { MaintenanceTaskSpec } from "../../src/crds/maintenancetask.ts";
import {
  createRunJob,
  ensureRunnerIdentity,
  RUNNER_SERVICE_ACCOUNT,
} from "../../src/controllers/jobrun/index.ts";
import { buildJob, TASK_LABEL } from "../../src/controllers/maintenancetask/job-builder.ts";
import { KubeClient } from "../../src/runtime/kube.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { runCapacityCheck, runSecurityScan } from "../../src/tasks/index.ts";

const env = useSharedEnv();
const exec = promisify(execFile);
const chart = join(import.meta.dirname, "../../deploy/helm/pake-operator");
const log = createLogger({ level: "silent" });
const OWNER_UID = "7d3c1a52-0000-4000-8000-000000000001";
let ns: string;
let otherNs: string;

function kubeConfigFrom(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** The ServiceAccount the pod of this task's Job runs as (`default` when it names none). */
async function jobServiceAccount(task: Record<string, unknown>, name: string): Promise<string> {
  const spec = MaintenanceTaskSpec.parse({ schedule: "@daily", task });
  const manifest = buildJob(
    { name, namespace: ns, uid: OWNER_UID, spec },
    { job: `${name}-once`, trigger: "Once" },
    "registry.example/pake-operator:test",
  );
  const api = { client: new KubeClient(env.kubeConfig()), log };
  await createRunJob(api, manifest, { namespace: ns, name, uid: OWNER_UID, label: TASK_LABEL });
  return manifest.spec.template.spec.serviceAccountName ?? "default";
}

/** Applies one template of the real chart (helm template) to the namespace. */
async function applyChart(
  release: string,
  namespace: string,
  template: string,
  set: string,
): Promise<void> {
  const { stdout } = await exec(join(toolchain().helmBin, "helm"), [
    "template",
    release,
    chart,
    "--namespace",
    namespace,
    "--show-only",
    `templates/${template}`,
    "--set",
    set,
  ]);
  const file = join(env.runDir, `${release}-${template}`);
  writeFileSync(file, stdout);
  const applied = await env.kubectl("apply", "-f", file);
  expect(applied.stderr).toBe("");
}

/** kubectl auth can-i as the namespace's runner ServiceAccount. */
async function runnerCan(namespace: string, verb: string, resource: string): Promise<string> {
  const can = await runKubectl(env.kubeconfigPath, [
    "auth",
    "can-i",
    verb,
    resource,
    "-n",
    namespace,
    `--as=system:serviceaccount:${namespace}:${RUNNER_SERVICE_ACCOUNT}`,
  ]);
  return can.stdout.trim();
}

/** A runner's kubeconfig: the ServiceAccount's token, once RBAC lets it list pods (or not). */
async function runnerKubeConfig(serviceAccount: string): Promise<KubeConfig> {
  return kubeConfigFrom(await env.mintServiceAccountKubeconfig(ns, serviceAccount));
}

beforeAll(async () => {
  ns = await createTestNamespace(env, "runner-id");
  otherNs = await createTestNamespace(env, "runner-id-other");
  const core = env.kubeConfig().makeApiClient(CoreV1Api);
  for (const namespace of [ns, otherNs]) {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "audited" },
        spec: { containers: [{ name: "app", image: "registry.example/app:1.0" }] },
      },
    });
    // The ServiceAccount admission controller creates `default` shortly after the namespace.
    await waitFor(
      async () => (await env.kubectl("get", "sa", "default", "-n", namespace)).code === 0,
      {
        what: `ServiceAccount default in ${namespace}`,
        timeoutMs: 30_000,
      },
    );
  }
}, 120_000);

describe("Given a securityScan task's Job in a namespace", () => {
  it("When its runner runs with the token of the Job's ServiceAccount, then it lists the namespace's pods", async () => {
    const serviceAccount = await jobServiceAccount({ securityScan: { namespaces: [ns] } }, "scan");
    const kubeConfig = await runnerKubeConfig(serviceAccount);
    // RBAC grants reach the authorizer's cache within moments.
    let result = await runSecurityScan(
      { namespaces: [ns], failOnSeverity: "None" },
      { kubeConfig },
    );
    await waitFor(
      async () => {
        result = await runSecurityScan(
          { namespaces: [ns], failOnSeverity: "None" },
          { kubeConfig },
        );
        return result.result === "Succeeded";
      },
      { what: "securityScan to succeed as the Job's ServiceAccount", timeoutMs: 10_000 },
    ).catch(() => undefined);
    expect(result.error).toBeUndefined();
    expect(serviceAccount).toBe(RUNNER_SERVICE_ACCOUNT);
    expect(result.result).toBe("Succeeded");
    const findings = (result.data?.findings ?? []) as { pod: string }[];
    expect(findings.map((f) => f.pod)).toContain("audited");
  });

  it("When its runner runs as the namespace's default ServiceAccount, then the API answers 403", async () => {
    const kubeConfig = await runnerKubeConfig("default");
    const result = await runSecurityScan(
      { namespaces: [ns], failOnSeverity: "None" },
      { kubeConfig },
    );
    expect(result.result).toBe("Failed");
    expect(result.error).toMatch(/403|forbidden/i);
  });

  it("When the runner ServiceAccount scans another namespace, then the API answers 403 (its Role is its own namespace's)", async () => {
    const kubeConfig = await runnerKubeConfig(RUNNER_SERVICE_ACCOUNT);
    const result = await runSecurityScan(
      { namespaces: [otherNs], failOnSeverity: "None" },
      { kubeConfig },
    );
    expect(result.result).toBe("Failed");
    expect(result.error).toMatch(/403|forbidden/i);
  });
});

describe("Given tasks whose runners never call the API", () => {
  it.each([
    ["logCleanup", { logCleanup: { claimName: "logs", patterns: ["*.log"] } }],
    ["capacityCheck without nodes", { capacityCheck: { nodes: false } }],
  ])(
    "When the %s Job is built, then its pod names no ServiceAccount and mounts no token",
    (_, task) => {
      const spec = MaintenanceTaskSpec.parse({ schedule: "@daily", task });
      const manifest = buildJob(
        { name: "quiet", namespace: "any", uid: OWNER_UID, spec },
        { job: "quiet-once", trigger: "Once" },
        "registry.example/pake-operator:test",
      );
      expect(manifest.spec.template.spec.serviceAccountName).toBeUndefined();
      expect(manifest.spec.template.spec.automountServiceAccountToken).toBe(false);
    },
  );
});

describe("Given an operator holding only the chart's rules in a watched namespace", () => {
  it("When it ensures the runner identity twice, then the ServiceAccount, Role and RoleBinding exist once, granting only pod lists", async () => {
    const target = await createTestNamespace(env, "runner-id-op");
    const release = `k1-${target.slice(-6)}`;
    await applyChart(release, target, "rbac-watched.yaml", `watchNamespaces={${target}}`);
    const operatorAccount = `${release}-pake-operator`;
    expect(
      (await env.kubectl("create", "serviceaccount", operatorAccount, "-n", target)).code,
    ).toBe(0);
    const operator = kubeConfigFrom(
      await env.mintServiceAccountKubeconfig(target, operatorAccount),
    );
    const api = { client: new KubeClient(operator), log };
    let failure: unknown;
    await waitFor(
      async () => {
        failure = await ensureRunnerIdentity(api, target).catch((err: unknown) => err);
        return failure === undefined;
      },
      { what: "the operator to create the runner identity", timeoutMs: 10_000 },
    ).catch(() => undefined);
    expect(failure).toBeUndefined();
    await ensureRunnerIdentity(api, target);
    for (const kind of ["serviceaccount", "role", "rolebinding"]) {
      const got = await env.kubectl(
        "get",
        kind,
        RUNNER_SERVICE_ACCOUNT,
        "-n",
        target,
        "-o",
        "jsonpath={.metadata.labels}",
      );
      expect(got.code).toBe(0);
      expect(got.stdout).toContain("pake-operator");
    }
    expect(await runnerCan(target, "list", "pods")).toBe("yes");
    expect(await runnerCan(target, "get", "secrets")).toBe("no");
    expect(await runnerCan(target, "list", "nodes")).toBe("no");
  });
});

describe("Given a capacityCheck task that measures nodes", () => {
  it.each([
    ["without the chart's runner ClusterRole binding", false],
    ["with its namespace in runner.clusterReadNamespaces", true],
  ])(
    "When its runner runs as the Job's ServiceAccount %s, then nodes are measured only with it",
    async (_, bound) => {
      const target = await createTestNamespace(env, "runner-id-cap");
      if (bound)
        await applyChart(
          `k1-${target.slice(-6)}`,
          target,
          "rbac-cluster.yaml",
          `runner.clusterReadNamespaces={${target}}`,
        );
      const spec = MaintenanceTaskSpec.parse({
        schedule: "@daily",
        task: { capacityCheck: { nodes: true } },
      });
      const manifest = buildJob(
        { name: "capacity", namespace: target, uid: OWNER_UID, spec },
        { job: "capacity-once", trigger: "Once" },
        "registry.example/pake-operator:test",
      );
      const api = { client: new KubeClient(env.kubeConfig()), log };
      await createRunJob(api, manifest, {
        namespace: target,
        name: "capacity",
        uid: OWNER_UID,
        label: TASK_LABEL,
      });
      const serviceAccount = manifest.spec.template.spec.serviceAccountName;
      expect(serviceAccount).toBe(RUNNER_SERVICE_ACCOUNT);
      expect(manifest.spec.template.spec.automountServiceAccountToken).toBe(true);
      const kubeConfig = kubeConfigFrom(
        await env.mintServiceAccountKubeconfig(target, serviceAccount!),
      );
      let notes: unknown;
      await waitFor(
        async () => {
          const result = await runCapacityCheck({ nodes: true, database: false }, { kubeConfig });
          notes = result.data?.notes;
          return (notes as string[]).length === 0 || !bound;
        },
        { what: "capacityCheck nodes to be measured", timeoutMs: 10_000 },
      ).catch(() => undefined);
      if (bound) expect(notes).toEqual([]);
      else expect(notes).toEqual([expect.stringMatching(/nodes not measured: .*403/s)]);
    },
  );
});
