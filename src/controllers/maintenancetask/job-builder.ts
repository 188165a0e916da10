// Pure: a MaintenanceTask's spec and one run → the Job manifest.
//
// - restartPolicy Never; activeDeadlineSeconds from spec.timeout, backoffLimit
//   from spec.retries; owner reference (controller=true) to the task, so the
//   garbage collector removes the Job with the task and Job events reach it;
// - a pod and container security context that meets the "restricted" Pod
//   Security Standard (non-root, RuntimeDefault seccomp, no privilege
//   escalation, all capabilities dropped, read-only root filesystem);
// - built-in tasks run the operator's own image as `pake-operator run <task>`
//   (its entrypoint is the CLI, so the Job only gives args)
//   with the task config as JSON in PAKE_TASK_CONFIG; credentials reach the
//   runner only through secretKeyRef, never in the config or the args;
// - PersistentVolumeClaims are mounted where the runners expect them
//   (logCleanup: /pake/volume; capacityCheck: /pake/volumes/<claim>);
// - capacityCheck gets the task's status.capacitySamples as previousSamples
//   (growth per day and days until full need earlier runs' samples);
// - `custom` tasks run the user's image, command, args and env.
import { API_GROUP_VERSION } from "../../crds/common.ts";
import {
  taskType,
  type CapacitySample,
  type MaintenanceTaskSpec,
  type MaintenanceTaskTask,
  type TaskType,
} from "../../crds/maintenancetask.ts";
import { parseDuration } from "../../crds/common.ts";
import type { KindDescriptor, KubeObject } from "../../runtime/kube.ts";

export const jobKind: KindDescriptor = {
  group: "batch",
  version: "v1",
  plural: "jobs",
  kind: "Job",
};
export const podKind: KindDescriptor = { group: "", version: "v1", plural: "pods", kind: "Pod" };

/** Label on every Job and Pod the operator creates (the pod runner selects on it). */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "pake-operator";
/** Label naming the MaintenanceTask a Job belongs to. */
export const TASK_LABEL = "pake.dev/maintenancetask";
/** Annotations recording what started a run. */
export const TRIGGER_ANNOTATION = "pake.dev/trigger";
export const SCHEDULED_TIME_ANNOTATION = "pake.dev/scheduled-time";
export const RUN_NOW_TOKEN_ANNOTATION = "pake.dev/run-now-token";

export const TASK_CONFIG_ENV = "PAKE_TASK_CONFIG";
export const CONTAINER_NAME = "task";
export const VOLUME_MOUNT = "/pake/volume";
export const VOLUMES_ROOT = "/pake/volumes";
export const SCANNER_REPORT_DIR = "/pake/scanner";
const RUNNER_UID = 65532;

export type Trigger = "Schedule" | "RunNow" | "Once";

export interface RunRequest {
  job: string;
  trigger: Trigger;
  /** Scheduled slot (Schedule runs). */
  slot?: Date | undefined;
  /** The run-now token (RunNow runs). */
  token?: string | undefined;
}

export interface JobOwner {
  name: string;
  namespace: string;
  uid: string;
  spec: MaintenanceTaskSpec;
  /** status.capacitySamples: passed to a capacityCheck run as previousSamples. */
  capacitySamples?: readonly CapacitySample[] | undefined;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  configMap?: { name: string; items?: { key: string; path: string }[] };
  emptyDir?: Record<string, never>;
}

interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

interface Container {
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

/** The pieces of the pod that depend on the task type. */
interface TaskPod {
  container: Omit<
    Container,
    "name" | "terminationMessagePath" | "terminationMessagePolicy" | "securityContext"
  >;
  volumes: Volume[];
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

const secretEnv = (name: string, secret: string, key: string, optional = false): EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key, ...(optional ? { optional: true } : {}) } },
});

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

