// The identity built-in runners talk to the Kubernetes API with. A Job that
// runs as the namespace's `default` ServiceAccount gets 403 in a real cluster
// (and an admin kubeconfig in development hides it), so every namespace the
// operator runs API-reading Jobs in gets one ServiceAccount, RUNNER_SERVICE_ACCOUNT,
// with a Role holding exactly what the namespaced runners need and a
// RoleBinding to it. The operator creates the three on demand, just before
// such a Job (jobs.ts): deterministic names, AlreadyExists is success, no
// owner reference (they serve every task of the namespace and outlive each),
// labelled managed-by so they are found and removed with the operator.
//
// What each runner reads (docs/architecture.md has the table):
// - securityScan: list pods of the task's namespace (namespaced Role). Other
//   namespaces, or all of them (no `namespaces`), are cluster-wide reads this
//   Role does not grant: a cluster admin binds the chart's runner ClusterRole
//   to the ServiceAccount for that.
// - capacityCheck with nodes: list nodes, pods of all namespaces and
//   metrics.k8s.io nodes, all cluster-scoped: the same ClusterRole binding;
//   without it the runner notes "nodes not measured" with the 403.
// The operator holds every permission of the Role itself (it lists pods), so
// the API server's escalation check lets it create the Role and bind it
// without `escalate` or `bind`.
import type { KindDescriptor } from "../../lib/kinds.ts";
import { isAlreadyExists } from "../../runtime/errors.ts";
import type { KubeObject } from "../../runtime/kube.ts";
import type { JobRunClient } from "./jobs.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "./metadata.ts";

/** The ServiceAccount (and Role, RoleBinding) name of the built-in runners in a namespace. */
export const RUNNER_SERVICE_ACCOUNT = "pake-runner";

export const ServiceAccountKind: KindDescriptor = {
  group: "",
  version: "v1",
  plural: "serviceaccounts",
  kind: "ServiceAccount",
};

export const RoleKind: KindDescriptor = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "roles",
  kind: "Role",
};

export const RoleBindingKind: KindDescriptor = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "rolebindings",
  kind: "RoleBinding",
};

/** What the namespaced runners read: securityScan lists the pods of its namespace. */
export const RUNNER_RULES = [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }] as const;

function metadataIn(namespace: string): KubeObject["metadata"] {
  return {
    name: RUNNER_SERVICE_ACCOUNT,
    namespace,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
  };
}

/** The ServiceAccount, Role and RoleBinding of the runners in a namespace (pure). */
export function runnerIdentityObjects(
  namespace: string,
): { kind: KindDescriptor; obj: KubeObject }[] {
  const serviceAccount = {
    apiVersion: "v1",
    kind: ServiceAccountKind.kind,
    metadata: metadataIn(namespace),
    // Only pods that ask for the token (automountServiceAccountToken: true) get it.
    automountServiceAccountToken: false,
  };
  const role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: RoleKind.kind,
    metadata: metadataIn(namespace),
    rules: RUNNER_RULES.map((r) => ({
      ...r,
      apiGroups: [...r.apiGroups],
      resources: [...r.resources],
      verbs: [...r.verbs],
    })),
  };
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: RoleBindingKind.kind,
    metadata: metadataIn(namespace),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: RUNNER_SERVICE_ACCOUNT },
    subjects: [{ kind: "ServiceAccount", name: RUNNER_SERVICE_ACCOUNT, namespace }],
  };
  return [
    { kind: ServiceAccountKind, obj: serviceAccount },
    { kind: RoleKind, obj: role },
    { kind: RoleBindingKind, obj: binding },
  ];
}

/** Whether a Job runs as the runners' ServiceAccount (so its identity must exist first). */
export function runsAsRunner(manifest: {
  spec?: { template?: { spec?: { serviceAccountName?: string } } };
}): boolean {
  return manifest.spec?.template?.spec?.serviceAccountName === RUNNER_SERVICE_ACCOUNT;
}

/**
 * Creates the runners' ServiceAccount, Role and RoleBinding in a namespace;
 * those that exist are left as they are (idempotent, safe after a crash).
 */
export async function ensureRunnerIdentity(api: JobRunClient, namespace: string): Promise<void> {
  for (const { kind, obj } of runnerIdentityObjects(namespace)) {
    try {
      await api.client.create(kind, obj);
      api.log.info(
        { namespace, kind: kind.kind, name: RUNNER_SERVICE_ACCOUNT },
        "Created runner identity object",
      );
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}
