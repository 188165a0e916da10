// Pure: a MaintenanceTask's spec and one run → the Job manifest. The Job's
// shape (restricted PSS, owner reference, labels, deadline, retries,
// termination-message result) is jobrun's (buildRunJob); this file says what
// runs in the pod for each task type:
// - built-in tasks run the operator's own image as `pake-operator run <task>`
//   with the task config as JSON in PAKE_TASK_CONFIG; credentials reach the
//   runner only through secretKeyRef, never in the config or the args;
// - PersistentVolumeClaims are mounted where the runners expect them
//   (logCleanup: /pake/volume; capacityCheck: /pake/volumes/<claim>);
// - databaseRestore mounts its BackupPolicy's claim read-only at BACKUP_ROOT
//   and gets root, the policy's storage path and (in backupPolicyRef) the
//   policy's name: where the runner finds <root><path>/<policy>/<id>/;
//   sourceDatabase becomes the runner's `database`;
// - capacityCheck gets the task's status.capacitySamples as previousSamples
//   (growth per day and days until full need earlier runs' samples);
// - `custom` tasks run the user's image, command, args and env.
import { API_GROUP_VERSION } from "../../crds/common.ts";
import { parseDuration } from "../../lib/duration.ts";
import { BACKUP_ROOT, BACKUP_VOLUME } from "../../tasks/backup/manifest.ts";
import {
  maintenanceTaskDescriptor,
  taskType,
  type CapacitySample,
  type MaintenanceTaskSpec,
  type MaintenanceTaskTask,
  type TaskType,
} from "../../crds/maintenancetask.ts";
import {
  buildRunJob,
  mountClaim,
  postgresEnv,
  runnerPod,
  secretEnv,
  type EnvVar,
  type Job,
  type RunPod,
  type RunRequest,
} from "../jobrun/index.ts";
import type { BackupStorage } from "./backup-ref.ts";

/** Label naming the MaintenanceTask a Job belongs to. */
export const TASK_LABEL = "pake.dev/maintenancetask";
export const VOLUME_MOUNT = "/pake/volume";
export const VOLUMES_ROOT = "/pake/volumes";
export const SCANNER_REPORT_DIR = "/pake/scanner";

export interface JobOwner {
  name: string;
  namespace: string;
  uid: string;
  spec: MaintenanceTaskSpec;
  /** status.capacitySamples: passed to a capacityCheck run as previousSamples. */
  capacitySamples?: readonly CapacitySample[] | undefined;
  /** databaseRestore: the storage of the BackupPolicy it names (read by the reconcile). */
  backupStorage?: BackupStorage | undefined;
}

function withSecretsStripped(task: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...task };
  delete copy.connectionSecretRef;
  delete copy.urlSecretRef;
  return copy;
}

type Builder = (task: MaintenanceTaskTask, image: string, owner: JobOwner) => RunPod;

const builders: Record<TaskType, Builder> = {
  logCleanup: (task, image) => {
    const t = task.logCleanup!;
    const pod = runnerPod("logCleanup", { ...t, root: VOLUME_MOUNT }, image);
    mountClaim(pod, { volume: "data", claimName: t.claimName, mountPath: VOLUME_MOUNT });
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
    claims.forEach((claim, i) =>
      mountClaim(pod, {
        volume: `pvc-${i}`,
        claimName: claim,
        mountPath: `${VOLUMES_ROOT}/${claim}`,
        readOnly: true,
      }),
    );
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
  databaseRestore: (task, image, owner) => {
    const { sourceDatabase, ...t } = task.databaseRestore!;
    const storage = owner.backupStorage;
    if (storage === undefined) throw new Error("databaseRestore needs its BackupPolicy's storage");
    const config = {
      ...t,
      // The runner's name for which database of a multi-database backup to restore.
      ...(sourceDatabase !== undefined ? { database: sourceDatabase } : {}),
      target: { database: t.target.database },
      root: BACKUP_ROOT,
      path: storage.path,
    };
    const pod = runnerPod("databaseRestore", config, image);
    pod.container.env.push(...postgresEnv(t.target.connectionSecretRef.name));
    // Read-only: a restore never changes the backups it reads.
    mountClaim(pod, {
      volume: BACKUP_VOLUME,
      claimName: storage.claimName,
      mountPath: BACKUP_ROOT,
      readOnly: true,
    });
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

/** The Job for one run of a task. Pure. */
export function buildJob(owner: JobOwner, run: RunRequest, runnerImage: string): Job {
  const type = taskType(owner.spec.task);
  if (type === undefined) throw new Error("spec.task names no task type");
  return buildRunJob({
    owner: {
      apiVersion: API_GROUP_VERSION,
      kind: maintenanceTaskDescriptor.kind,
      name: owner.name,
      uid: owner.uid,
    },
    namespace: owner.namespace,
    ownerLabel: TASK_LABEL,
    run,
    pod: builders[type](owner.spec.task, runnerImage, owner),
    timeoutMs: parseDuration(owner.spec.timeout),
    retries: owner.spec.retries,
  });
}