function runnerPod(type: TaskType, config: Record<string, unknown>, image: string): TaskPod {
  return {
    container: {
      image,
      // The image's entrypoint is `pake-operator` (node dist/src/cli/main.js).
      args: ["run", type],
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

function withSecretsStripped(task: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...task };
  delete copy.connectionSecretRef;
  delete copy.urlSecretRef;
  return copy;
}

type Builder = (task: MaintenanceTaskTask, image: string, owner: JobOwner) => TaskPod;

const builders: Record<TaskType, Builder> = {
  logCleanup: (task, image) => {
    const t = task.logCleanup!;
    const pod = runnerPod("logCleanup", { ...t, root: VOLUME_MOUNT }, image);
    pod.volumes.push({ name: "data", persistentVolumeClaim: { claimName: t.claimName } });
    pod.container.volumeMounts.push({ name: "data", mountPath: VOLUME_MOUNT });
    return pod;
  },
  cacheCleanup: (task, image) => {
    const t = task.cacheCleanup!;
    const pod = runnerPod("cacheCleanup", withSecretsStripped(t), image);
    pod.container.env.push(secretEnv("PAKE_REDIS_URL", t.urlSecretRef.name, t.urlSecretRef.key));
    return pod;
  },
  databaseVacuum: (task, image) => {
    const t = task.databaseVacuum!;
    const pod = runnerPod("databaseVacuum", withSecretsStripped(t), image);
    pod.container.env.push(...postgresEnv(t.connectionSecretRef.name));
    return pod;
  },
  performanceReport: (task, image) => {
    const t = task.performanceReport!;
    const pod = runnerPod("performanceReport", withSecretsStripped(t), image);
    pod.container.env.push(...postgresEnv(t.connectionSecretRef.name));
    return pod;
  },
  capacityCheck: (task, image, owner) => {
    const t = task.capacityCheck!;
    const claims = t.persistentVolumeClaims ?? [];
    const samples = owner.capacitySamples ?? [];
    const config: Record<string, unknown> = {
      ...withSecretsStripped(t),
      volumesRoot: VOLUMES_ROOT,
      // Explicit mount paths (the same as volumesRoot/<claim>).
      ...(claims.length > 0
        ? { volumes: claims.map((name) => ({ name, path: `${VOLUMES_ROOT}/${name}` })) }
        : {}),
      ...(samples.length > 0 ? { previousSamples: samples } : {}),
    };
    const pod = runnerPod("capacityCheck", config, image);
    if (t.connectionSecretRef) pod.container.env.push(...postgresEnv(t.connectionSecretRef.name));
    claims.forEach((claim, i) => {
      pod.volumes.push({
        name: `pvc-${i}`,
        persistentVolumeClaim: { claimName: claim, readOnly: true },
      });
      pod.container.volumeMounts.push({
        name: `pvc-${i}`,
        mountPath: `${VOLUMES_ROOT}/${claim}`,
        readOnly: true,
      });
    });
    pod.needsApi = t.nodes;
    return pod;
  },
  securityScan: (task, image) => {
    const t = task.securityScan!;
    const ref = t.scannerReport?.configMapKeyRef;
    const config: Record<string, unknown> = { ...t };
    if (ref && t.scannerReport) {
      config.scannerReport = {
        format: t.scannerReport.format,
        path: `${SCANNER_REPORT_DIR}/report.json`,
      };
    }
    const pod = runnerPod("securityScan", config, image);
    if (ref) {
      pod.volumes.push({
        name: "scanner-report",
        configMap: { name: ref.name, items: [{ key: ref.key, path: "report.json" }] },
      });
      pod.container.volumeMounts.push({
        name: "scanner-report",
        mountPath: SCANNER_REPORT_DIR,
        readOnly: true,
      });
    }
    pod.needsApi = true;
    return pod;
  },
  databaseRestore: (task, image) => {
    const t = task.databaseRestore!;
    const config = { ...t, target: { database: t.target.database } };
    const pod = runnerPod("databaseRestore", config, image);
    pod.container.env.push(...postgresEnv(t.target.connectionSecretRef.name));
    return pod;
  },
  custom: (task) => {
    const t = task.custom!;
    const env: EnvVar[] = (t.env ?? []).map((e) =>
      e.valueFrom
        ? secretEnv(e.name, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key)
        : { name: e.name, value: e.value ?? "" },
    );
    return {
      container: {
        image: t.image,
        ...(t.imagePullPolicy ? { imagePullPolicy: t.imagePullPolicy } : {}),
        ...(t.command ? { command: t.command } : {}),
        ...(t.args ? { args: t.args } : {}),
        env,
        volumeMounts: [],
      },
      volumes: [],
      ...(t.serviceAccountName ? { serviceAccountName: t.serviceAccountName } : {}),
      needsApi: t.serviceAccountName !== undefined,
    };
  },
};

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

function runAnnotations(run: RunRequest): Record<string, string> {
  return {
    [TRIGGER_ANNOTATION]: run.trigger,
    ...(run.slot ? { [SCHEDULED_TIME_ANNOTATION]: run.slot.toISOString() } : {}),
    ...(run.token !== undefined ? { [RUN_NOW_TOKEN_ANNOTATION]: run.token } : {}),
  };
}

/** The Job for one run of a task. Pure. */
export function buildJob(owner: JobOwner, run: RunRequest, runnerImage: string): Job {
  const type = taskType(owner.spec.task);
  if (type === undefined) throw new Error("spec.task names no task type");
  const pod = builders[type](owner.spec.task, runnerImage, owner);
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY, [TASK_LABEL]: owner.name };
  // /tmp stays writable under a read-only root filesystem.
  pod.volumes.push({ name: "tmp", emptyDir: {} });
  pod.container.volumeMounts.push({ name: "tmp", mountPath: "/tmp" });
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: run.job,
      namespace: owner.namespace,
      labels,
      annotations: runAnnotations(run),
      ownerReferences: [
        {
          apiVersion: API_GROUP_VERSION,
          kind: "MaintenanceTask",
          name: owner.name,
          uid: owner.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      activeDeadlineSeconds: Math.max(1, Math.ceil(parseDuration(owner.spec.timeout) / 1000)),
      backoffLimit: owner.spec.retries,
      template: {
        metadata: { labels, annotations: { [TRIGGER_ANNOTATION]: run.trigger } },
        spec: {
          restartPolicy: "Never",
          ...(pod.serviceAccountName ? { serviceAccountName: pod.serviceAccountName } : {}),
          automountServiceAccountToken: pod.needsApi,
          securityContext: podSecurityContext,
          containers: [
            {
              name: CONTAINER_NAME,
              ...pod.container,
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File",
              securityContext: containerSecurityContext,
            },
          ],
          volumes: pod.volumes,
        },
      },
    },
  };
}
