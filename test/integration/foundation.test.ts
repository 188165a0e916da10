// Proves the test environment is made of real parts: a real kube-apiserver of
// the pinned version with RBAC, the real garbage collector and Job controller,
// a real PostgreSQL and a real Redis.
import { BatchV1Api, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { Redis as RedisClient } from "ioredis";
import pg from "pg";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace, runKubectl, toolchain, useSharedEnv, waitFor } from "../env/index.ts";

const env = useSharedEnv();
let ns: string;

beforeAll(async () => {
  ns = await createTestNamespace(env, "foundation");
});

describe("Given the shared control plane", () => {
  it("reports the pinned Kubernetes version from the server and from kubectl", async () => {
    const result = await env.kubectl("version", "-o", "json");
    expect(result.code).toBe(0);
    const version = JSON.parse(result.stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(version.serverVersion.gitVersion).toBe(toolchain().k8sVersion);
    expect(version.clientVersion.gitVersion).toBe(toolchain().k8sVersion);
  });

  it("installs a CRD with a structural schema and rejects a non-conforming object", async () => {
    const dir = join(env.runDir, "foundation-crd");
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.foundation.pake.dev" },
      spec: {
        group: "foundation.pake.dev",
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: {
                  spec: {
                    type: "object",
                    required: ["size"],
                    properties: { size: { type: "integer", minimum: 1, maximum: 10 } },
                  },
                },
              },
            },
          },
        ],
      },
    };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "crd.json"), JSON.stringify(crd));
    expect((await env.kubectl("apply", "-f", join(dir, "crd.json"))).code).toBe(0);
    const established = await env.kubectl(
      "wait",
      "--for=condition=Established",
      "--timeout=30s",
      "crd/widgets.foundation.pake.dev",
    );
    expect(established.code).toBe(0);

    const widget = (size: unknown) =>
      JSON.stringify({
        apiVersion: "foundation.pake.dev/v1",
        kind: "Widget",
        metadata: { name: `w${String(size)}`, namespace: ns },
        spec: { size },
      });
    writeFileSync(join(dir, "good.json"), widget(3));
    writeFileSync(join(dir, "bad.json"), widget(42));
    expect((await env.kubectl("create", "-f", join(dir, "good.json"))).code).toBe(0);
    const bad = await env.kubectl("create", "-f", join(dir, "bad.json"));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("spec.size");
    expect(bad.stderr).toMatch(/less than or equal to 10/);
  });

  it("denies an unprivileged user by RBAC until a Role grants access", async () => {
    const cp = await env.mintUserKubeconfig("alice", ["developers"]);
    const denied = await runKubectl(cp, ["get", "configmaps", "-n", ns]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('User "alice" cannot list resource "configmaps"');

    expect(
      (
        await env.kubectl(
          "create",
          "role",
          "cm-reader",
          "-n",
          ns,
          "--verb=list",
          "--resource=configmaps",
        )
      ).code,
    ).toBe(0);
    expect(
      (
        await env.kubectl(
          "create",
          "rolebinding",
          "alice-cm",
          "-n",
          ns,
          "--role=cm-reader",
          "--user=alice",
        )
      ).code,
    ).toBe(0);
    await waitFor(async () => (await runKubectl(cp, ["get", "configmaps", "-n", ns])).code === 0, {
      what: "RBAC grant to take effect",
      timeoutMs: 10_000,
    });
    const whoami = await runKubectl(cp, [
      "auth",
      "whoami",
      "-o",
      "jsonpath={.status.userInfo.username}",
    ]);
    expect(whoami.stdout).toBe("alice");
  });

  it("authenticates a ServiceAccount token and authorizes it by RBAC", async () => {
    expect((await env.kubectl("create", "serviceaccount", "robot", "-n", ns)).code).toBe(0);
    const path = await env.mintServiceAccountKubeconfig(ns, "robot");
    const whoami = await runKubectl(path, [
      "auth",
      "whoami",
      "-o",
      "jsonpath={.status.userInfo.username}",
    ]);
    expect(whoami.stdout).toBe(`system:serviceaccount:${ns}:robot`);
    const secrets = await runKubectl(path, ["get", "secrets", "-n", ns]);
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain("forbidden");
  });

  it("garbage-collects a dependent when its owner is deleted", async () => {
    const core = env.kubeConfig().makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "owner" } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: "dependent",
          ownerReferences: [
            { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata!.uid! },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: "owner" });
    await waitFor(
      async () =>
        !(await core.listNamespacedConfigMap({ namespace: ns })).items.some(
          (c) => c.metadata?.name === "dependent",
        ),
      { what: "the garbage collector to delete the dependent", timeoutMs: 30_000 },
    );
    const names = (await core.listNamespacedConfigMap({ namespace: ns })).items.map(
      (c) => c.metadata?.name,
    );
    expect(names).not.toContain("dependent");
  });

  it("gives a Job created through the API a Pod from the Job controller", async () => {
    const batch = env.kubeConfig().makeApiClient(BatchV1Api);
    const core = env.kubeConfig().makeApiClient(CoreV1Api);
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: "hello" },
        spec: {
          template: {
            spec: {
              restartPolicy: "Never",
              containers: [{ name: "main", image: "busybox", command: ["true"] }],
            },
          },
        },
      },
    });
    let pods: V1Pod[] = [];
    await waitFor(
      async () => {
        pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: "job-name=hello" }))
          .items;
        return pods.length > 0;
      },
      { what: "the Job controller to create a Pod", timeoutMs: 30_000 },
    );
    expect(pods[0]!.metadata!.ownerReferences![0]!.kind).toBe("Job");
    expect(pods[0]!.spec!.containers[0]!.image).toBe("busybox");
  });

  it("deletes a namespace and what is in it (namespace controller)", async () => {
    const other = await createTestNamespace(env, "doomed");
    const core = env.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: other, body: { metadata: { name: "x" } } });
    await core.deleteNamespace({ name: other });
    await waitFor(
      async () => !(await core.listNamespace()).items.some((n) => n.metadata?.name === other),
      { what: `namespace ${other} to be finalized`, timeoutMs: 60_000 },
    );
    expect((await core.listNamespace()).items.map((n) => n.metadata?.name)).not.toContain(other);
  });
});

describe("Given the shared PostgreSQL and Redis", () => {
  it("PostgreSQL answers a query over TCP with password authentication", async () => {
    const client = new pg.Client({ connectionString: env.postgres.uri });
    await client.connect();
    try {
      const result = await client.query<{ sum: number; version: string }>(
        "SELECT 40 + 2 AS sum, current_setting('server_version') AS version",
      );
      expect(result.rows[0]!.sum).toBe(42);
      expect(result.rows[0]!.version).toMatch(/^\d+/);
    } finally {
      await client.end();
    }
    const wrong = new pg.Client({
      connectionString: env.postgres.uri.replace(env.postgres.password, "wrong"),
    });
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
  });

  it("Redis answers PING and stores a key", async () => {
    const redis = new RedisClient(env.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      expect(await redis.ping()).toBe("PONG");
      await redis.set("foundation", "ok");
      expect(await redis.get("foundation")).toBe("ok");
    } finally {
      redis.disconnect();
    }
  });
});
