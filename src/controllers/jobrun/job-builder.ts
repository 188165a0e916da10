// Pure: one run → its Job manifest, for any owning kind.
//
// - restartPolicy Never; activeDeadlineSeconds from the owner's timeout,
//   backoffLimit from its retries; an owner reference (controller=true), so
//   the garbage collector removes the Job with its owner and Job events
//   reach the owner's controller;
// - the owner label and the managed-by label on the Job and its pod; the
//   run's trigger, slot and token as annotations;
// - a pod and container security context that meets the "restricted" Pod
//   Security Standard (non-root, RuntimeDefault seccomp, no privilege
//   escalation, all capabilities dropped, read-only root filesystem, /tmp an
//   emptyDir);
// - the container's result as its termination message (File policy), which
//   results.ts reads back;
// - credentials only through secretKeyRef env (secretEnv, postgresEnv), never
//   in the config or the args;
// - a runner that talks to the API runs as RUNNER_SERVICE_ACCOUNT (its
//   token mounted; runner-identity.ts), every other pod without a token.
// What runs in the pod (image, args, config, volumes) is the owner's: it
// passes a RunPod, usually from runnerPod() (`pake-operator run <task>`).
import type { KubeObject } from "../../runtime/kube.ts";
import { MANAGED_BY, MANAGED_BY_LABEL, TRIGGER_ANNOTATION, runAnnotations } from "./metadata.ts";
import { RUNNER_SERVICE_ACCOUNT } from "./runner-identity.ts";
import type { JobOwnerRef, RunRequest } from "./types.ts";

/** Env var carrying a built-in runner's config as JSON. */
export const TASK_CONFIG_ENV = "PAKE_TASK_CONFIG";
export const CONTAINER_NAME = "task";
const RUNNER_UID = 65532;

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

export interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  configMap?: { name: string; items?: { key: string; path: string }[] };
  emptyDir?: Record<string, never>;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  env: EnvVar[];
  volumeMounts: VolumeMount[];
  terminationMessagePath: string;
  terminationMessagePolicy: "File";
  securityContext: Record<string, unknown>;
}

/** The owner's part of the pod: what runs and what it mounts. */
export interface RunPod {
  container: Omit<
    Container,
    "name" | "terminationMessagePath" | "terminationMessagePolicy" | "securityContext"
  >;
  volumes: Volume[];
  /** The pod's ServiceAccount; default RUNNER_SERVICE_ACCOUNT when it needs the API. */
  serviceAccountName?: string;
  /** Whether the runner talks to the Kubernetes API (service account token mounted). */
  needsApi: boolean;
}

export interface Job extends KubeObject {
  spec: {
    activeDeadlineSeconds: number;
    backoffLimit: number;
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        restartPolicy: "Never";
        serviceAccountName?: string;
        automountServiceAccountToken: boolean;
        securityContext: Record<string, unknown>;
        containers: Container[];
        volumes: Volume[];
      };
    };
  };
}

export interface RunJobInput {
  owner: JobOwnerRef;
  namespace: string;
  /** Label whose value is the owner's name (lists the owner's Jobs), e.g. pake.dev/maintenancetask. */
  ownerLabel: string;
  run: RunRequest;
  pod: RunPod;
  /** Longest the run may take (activeDeadlineSeconds, rounded up to whole seconds). */
  timeoutMs: number;
  /** The Job's backoffLimit. */
  retries: number;
}

export const podSecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUNNER_UID,
  runAsGroup: RUNNER_UID,
  fsGroup: RUNNER_UID,
  seccompProfile: { type: "RuntimeDefault" },
};

export const containerSecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  seccompProfile: { type: "RuntimeDefault" },
};

/** An env var from a Secret key (the only way credentials reach a runner). */
export function secretEnv(name: string, secret: string, key: string, optional = false): EnvVar {
  return {
    name,
    valueFrom: { secretKeyRef: { name: secret, key, ...(optional ? { optional: true } : {}) } },
  };
}

/** PostgreSQL connection env from a Secret (uri, or host/port/user/password/dbname keys). */
export function postgresEnv(secret: string): EnvVar[] {
  return [
    secretEnv("PAKE_DATABASE_URL", secret, "uri", true),
    secretEnv("PGHOST", secret, "host", true),
    secretEnv("PGPORT", secret, "port", true),
    secretEnv("PGUSER", secret, "user", true),
    secretEnv("PGPASSWORD", secret, "password", true),
    secretEnv("PGDATABASE", secret, "dbname", true),
  ];
}

/** A built-in runner: the operator's image runs `pake-operator run <task>` with its config. */
export function runnerPod(task: string, config: Record<string, unknown>, image: string): RunPod {
  return {
    container: {
      image,
      // The image's entrypoint is `pake-operator` (node dist/src/cli/main.js).
      args: ["run", task],
      env: [
        { name: TASK_CONFIG_ENV, value: JSON.stringify(config) },
        { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      ],
      volumeMounts: [],
    },
    volumes: [],
    needsApi: false,
  };
}

/** A claim mounted into the runner's container; readOnly applies to the volume and the mount. */
export interface ClaimMount {
  volume: string;
  claimName: string;
  mountPath: string;
  readOnly?: boolean;
}

/** Adds a PersistentVolumeClaim volume and its mount to a pod (in place). */
export function mountClaim(pod: RunPod, mount: ClaimMount): void {
  const ro = mount.readOnly ? { readOnly: true } : {};
  pod.volumes.push({
    name: mount.volume,
    persistentVolumeClaim: { claimName: mount.claimName, ...ro },
  });
  pod.container.volumeMounts.push({ name: mount.volume, mountPath: mount.mountPath, ...ro });
}

/**
 * The pod's identity: the one it names, else the runners' ServiceAccount
 * when it talks to the API (the namespace's `default` has no rights), else
 * none (`default`, with no token mounted).
 */
function serviceAccountOf(pod: RunPod): { serviceAccountName?: string } {
  if (pod.serviceAccountName) return { serviceAccountName: pod.serviceAccountName };
  return pod.needsApi ? { serviceAccountName: RUNNER_SERVICE_ACCOUNT } : {};
}

/** The Job for one run. Pure (the pod is not modified). */
export function buildRunJob(input: RunJobInput): Job {
  const { owner, run } = input;
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY, [input.ownerLabel]: owner.name };
  // /tmp stays writable under a read-only root filesystem.
  const volumes = [...input.pod.volumes, { name: "tmp", emptyDir: {} }];
  const container = {
    ...input.pod.container,
    volumeMounts: [...input.pod.container.volumeMounts, { name: "tmp", mountPath: "/tmp" }],
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: run.job,
      namespace: input.namespace,
      labels,
      annotations: runAnnotations(run),
      ownerReferences: [
        {
          apiVersion: owner.apiVersion,
          kind: owner.kind,
          name: owner.name,
          uid: owner.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      activeDeadlineSeconds: Math.max(1, Math.ceil(input.timeoutMs / 1000)),
      backoffLimit: input.retries,
      template: {
        metadata: { labels, annotations: { [TRIGGER_ANNOTATION]: run.trigger } },
        spec: {
          restartPolicy: "Never",
          ...serviceAccountOf(input.pod),
          automountServiceAccountToken: input.pod.needsApi,
          securityContext: podSecurityContext,
          containers: [
            {
              name: CONTAINER_NAME,
              ...container,
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File",
              securityContext: containerSecurityContext,
            },
          ],
          volumes,
        },
      },
    },
  };
}
