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
  /** The operator process (the newest one after restartOperator). */
  operator: OperatorProcess;
  runner: PodRunner;
  /**
   * SIGKILLs the operator unless it already exited, and starts a new one with
   * `operatorEnv` (the pod runner keeps running); resolves once it is ready.
   */
  restartOperator(operatorEnv?: Record<string, string>): Promise<OperatorProcess>;
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
  options: {
    name: string;
    namespace: string;
    volumes: Record<string, string>;
    /** Extra environment of the operator process. */
    operatorEnv?: Record<string, string>;
  },
): Promise<OperatorWithJobs> {
  const { namespace } = options;
  await createClaims(env, namespace, Object.keys(options.volumes));
  let starts = 0;
  const launch = (operatorEnv: Record<string, string> | undefined): OperatorProcess =>
    startOperator({
      name: `${options.name}-${namespace}${starts++ === 0 ? "" : `-${starts}`}`,
      kubeconfigPath: env.kubeconfigPath,
      runDir: env.runDir,
      args: ["--leader-elect=false", "--namespaces", namespace, "--runner-image", E2E_RUNNER_IMAGE],
      ...(operatorEnv ? { env: operatorEnv } : {}),
    });
  const operator = launch(options.operatorEnv);
  await operator.ready();
  const runner = startPodRunner({
    kubeConfig: env.kubeConfig(),
    runDir: join(env.runDir, `pod-runner-${namespace}`),
    image: E2E_RUNNER_IMAGE.split(":")[0],
    namespaces: [namespace],
    volumes: options.volumes,
  });
  const running: OperatorWithJobs = {
    operator,
    runner,
    async restartOperator(operatorEnv) {
      const old = running.operator;
      await old.saveFinalSnapshot(); // for the secret canary scan (test/env/canary.ts)
      if (old.proc.running) old.proc.signal("SIGKILL");
      await old.proc.exited;
      running.operator = launch(operatorEnv);
      await running.operator.ready();
      return running.operator;
    },
    async stop() {
      await runner.stop();
      await killOperators();
    },
  };
  return running;
}
