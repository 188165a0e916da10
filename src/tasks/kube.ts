// Kubernetes access of the runners (and the shared quantity parser).
import { KubeConfig } from "@kubernetes/client-node";
import type { TaskContext } from "./types.ts";

/** The context's KubeConfig, else in-cluster, else $KUBECONFIG / ~/.kube/config. */
export function kubeConfigOf(ctx: TaskContext): KubeConfig {
  if (ctx.kubeConfig !== undefined) return ctx.kubeConfig;
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

export { parseQuantity } from "../runtime/quantity.ts";
