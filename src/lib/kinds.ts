// How a resource type is named to the API server, and the built-in kinds the
// operator and its tests talk to. The pake.dev kinds' descriptors (src/crds/)
// extend KindDescriptor with their schema.

/** Names a resource type. `group` is "" for the core API (ConfigMap, Event…). */
export interface KindDescriptor {
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** Default true. */
  namespaced?: boolean;
}

export const ConfigMapKind: KindDescriptor = {
  group: "",
  version: "v1",
  plural: "configmaps",
  kind: "ConfigMap",
};

export const SecretKind: KindDescriptor = {
  group: "",
  version: "v1",
  plural: "secrets",
  kind: "Secret",
};

export const PodKind: KindDescriptor = {
  group: "",
  version: "v1",
  plural: "pods",
  kind: "Pod",
};

export const EventKind: KindDescriptor = {
  group: "",
  version: "v1",
  plural: "events",
  kind: "Event",
};

export const PersistentVolumeClaimKind: KindDescriptor = {
  group: "",
  version: "v1",
  plural: "persistentvolumeclaims",
  kind: "PersistentVolumeClaim",
};

export const NamespaceKind: KindDescriptor = {
  group: "",
  version: "v1",
  plural: "namespaces",
  kind: "Namespace",
  namespaced: false,
};

export const NodeKind: KindDescriptor = {
  group: "",
  version: "v1",
  plural: "nodes",
  kind: "Node",
  namespaced: false,
};

export const JobKind: KindDescriptor = {
  group: "batch",
  version: "v1",
  plural: "jobs",
  kind: "Job",
};

export const CronJobKind: KindDescriptor = {
  group: "batch",
  version: "v1",
  plural: "cronjobs",
  kind: "CronJob",
};

export const LeaseKind: KindDescriptor = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  kind: "Lease",
};

export const DeploymentKind: KindDescriptor = {
  group: "apps",
  version: "v1",
  plural: "deployments",
  kind: "Deployment",
};

export const StatefulSetKind: KindDescriptor = {
  group: "apps",
  version: "v1",
  plural: "statefulsets",
  kind: "StatefulSet",
};

export const DaemonSetKind: KindDescriptor = {
  group: "apps",
  version: "v1",
  plural: "daemonsets",
  kind: "DaemonSet",
};

/** metrics-server's NodeMetrics (absent when metrics.k8s.io is not served). */
export const NodeMetricsKind: KindDescriptor = {
  group: "metrics.k8s.io",
  version: "v1beta1",
  plural: "nodes",
  kind: "NodeMetrics",
  namespaced: false,
};

export const CustomResourceDefinitionKind: KindDescriptor = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};
