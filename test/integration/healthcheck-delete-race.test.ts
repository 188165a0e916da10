// Issue 11 defect 11: a HealthCheck deleted while its reconcile is reading
// its Secrets must not be put back into the probe engine when that reconcile
// resumes (it would be probed, and report, for ever with nothing to remove
// it). The HealthCheck controller runs in-process on the real API server; its
// client holds the reconcile's Secret read until the deletion went through
// the informer (a delay only: the answer is the API server's).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHealthCheckSystem } from "../../src/controllers/healthcheck/controller.ts";
import { createOperatorContext } from "../../src/controllers/kit/index.ts";
import { healthCheckDescriptor } from "../../src/crds/healthcheck.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { SecretKind } from "../../src/lib/kinds.ts";
import { KubeClient, type KindDescriptor, type KubeObject } from "../../src/runtime/kube.ts";
import { createTestNamespace, installCrds, useSharedEnv, waitFor } from "../env/index.ts";

const env = useSharedEnv();
let ns: string;
let client: KubeClient;
let system: ReturnType<typeof createHealthCheckSystem>;
let secretReadsHeld = 0;
let releaseSecretReads: () => void = () => undefined;
let heldSecretReads: Promise<void> | undefined;
let statusWrites = 0;

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "hc-delete-race");
  client = new KubeClient(env.kubeConfig());
  await waitFor(() => client.list(healthCheckDescriptor, { namespace: ns }).then(() => true), {
    what: "the HealthCheck API",
    timeoutMs: 30_000,
  });
  const ctx = createOperatorContext({
    kubeConfig: env.kubeConfig(),
    logger: createLogger({ level: "silent" }),
    config: { namespaces: [ns], runnerImage: "unused", env: {} },
  });
  const get = ctx.client.get.bind(ctx.client);
  ctx.client.get = async <T extends KubeObject>(
    kind: KindDescriptor,
    ref: { namespace?: string; name: string },
    sub?: string,
  ): Promise<T> => {
    if (kind.kind === "Secret" && heldSecretReads) {
      secretReadsHeld++;
      await heldSecretReads;
    }
    return get<T>(kind, ref, sub);
  };
  ctx.client.observe((req) => {
    if (req.path.includes("/healthchecks/") && req.path.endsWith("/status")) statusWrites++;
  });
  system = createHealthCheckSystem(ctx, { workers: 1 });
  await system.controller.start();
});

afterAll(async () => {
  releaseSecretReads();
  await system?.controller.stop(2_000);
  await system?.engine.stop(2_000);
});

describe("Given a HealthCheck whose reconcile is reading its Secret", () => {
  it("When the HealthCheck is deleted before that read answers, then the resumed reconcile leaves it out of the probe engine", async () => {
    await client.create(SecretKind, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "api-token", namespace: ns },
      stringData: { token: "Bearer canary" },
    });
    heldSecretReads = new Promise((resolve) => (releaseSecretReads = resolve));
    await client.create(healthCheckDescriptor, {
      apiVersion: "pake.dev/v1alpha1",
      kind: "HealthCheck",
      metadata: { name: "doomed", namespace: ns },
      spec: {
        interval: "1h",
        target: {
          http: {
            url: "http://127.0.0.1:9/health",
            headersFrom: [
              { name: "Authorization", secretKeyRef: { name: "api-token", key: "token" } },
            ],
          },
        },
      },
    });
    const key = `${ns}/doomed`;
    await waitFor(() => Promise.resolve(secretReadsHeld > 0), {
      what: "the reconcile's Secret read",
    });

    await client.delete(healthCheckDescriptor, { namespace: ns, name: "doomed" });
    await waitFor(() => Promise.resolve(system.controller.informer.getByKey(key) === undefined), {
      what: "the informer to see the deletion",
    });
    const writesBefore = statusWrites;
    heldSecretReads = undefined;
    releaseSecretReads();
    // The resumed reconcile ends with its status write (refused: the object is gone).
    await waitFor(() => Promise.resolve(statusWrites > writesBefore), {
      what: "the reconcile to finish",
    });

    expect(system.engine.has(key)).toBe(false);
    expect(system.engine.keys()).toEqual([]);
  });
});
