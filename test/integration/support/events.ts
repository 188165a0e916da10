// Events of one object, as `kubectl get events --field-selector` reads them.
import { CoreV1Api, type CoreV1Event, type KubeConfig } from "@kubernetes/client-node";

/** The Events in `namespace` on the object `name` with this reason. */
export async function eventsWith(
  env: { kubeConfig(): KubeConfig },
  namespace: string,
  name: string,
  reason: string,
): Promise<CoreV1Event[]> {
  const list = await env
    .kubeConfig()
    .makeApiClient(CoreV1Api)
    .listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=${name},reason=${reason}`,
    });
  return list.items;
}
