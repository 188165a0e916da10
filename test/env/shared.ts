// The environment shared by all integration test files of one run: one
// control plane, one PostgreSQL and one Redis, started by global-setup.ts.
// Tests isolate themselves by namespace (createTestNamespace) and database;
// a test that must break or restart something starts its own parts instead.
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import {
  mintServiceAccountKubeconfig,
  mintUserKubeconfig,
  runKubectl,
  type KubectlResult,
} from "./credentials.ts";

export interface SharedEnvInfo {
  runDir: string;
  kubeconfigPath: string;
  server: string;
  /** The cluster's PKI directory (CA key included), for minting user credentials. */
  pkiDir: string;
  version: string;
  postgres: {
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
    uri: string;
  };
  redis: { host: string; port: number; url: string };
}

declare module "vitest" {
  export interface ProvidedContext {
    pakeEnv: SharedEnvInfo;
  }
}

export interface SharedEnv extends SharedEnvInfo {
  kubeConfig(): KubeConfig;
  kubectl(...args: string[]): Promise<KubectlResult>;
  /** A kubeconfig for user `name` (client certificate; groups become O=). */
  mintUserKubeconfig(name: string, groups?: string[]): Promise<string>;
  /** A kubeconfig with a TokenRequest token for ServiceAccount namespace/name. */
  mintServiceAccountKubeconfig(namespace: string, name: string): Promise<string>;
}

export function useSharedEnv(): SharedEnv {
  const info = inject("pakeEnv");
  // Processes this worker starts record their PIDs under the run directory.
  process.env.PAKE_TEST_RUN_DIR ??= info.runDir;
  const access = { server: info.server, pkiDir: info.pkiDir, adminKubeconfig: info.kubeconfigPath };
  return {
    ...info,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(info.kubeconfigPath);
      return kc;
    },
    kubectl: (...args: string[]) => runKubectl(info.kubeconfigPath, args),
    mintUserKubeconfig: (name, groups) => mintUserKubeconfig(access, name, groups),
    mintServiceAccountKubeconfig: (namespace, name) =>
      mintServiceAccountKubeconfig(access, namespace, name),
  };
}

/** Creates a namespace with a unique name; it goes away with the run's control plane. */
export async function createTestNamespace(
  env: { kubeConfig(): KubeConfig },
  prefix: string,
): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`.toLowerCase();
  await env
    .kubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Applies the CRDs in dir (server-side, idempotent) and waits until they are Established. */
export async function installCrds(
  env: { kubectl(...args: string[]): Promise<KubectlResult> },
  dir = "deploy/crds",
): Promise<void> {
  const apply = await env.kubectl("apply", "--server-side", "--force-conflicts", "-f", dir);
  if (apply.code !== 0) throw new Error(`Failed to apply CRDs from ${dir}: ${apply.stderr}`);
  const wait = await env.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", dir);
  if (wait.code !== 0)
    throw new Error(`CRDs from ${dir} did not become Established: ${wait.stderr}`);
}
