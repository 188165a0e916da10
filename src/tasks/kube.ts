// Kubernetes access of the runners (and the shared quantity parser). The
// client library is loaded on first use only: most runners (backup, restore,
// VACUUM, log cleanup) never talk to the API, and loading it costs a runner
// process about 90 MiB.
import type { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import type { TaskContext } from "./types.ts";

/** The context's KubeConfig, else in-cluster, else $KUBECONFIG / ~/.kube/config. */
async function kubeConfigOf(ctx: TaskContext): Promise<KubeConfig> {
  if (ctx.kubeConfig !== undefined) return ctx.kubeConfig;
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

/** The core API (pods, nodes, ConfigMaps) for a runner. */
export async function coreApi(ctx: TaskContext): Promise<CoreV1Api> {
  const { CoreV1Api } = await import("@kubernetes/client-node");
  return (await kubeConfigOf(ctx)).makeApiClient(CoreV1Api);
}

/** The custom-objects API (metrics.k8s.io) for a runner. */
export async function customObjectsApi(ctx: TaskContext): Promise<CustomObjectsApi> {
  const { CustomObjectsApi } = await import("@kubernetes/client-node");
  return (await kubeConfigOf(ctx)).makeApiClient(CustomObjectsApi);
}

export { parseQuantity } from "../runtime/quantity.ts";
