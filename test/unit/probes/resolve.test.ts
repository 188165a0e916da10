import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { HealthCheckTarget } from "../../../src/crds/healthcheck.ts";
import {
  TargetResolutionError,
  describeTarget,
  referencedSecrets,
  resolveTarget,
  type SecretData,
} from "../../../src/probes/resolve.ts";

const secrets: Record<string, SecretData> = {
  "db-uri": { uri: "postgresql://app:p%40ss@db.example:6432/orders?sslmode=require" },
  "db-keys": { host: "10.0.0.5", user: "reader", password: "pw", dbname: "reports" },
  cache: { url: "redis://:secret@cache:6379/0" },
  token: { value: "Bearer abc" },
  "bad-uri": { uri: "not a uri" },
  "mysql-uri": { uri: "mysql://app@db/app" },
};
const ctx = {
  namespace: "shop",
  readSecret: (name: string) => Promise.resolve(secrets[name]),
  kubeConfig: new KubeConfig(),
};

function target(input: unknown) {
  return HealthCheckTarget.parse(input);
}

describe("Given HealthCheck targets that reference Secrets", () => {
  it("resolves a postgres uri, with sslmode and the default query", async () => {
    const t = await resolveTarget(
      target({ postgres: { connectionSecretRef: { name: "db-uri" } } }),
      ctx,
    );
    expect(t).toEqual({
      type: "postgres",
      host: "db.example",
      port: 6432,
      user: "app",
      password: "p@ss",
      database: "orders",
      ssl: { rejectUnauthorized: false },
      query: "SELECT 1",
      collectStatements: true,
    });
  });

  it("resolves postgres host/user keys, with the spec's database and sslMode winning", async () => {
    const t = await resolveTarget(
      target({
        postgres: {
          connectionSecretRef: { name: "db-keys" },
          database: "other",
          sslMode: "verify-full",
        },
      }),
      ctx,
    );
    expect(t).toMatchObject({
      host: "10.0.0.5",
      port: 5432,
      user: "reader",
      database: "other",
      ssl: { rejectUnauthorized: true },
    });
  });

  it("resolves redis and http headers from Secrets", async () => {
    expect(
      await resolveTarget(target({ redis: { urlSecretRef: { name: "cache", key: "url" } } }), ctx),
    ).toEqual({
      type: "redis",
      url: "redis://:secret@cache:6379/0",
    });
    const http = await resolveTarget(
      target({
        http: {
          url: "https://shop.example/health",
          headers: [{ name: "Accept", value: "application/json" }],
          headersFrom: [{ name: "Authorization", secretKeyRef: { name: "token", key: "value" } }],
        },
      }),
      ctx,
    );
    expect(http).toMatchObject({
      type: "http",
      method: "GET",
      headers: { Accept: "application/json", Authorization: "Bearer abc" },
    });
  });

  it.each([
    [{ redis: { urlSecretRef: { name: "missing", key: "url" } } }, "Secret shop/missing not found"],
    [
      { redis: { urlSecretRef: { name: "cache", key: "uri" } } },
      "Secret shop/cache has no key uri",
    ],
    [
      { postgres: { connectionSecretRef: { name: "token" } } },
      "Secret token needs a uri key, or host and user keys",
    ],
  ])("explains an unresolvable target %j", async (input, message) => {
    const err = await resolveTarget(target(input), ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetResolutionError);
    expect((err as Error).message).toBe(message);
  });

  it.each([
    [{ redis: { urlSecretRef: { name: "missing", key: "url" } } }, "ReferenceNotFound"],
    [{ redis: { urlSecretRef: { name: "cache", key: "uri" } } }, "ReferenceNotFound"],
    [{ postgres: { connectionSecretRef: { name: "missing" } } }, "ReferenceNotFound"],
    [
      {
        http: {
          url: "https://x.example",
          headersFrom: [{ name: "A", secretKeyRef: { name: "token", key: "nope" } }],
        },
      },
      "ReferenceNotFound",
    ],
    [{ postgres: { connectionSecretRef: { name: "token" } } }, "InvalidTarget"],
    [{ postgres: { connectionSecretRef: { name: "bad-uri" } } }, "InvalidTarget"],
    [{ postgres: { connectionSecretRef: { name: "mysql-uri" } } }, "InvalidTarget"],
  ])("gives an unresolvable target %j the reason %s", async (input, reason) => {
    const err = await resolveTarget(target(input), ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetResolutionError);
    expect((err as TargetResolutionError).reason).toBe(reason);
  });

  it("resolves kubernetes targets into the check's namespace by default", async () => {
    const t = await resolveTarget(target({ kubernetes: { kind: "Deployment", name: "web" } }), ctx);
    expect(t).toMatchObject({
      type: "kubernetes",
      kind: "Deployment",
      name: "web",
      namespace: "shop",
    });
  });

  it("lists the referenced Secrets and describes the target", () => {
    const t = target({
      http: {
        url: "https://shop.example/health?x=1",
        headersFrom: [
          { name: "Authorization", secretKeyRef: { name: "token", key: "value" } },
          { name: "X-Other", secretKeyRef: { name: "token", key: "other" } },
        ],
      },
    });
    expect(referencedSecrets(t)).toEqual(["token"]);
    expect(describeTarget(t)).toBe("http/https://shop.example/health");
  });
});
