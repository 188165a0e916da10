// The Job manifest built from a task spec: deterministic, restricted PSS,
// credentials only through secretKeyRef, volumes where the runners look.
import { describe, expect, it } from "vitest";
import {
  MANAGED_BY_LABEL,
  TASK_CONFIG_ENV,
  type Job,
} from "../../../../src/controllers/jobrun/index.ts";
import { buildJob } from "../../../../src/controllers/maintenancetask/job-builder.ts";
import {
  MaintenanceTaskSpec,
  type CapacitySample,
  type MaintenanceTaskSpecInput,
} from "../../../../src/crds/maintenancetask.ts";
import { CapacityCheckConfig } from "../../../../src/tasks/capacity-check.ts";
import { scheduledJobName } from "../../../../src/schedule/index.ts";

const IMAGE = "ghcr.io/pake/pake-operator:0.1.0";
const slot = new Date("2026-03-01T02:00:00Z");

function build(
  task: MaintenanceTaskSpecInput["task"],
  extra: Partial<MaintenanceTaskSpecInput> = {},
  capacitySamples?: CapacitySample[],
): Job {
  const spec = MaintenanceTaskSpec.parse({ task, ...extra });
  return buildJob(
    { name: "nightly", namespace: "ops", uid: "uid-1", spec, capacitySamples },
    { job: scheduledJobName("nightly", slot), trigger: "Schedule", slot },
    IMAGE,
  );
}

const container = (job: Job) => job.spec.template.spec.containers[0]!;
const env = (job: Job, name: string) => container(job).env.find((e) => e.name === name);

describe("Given a logCleanup task with timeout 15m and 2 retries", () => {
  const job = build(
    { logCleanup: { claimName: "app-logs", maxAge: "7d" } },
    { timeout: "15m", retries: 2 },
  );

  it("Then the Job is named per slot, owned by the task, bounded by timeout and retries", () => {
    expect(job.metadata.name).toBe(`nightly-${slot.getTime() / 60_000}`);
    expect(job.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: "MaintenanceTask",
        name: "nightly",
        uid: "uid-1",
        controller: true,
      }),
    ]);
    expect(job.spec.activeDeadlineSeconds).toBe(900);
    expect(job.spec.backoffLimit).toBe(2);
    expect(job.spec.template.spec.restartPolicy).toBe("Never");
    expect(job.metadata.labels?.[MANAGED_BY_LABEL]).toBe("pake-operator");
    expect(job.spec.template.metadata.labels[MANAGED_BY_LABEL]).toBe("pake-operator");
    expect(job.metadata.annotations).toMatchObject({
      "pake.dev/scheduled-time": slot.toISOString(),
    });
  });

  it("Then the pod meets the restricted Pod Security Standard", () => {
    const pod = job.spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container(job).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(container(job).terminationMessagePolicy).toBe("File");
  });

  it("Then the runner image runs `pake-operator run logCleanup` on the mounted claim", () => {
    expect(container(job).image).toBe(IMAGE);
    expect(container(job).command).toBeUndefined();
    expect(container(job).args).toEqual(["run", "logCleanup"]);
    const config = JSON.parse(env(job, TASK_CONFIG_ENV)!.value!) as Record<string, unknown>;
    expect(config).toMatchObject({ root: "/pake/volume", maxAge: "7d" });
    expect(job.spec.template.spec.volumes).toContainEqual({
      name: "data",
      persistentVolumeClaim: { claimName: "app-logs" },
    });
    expect(container(job).volumeMounts).toContainEqual({ name: "data", mountPath: "/pake/volume" });
  });
});

