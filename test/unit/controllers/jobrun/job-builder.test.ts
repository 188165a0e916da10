// The Job of a run for any owner: restricted PSS, owner reference, labels,
// deadline and retries, termination-message results, secretKeyRef env.
import { describe, expect, it } from "vitest";
import {
  buildRunJob,
  MANAGED_BY_LABEL,
  postgresEnv,
  runnerPod,
  TASK_CONFIG_ENV,
  type RunPod,
} from "../../../../src/controllers/jobrun/index.ts";

const owner = {
  apiVersion: "pake.dev/v1alpha1",
  kind: "BackupPolicy",
  name: "nightly",
  uid: "u-1",
};
const slot = new Date("2026-03-01T01:00:00Z");

function build(pod: RunPod, timeoutMs = 90_500) {
  return buildRunJob({
    owner,
    namespace: "db",
    ownerLabel: "pake.dev/backuppolicy",
    run: { job: "nightly-123", trigger: "Schedule", slot },
    pod,
    timeoutMs,
    retries: 1,
  });
}

describe("Given a backup-like owner and a runner pod with credentials", () => {
  const pod = runnerPod("backup", { format: "custom" }, "img:1");
  pod.container.env.push(...postgresEnv("pg"));
  const job = build(pod);
  const container = job.spec.template.spec.containers[0]!;

  it("Then the Job is owned by that owner (controller), labelled, named by the run", () => {
    expect(job.metadata.name).toBe("nightly-123");
    expect(job.metadata.ownerReferences).toEqual([
      { ...owner, controller: true, blockOwnerDeletion: true },
    ]);
    expect(job.metadata.labels).toEqual({
      [MANAGED_BY_LABEL]: "pake-operator",
      "pake.dev/backuppolicy": "nightly",
    });
    expect(job.spec.template.metadata.labels).toEqual(job.metadata.labels);
    expect(job.metadata.annotations).toEqual({
      "pake.dev/trigger": "Schedule",
      "pake.dev/scheduled-time": slot.toISOString(),
    });
  });

  it("Then the deadline is the timeout rounded up to seconds, and retries the backoffLimit", () => {
    expect(job.spec.activeDeadlineSeconds).toBe(91);
    expect(job.spec.backoffLimit).toBe(1);
    expect(build(pod, 0).spec.activeDeadlineSeconds).toBe(1);
  });

  it("Then the pod is restricted, its result a termination message, /tmp writable", () => {
    expect(job.spec.template.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
    });
    expect(container.terminationMessagePolicy).toBe("File");
    expect(container.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
    expect(job.spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it("Then credentials come only through secretKeyRef, the config as JSON", () => {
    expect(container.args).toEqual(["run", "backup"]);
    expect(container.env.find((e) => e.name === TASK_CONFIG_ENV)?.value).toBe(
      JSON.stringify({ format: "custom" }),
    );
    const password = container.env.find((e) => e.name === "PGPASSWORD");
    expect(password).toEqual({
      name: "PGPASSWORD",
      valueFrom: { secretKeyRef: { name: "pg", key: "password", optional: true } },
    });
    expect(JSON.stringify(job)).not.toMatch(/"value":"[^"]*password/i);
  });

  it("Then the owner's pod is left as it was (building is pure)", () => {
    expect(pod.volumes).toEqual([]);
    expect(pod.container.volumeMounts).toEqual([]);
  });
});
