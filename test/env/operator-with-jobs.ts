// The operator process (watching one namespace, with a runner image) plus the
// pod runner that plays the kubelet for its Jobs there: what every end-to-end
// test of Job-running kinds starts.
import { join } from "node:path";
import { PersistentVolumeClaimKind } from "../../src/lib/kinds.ts";
import { KubeClient } from "../../src/runtime/kube.ts";
import type { SharedEnv } from "./shared.ts";
import { killOperators, startOperator, type OperatorProcess } from "./operator.ts";
import { startPodRunner, type PodRunner } from "./pod-runner.ts";

/** The image the operator writes into Jobs; the pod runner serves its repository. */
export const E2E_RUNNER_IMAGE = "ghcr.io/pake/pake-operator:e2e";

export interface OperatorWithJobs {
  operator: OperatorProcess;
  runner: PodRunner;
  /** Stops the pod runner and every operator process. */
  stop(): Promise<void>;
}

/**
 * A PersistentVolumeClaim object per claim name: nothing provisions it (it
 * stays Pending), but controllers that check their references find it, and
 * the pod runner maps it to a local directory.
 */
export async function createClaims(
  env: SharedEnv,
  namespace: string,
  names: string[],
): Promise<void> {
  const client = new KubeClient(env.kubeConfig());
  for (const name of names) {
    await client.create(PersistentVolumeClaimKind, {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name, namespace },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
  }
}

/**
 * Starts both and returns once the operator is ready. `volumes`: claim name →
 * local directory; each claim is created as an object too (createClaims).
 */
export async function startOperatorWithJobs(
  env: SharedEnv,
  options: { name: string; namespace: string; volumes: Record<string, string> },
): Promise<OperatorWithJobs> {
  const { namespace } = options;
  await createClaims(env, namespace, Object.keys(options.volumes));
  const operator = startOperator({
    name: `${options.name}-${namespace}`,
    kubeconfigPath: env.kubeconfigPath,
    runDir: env.runDir,
    args: ["--leader-elect=false", "--namespaces", namespace, "--runner-image", E2E_RUNNER_IMAGE],
  });
  await operator.ready();
  const runner = startPodRunner({
    kubeConfig: env.kubeConfig(),
    runDir: join(env.runDir, `pod-runner-${namespace}`),
    image: E2E_RUNNER_IMAGE.split(":")[0],
    namespaces: [namespace],
    volumes: options.volumes,
  });
  return {
    operator,
    runner,
    async stop() {
      await runner.stop();
      await killOperators();
    },
  };
}
