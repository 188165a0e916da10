// Shared helpers for the runtime integration tests (ConfigMaps and a small
// test CRD with a status subresource, so no product CRD is needed).
import type { KubeConfig } from "@kubernetes/client-node";
import { CustomResourceDefinitionKind as CrdKind } from "../../src/lib/kinds.ts";
import { isAlreadyExists } from "../../src/runtime/errors.ts";
import { registry } from "../../src/runtime/metrics.ts";
import { KubeClient, type KindDescriptor, type KubeObject } from "../../src/runtime/kube.ts";

export { ConfigMapKind } from "../../src/lib/kinds.ts";

export const WidgetKind: KindDescriptor = {
  group: "runtime-test.pake.dev",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
};

export interface Widget extends KubeObject {
  spec?: { value?: number; fail?: boolean };
  status?: Record<string, unknown>;
}

/** Installs the Widget CRD (idempotent) and waits until it is served. */
export async function installWidgetCrd(kc: KubeConfig): Promise<void> {
  const client = new KubeClient(kc);
  const crd = {
    metadata: { name: `${WidgetKind.plural}.${WidgetKind.group}` },
    spec: {
      group: WidgetKind.group,
      scope: "Namespaced",
      names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
        },
      ],
    },
  };
  try {
    await client.create(CrdKind, crd);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  for (let i = 0; i < 100; i++) {
    try {
      await client.list(WidgetKind, { namespace: "default", limit: 1 });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error("Widget CRD not served");
}

export function configMap(
  namespace: string,
  name: string,
  data: Record<string, string>,
): KubeObject {
  return { metadata: { namespace, name }, data };
}

/** Sum of a metric's samples in this process's registry that carry all `labels`. */
export async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const samples = (metric?.values ?? []) as Array<{
    value: number;
    labels: Record<string, string>;
  }>;
  return samples
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((sum, v) => sum + v.value, 0);
}
