// A custom MaintenanceTask that names its own ServiceAccount runs with that
// account's rights, so the operator accepts it only with
// --allow-custom-service-account (issue 11, defect 6). The real MaintenanceTask
// controller runs against the shared API server twice: with the default
// (refuses, naming the field) and with the option (runs the Job as that account).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOperatorContext, type Registrar } from "../../src/controllers/kit/index.ts";
import {
  JobKind,
  maintenanceTaskModule,
  type MaintenanceTask,
} from "../../src/controllers/maintenancetask/index.ts";
import { CommonConditionType } from "../../src/crds/conditions.ts";
import { maintenanceTaskDescriptor } from "../../src/crds/maintenancetask.ts";
import { KubeClient, type KubeObject } from "../../src/runtime/kube.ts";
import { createLogger } from "../../src/runtime/log.ts";
import type { Runnable } from "../../src/runtime/runnable.ts";
import { onceJobName } from "../../src/schedule/index.ts";
import { createTestNamespace, installCrds, useSharedEnv, waitFor } from "../env/index.ts";

const env = useSharedEnv();
const IMAGE = "ghcr.io/pake/pake-operator:test";
const SPEC = {
  task: { custom: { image: "registry.example/deployer:1", serviceAccountName: "deployer" } },
};
const runnables: Runnable[] = [];
let client: KubeClient;
let refusing: string;
let allowing: string;

/** Starts a MaintenanceTask controller watching one namespace. */
function startController(namespace: string, allowCustomServiceAccount: boolean): void {
  const ctx = createOperatorContext({
    kubeConfig: env.kubeConfig(),
    config: { namespaces: [namespace], runnerImage: IMAGE, allowCustomServiceAccount, env: {} },
    logger: createLogger({ level: "silent" }),
  });
  const registrar: Registrar = { add: (r) => runnables.push(r), http: { mount: () => {} } };
  maintenanceTaskModule.register(ctx, registrar);
}

beforeAll(async () => {
  await installCrds(env);
  client = new KubeClient(env.kubeConfig());
  refusing = await createTestNamespace(env, "custom-sa-off");
  allowing = await createTestNamespace(env, "custom-sa-on");
  startController(refusing, false);
  startController(allowing, true);
  for (const r of runnables) await r.start();
}, 180_000);

afterAll(async () => {
  for (const r of [...runnables].reverse()) await r.stop(5_000);
});

const createTask = (namespace: string) =>
  client.create<MaintenanceTask>(maintenanceTaskDescriptor, {
    metadata: { name: "deploy", namespace },
    spec: SPEC,
  });

type JobPodSpec = { serviceAccountName?: string; automountServiceAccountToken?: boolean };
type JobObject = KubeObject & { spec: { template: { spec: JobPodSpec } } };

async function jobOf(namespace: string): Promise<JobObject | undefined> {
  const list = await client.list<JobObject>(JobKind, { namespace });
  return list.items.find((j) => j.metadata.name === onceJobName("deploy"));
}

describe("Given a custom task naming serviceAccountName", () => {
  it("When the operator runs with its default, then SpecValid=False names the field and no Job is created", async () => {
    await createTask(refusing);
    let condition: { status?: string; message?: string } | undefined;
    await waitFor(
      async () => {
        const task = await client.get<MaintenanceTask>(maintenanceTaskDescriptor, {
          namespace: refusing,
          name: "deploy",
        });
        condition = task.status?.conditions?.find((c) => c.type === CommonConditionType.SpecValid);
        return condition !== undefined;
      },
      { what: "SpecValid on the refused task", timeoutMs: 20_000 },
    );
    expect(condition?.status).toBe("False");
    expect(condition?.message).toContain("spec.task.custom.serviceAccountName");
    expect(condition?.message).toContain("--allow-custom-service-account");
    expect(await jobOf(refusing)).toBeUndefined();
  });

  it("When the operator allows it, then the task's Job runs as that ServiceAccount with its token", async () => {
    await createTask(allowing);
    let job: JobObject | undefined;
    await waitFor(async () => (job = await jobOf(allowing)) !== undefined, {
      what: "the custom task's Job",
      timeoutMs: 20_000,
    });
    const pod = job?.spec.template.spec;
    expect(pod?.serviceAccountName).toBe("deployer");
    expect(pod?.automountServiceAccountToken).toBe(true);
  });
});
