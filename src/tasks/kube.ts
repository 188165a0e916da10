// Kubernetes access of the runners and Kubernetes quantity parsing.
import { KubeConfig } from "@kubernetes/client-node";
import type { TaskContext } from "./types.ts";

/** The context's KubeConfig, else in-cluster, else $KUBECONFIG / ~/.kube/config. */
export function kubeConfigOf(ctx: TaskContext): KubeConfig {
  if (ctx.kubeConfig !== undefined) return ctx.kubeConfig;
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("250m", "1.5", "512Mi", "1e3") as a number; NaN when malformed. */
export function parseQuantity(text: string | undefined): number {
  if (text === undefined) return NaN;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(text.trim());
  if (m === null) return NaN;
  const factor = SUFFIX[m[2]!];
  return factor === undefined ? NaN : Number(m[1]) * factor;
}