describe("Given tasks with credentials", () => {
  it("When databaseVacuum names a Secret, then the connection comes only through secretKeyRef", () => {
    const job = build({ databaseVacuum: { connectionSecretRef: { name: "pg" } } });
    expect(env(job, "PAKE_DATABASE_URL")).toEqual({
      name: "PAKE_DATABASE_URL",
      valueFrom: { secretKeyRef: { name: "pg", key: "uri", optional: true } },
    });
    expect(env(job, "PGPASSWORD")?.valueFrom?.secretKeyRef).toMatchObject({
      name: "pg",
      key: "password",
    });
    expect(env(job, TASK_CONFIG_ENV)!.value).not.toContain("connectionSecretRef");
  });

  it("When cacheCleanup names a Secret key, then PAKE_REDIS_URL comes from it", () => {
    const job = build({
      cacheCleanup: { urlSecretRef: { name: "redis", key: "url" }, pattern: "s:*" },
    });
    expect(env(job, "PAKE_REDIS_URL")?.valueFrom?.secretKeyRef).toEqual({
      name: "redis",
      key: "url",
    });
  });

  it("When capacityCheck lists claims, then each is mounted read-only under /pake/volumes", () => {
    const job = build({ capacityCheck: { persistentVolumeClaims: ["data"], nodes: false } });
    expect(container(job).volumeMounts).toContainEqual({
      name: "pvc-0",
      mountPath: "/pake/volumes/data",
      readOnly: true,
    });
  });
});

describe("Given a capacityCheck task with stored capacity samples", () => {
  const samples: CapacitySample[] = [
    { time: "2026-02-28T02:00:00Z", volumes: { data: 1000 } },
    { time: "2026-03-01T01:00:00Z", volumes: { data: 2000 }, databases: { app: 5 } },
  ];
  const config = (job: Job) =>
    JSON.parse(env(job, TASK_CONFIG_ENV)?.value ?? "{}") as Record<string, unknown>;

  it("Then the config passes them as previousSamples, oldest first, and the runner accepts it", () => {
    const job = build(
      { capacityCheck: { persistentVolumeClaims: ["data"], nodes: false } },
      {},
      samples,
    );
    const c = config(job);
    expect(c.previousSamples).toEqual(samples);
    expect(c.volumes).toEqual([{ name: "data", path: "/pake/volumes/data" }]);
    const parsed = CapacityCheckConfig.parse(c);
    expect(parsed.previousSamples).toHaveLength(2);
    expect(parsed.volumes).toEqual([{ name: "data", path: "/pake/volumes/data" }]);
  });

  it("Then 30 samples of 32 volumes keep the env var well under 64 KiB", () => {
    const volumes = Object.fromEntries(
      Array.from({ length: 32 }, (_, i) => [`claim-${i}`, 1_000_000_000_000 + i]),
    );
    const many = Array.from({ length: 30 }, (_, i) => ({
      time: new Date(Date.UTC(2026, 1, 1 + i)).toISOString(),
      volumes,
    }));
    const job = build({ capacityCheck: { nodes: false } }, {}, many);
    expect(env(job, TASK_CONFIG_ENV)?.value?.length).toBeLessThan(64 * 1024);
  });

  it("When there are no samples, or the task is not a capacityCheck, then no previousSamples is set", () => {
    expect(config(build({ capacityCheck: { nodes: false } }))).not.toHaveProperty(
      "previousSamples",
    );
    const logs = build({ logCleanup: { claimName: "l", maxAge: "7d" } }, {}, samples);
    expect(config(logs)).not.toHaveProperty("previousSamples");
  });
});

describe("Given a custom task", () => {
  it("Then the Job runs the user's image, command, args and env under the same security context", () => {
    const job = build({
      custom: {
        image: "busybox:1.36",
        command: ["sh", "-c"],
        args: ["echo hi"],
        env: [
          { name: "MODE", value: "fast" },
          { name: "TOKEN", valueFrom: { secretKeyRef: { name: "s", key: "t" } } },
        ],
      },
    });
    expect(container(job)).toMatchObject({
      image: "busybox:1.36",
      command: ["sh", "-c"],
      args: ["echo hi"],
      env: [
        { name: "MODE", value: "fast" },
        { name: "TOKEN", valueFrom: { secretKeyRef: { name: "s", key: "t" } } },
      ],
    });
    expect(container(job).securityContext).toMatchObject({ readOnlyRootFilesystem: true });
  });
});
