// The identity a MaintenanceTask's Job runs as (issue 11, defect 6): built-in
// runners that read the API run as the namespace's runner ServiceAccount,
// the others get no token, and a custom task names its own ServiceAccount
// only when the operator allows it (--allow-custom-service-account).
import { describe, expect, it } from "vitest";
import { parseOperatorConfig } from "../../../../src/cli/operator-config.ts";
import { MaintenanceTaskSpec } from "../../../../src/crds/maintenancetask.ts";
import { RUNNER_SERVICE_ACCOUNT } from "../../../../src/controllers/jobrun/index.ts";
import { buildJob } from "../../../../src/controllers/maintenancetask/job-builder.ts";
import { maintenanceTaskDefinition } from "../../../../src/controllers/maintenancetask/module.ts";
import type { MaintenanceTask } from "../../../../src/controllers/maintenancetask/reconcile.ts";

const IMAGE = "registry.example/pake-operator:test";
const CUSTOM_AS = {
  custom: { image: "registry.example/tool:1", serviceAccountName: "deployer" },
};

function podOf(task: Record<string, unknown>) {
  const spec = MaintenanceTaskSpec.parse({ schedule: "@daily", task });
  const owner = { name: "t", namespace: "team-a", uid: "u-1", spec };
  return buildJob(owner, { job: "t-once", trigger: "Once" }, IMAGE).spec.template.spec;
}

function taskObject(task: Record<string, unknown>): MaintenanceTask {
  return {
    apiVersion: "pake.dev/v1alpha1",
    kind: "MaintenanceTask",
    metadata: { name: "t", namespace: "team-a", uid: "u-1", generation: 1 },
    spec: { schedule: "@daily", task },
  };
}

describe("Given a MaintenanceTask's Job", () => {
  it.each([
    ["securityScan", { securityScan: {} }, RUNNER_SERVICE_ACCOUNT, true],
    ["capacityCheck with nodes", { capacityCheck: { nodes: true } }, RUNNER_SERVICE_ACCOUNT, true],
    ["capacityCheck without nodes", { capacityCheck: { nodes: false } }, undefined, false],
    ["logCleanup", { logCleanup: { claimName: "logs", patterns: ["*.log"] } }, undefined, false],
    ["custom without a ServiceAccount", { custom: { image: "x:1" } }, undefined, false],
    ["custom naming a ServiceAccount", CUSTOM_AS, "deployer", true],
  ])(
    "When the task is %s, then the pod runs as %s with the token mounted: %s",
    (_, task, serviceAccount, token) => {
      const pod = podOf(task);
      expect(pod.serviceAccountName).toBe(serviceAccount);
      expect(pod.automountServiceAccountToken).toBe(token);
    },
  );
});

describe("Given a custom task that names a ServiceAccount", () => {
  it.each([
    [false, ["spec.task.custom.serviceAccountName"]],
    [true, []],
  ])(
    "When the operator's --allow-custom-service-account is %s, then validation reports %j",
    (allowCustomServiceAccount, expected) => {
      const definition = maintenanceTaskDefinition({
        runnerImage: IMAGE,
        allowCustomServiceAccount,
      });
      const problems = definition.validate(taskObject(CUSTOM_AS));
      expect(problems.map((p) => p.field)).toEqual(expected);
    },
  );

  it("When the operator runs with its defaults, then the task is invalid, naming the field and the flag", () => {
    const definition = maintenanceTaskDefinition({ runnerImage: IMAGE });
    const [problem] = definition.validate(taskObject(CUSTOM_AS));
    expect(problem?.field).toBe("spec.task.custom.serviceAccountName");
    expect(problem?.message).toContain("--allow-custom-service-account");
  });

  it("When a custom task names none, then the default operator accepts it", () => {
    const definition = maintenanceTaskDefinition({ runnerImage: IMAGE });
    expect(definition.validate(taskObject({ custom: { image: "x:1" } }) as never)).toEqual([]);
  });
});

describe("Given the --allow-custom-service-account flag", () => {
  it.each([
    [[], {}, false],
    [["--allow-custom-service-account"], {}, true],
    [[], { PAKE_ALLOW_CUSTOM_SERVICE_ACCOUNT: "true" }, true],
    [
      ["--allow-custom-service-account=false"],
      { PAKE_ALLOW_CUSTOM_SERVICE_ACCOUNT: "true" },
      false,
    ],
  ])("When args %j and env %j are given, then it is %s", (args, env, allowed) => {
    const config = parseOperatorConfig(args, { env, readServiceAccountNamespace: () => undefined });
    expect(config.allowCustomServiceAccount).toBe(allowed);
  });
});
