// The operator's HTTP endpoints against the real API server:
// - /metrics, /health/detailed and /health/<namespace>/<name> answer only a
//   Bearer token whose user RBAC allows a non-resource `get` on the path
//   (TokenReview + SubjectAccessReview); /healthz, /readyz and the summary
//   /health stay open; decisions are cached, so repeated scrapes do not each
//   cost API requests;
// - every replica answers /health the same way: a standby keeps the
//   HealthCheck cache too, so two replicas behind one Service agree.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { KubeRequestAuthorizer } from "../../src/runtime/auth.ts";
import { KubeClient } from "../../src/runtime/kube.ts";
import {
  createTestNamespace,
  installCrds,
  killOperators,
  serviceAccountToken,
  startOperator,
  useSharedEnv,
  waitFor,
  type OperatorProcess,
} from "../env/index.ts";

const env = useSharedEnv();

beforeAll(() => installCrds(env));

/** Ready, and its HealthCheck cache loaded (the summary /health answers 200 with no checks). */
async function loaded(op: OperatorProcess): Promise<void> {
  await op.ready();
  await waitFor(async () => (await status(op, "/health")) === 200, {
    what: "the HealthCheck cache",
    process: op.proc,
    timeoutMs: 20_000,
  });
}

/** Creates ServiceAccount ns/name, bound (cluster-wide) to a role allowing get on `paths`, if any. */
async function serviceAccountAllowed(ns: string, name: string, paths: string[]): Promise<string> {
  const docs = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } },
  ] as object[];
  if (paths.length > 0) {
    docs.push(
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: `${ns}-${name}` },
        rules: [{ nonResourceURLs: paths, verbs: ["get"] }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${ns}-${name}` },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: `${ns}-${name}`,
        },
        subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
      },
    );
  }
  const file = join(env.runDir, `${ns}-${name}.json`);
  writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: docs }));
  const applied = await env.kubectl("apply", "-f", file);
  expect(applied.stderr).toBe("");
  return serviceAccountToken(env.kubeconfigPath, ns, name);
}

async function status(op: OperatorProcess, path: string, token?: string): Promise<number> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(`http://127.0.0.1:${await op.port()}${path}`, { headers });
  await res.arrayBuffer();
  return res.status;
}

describe("Given the operator with endpoint authorization on (the default)", () => {
  let ns: string;
  let op: OperatorProcess;
  const tokens: Record<string, string | undefined> = {};

  beforeAll(async () => {
    ns = await createTestNamespace(env, "endpoints");
    tokens.allowed = await serviceAccountAllowed(ns, "prometheus", ["/metrics", "/health/*"]);
    tokens.metricsOnly = await serviceAccountAllowed(ns, "metrics-only", ["/metrics"]);
    tokens.forbidden = await serviceAccountAllowed(ns, "nobody", []);
    tokens.invalid = "not-a-token";
    op = startOperator({
      name: `operator-endpoints-${ns}`,
      kubeconfigPath: env.kubeconfigPath,
      runDir: env.runDir,
      args: ["--leader-elect=false", "--namespaces", ns],
    });
    await loaded(op);
  });
  afterAll(killOperators);

  it.each([
    ["/metrics", "allowed", 200],
    ["/metrics", "metricsOnly", 200],
    ["/metrics", "forbidden", 403],
    ["/metrics", "invalid", 401],
    ["/metrics", "none", 401],
    ["/health/detailed", "allowed", 200],
    ["/health/detailed", "metricsOnly", 403],
    ["/health/detailed", "forbidden", 403],
    ["/health/detailed", "none", 401],
    // Authorized, then the API answers: no such check.
    ["/health/NS/missing", "allowed", 404],
    ["/health/NS/missing", "forbidden", 403],
    ["/health/NS/missing", "none", 401],
    ["/healthz", "none", 200],
    ["/readyz", "none", 200],
    ["/health", "none", 200],
    ["/health", "forbidden", 200],
  ])("When %s is read with the %s token, then it answers %i", async (path, who, code) => {
    expect(await status(op, path.replace("NS", ns), tokens[who])).toBe(code);
  });

  it("When a request is refused, then the answer says why without echoing the token", async () => {
    const res = await fetch(`http://127.0.0.1:${await op.port()}/metrics`, {
      headers: { authorization: `Bearer ${tokens.forbidden}` },
    });
    const body = await res.text();
    expect(res.status).toBe(403);
    expect(JSON.parse(body)).toMatchObject({ error: "Forbidden" });
    expect(body).toContain(`system:serviceaccount:${ns}:nobody`);
    expect(body).not.toContain(tokens.forbidden);
    const none = await fetch(`http://127.0.0.1:${await op.port()}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("When the same token reads the same path again, then the decision comes from the cache: two API requests in all", async () => {
    const client = new KubeClient(env.kubeConfig());
    const requests: string[] = [];
    client.observe((r) => requests.push(`${r.method} ${r.path}`));
    const authorizer = new KubeRequestAuthorizer({ client });
    const header = `Bearer ${tokens.allowed}`;
    for (let i = 0; i < 5; i++) {
      expect(await authorizer.authorize(header, "/metrics")).toMatchObject({ allowed: true });
    }
    expect(requests).toEqual([
      "POST /apis/authentication.k8s.io/v1/tokenreviews",
      "POST /apis/authorization.k8s.io/v1/subjectaccessreviews",
    ]);
    expect(await authorizer.authorize(`Bearer ${tokens.forbidden}`, "/metrics")).toMatchObject({
      allowed: false,
      status: 403,
    });
    expect(requests).toHaveLength(4);
  });

  it("When the cache is full, then it stays bounded by dropping the oldest decision", async () => {
    const client = new KubeClient(env.kubeConfig());
    const authorizer = new KubeRequestAuthorizer({ client, maxEntries: 3 });
    for (const path of ["/metrics", "/health/a", "/health/b", "/health/c", "/health/d"]) {
      await authorizer.authorize(`Bearer ${tokens.allowed}`, path);
    }
    expect(authorizer.cacheSize()).toBe(3);
  });
});

describe("Given the operator with --endpoint-auth=false (local development)", () => {
  afterAll(killOperators);

  it("When /metrics and /health/detailed are read without a token, then they answer 200", async () => {
    const ns = await createTestNamespace(env, "endpoints-open");
    const op = startOperator({
      name: `operator-endpoints-open-${ns}`,
      kubeconfigPath: env.kubeconfigPath,
      runDir: env.runDir,
      args: ["--leader-elect=false", "--namespaces", ns, "--endpoint-auth=false"],
    });
    await loaded(op);
    expect(await status(op, "/metrics")).toBe(200);
    expect(await status(op, "/health/detailed")).toBe(200);
  });
});

describe("Given two operator replicas, one leading and one standing by", () => {
  let target: Server;
  let targetUrl: string;

  beforeAll(async () => {
    target = createServer((req, res) => res.writeHead(req.url === "/up" ? 200 : 500).end());
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => target.close(() => resolve())));
  afterEach(killOperators);

  const replica = (name: string, ns: string): OperatorProcess =>
    startOperator({
      name: `operator-${name}-${ns}`,
      kubeconfigPath: env.kubeconfigPath,
      runDir: env.runDir,
      args: ["--namespaces", ns, "--leader-election-namespace", ns],
    });

  const isLeader = async (op: OperatorProcess): Promise<boolean> =>
    (await op.text("/metrics"))
      .split("\n")
      .some((l) => l.startsWith("pake_leader_is_leader{") && l.endsWith(" 1"));

  async function health(op: OperatorProcess): Promise<{ code: number; body: object }> {
    const res = await fetch(`http://127.0.0.1:${await op.port()}/health`);
    const body = (await res.json()) as Record<string, unknown>;
    delete body.timestamp; // the only field that differs between two answers
    return { code: res.status, body };
  }

  const check = (name: string, path: string): object => ({
    apiVersion: "pake.dev/v1alpha1",
    kind: "HealthCheck",
    metadata: { name },
    spec: {
      interval: "2s",
      timeout: "1s",
      failureThreshold: 1,
      successThreshold: 1,
      target: { http: { url: `${targetUrl}${path}` } },
    },
  });

  it("When the checks are Healthy and Critical, then the standby's /health equals the leader's: 503 with the same counts", async () => {
    const ns = await createTestNamespace(env, "replicas");
    const a = replica("a", ns);
    const b = replica("b", ns);
    await Promise.all([a.ready(), b.ready()]);
    await waitFor(async () => (await isLeader(a)) !== (await isLeader(b)), {
      what: "one leader",
      timeoutMs: 30_000,
    });
    const [leader, standby] = (await isLeader(a)) ? [a, b] : [b, a];

    const file = join(env.runDir, `${ns}-checks.json`);
    const items = [check("up", "/up"), check("down", "/down")];
    writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items }));
    expect((await env.kubectl("apply", "-n", ns, "-f", file)).stderr).toBe("");

    await bothAnswer(leader, standby, {
      code: 503,
      body: {
        status: "Critical",
        total: 2,
        counts: { Healthy: 1, Warning: 0, Critical: 1, Unknown: 0 },
      },
    });

    expect((await env.kubectl("delete", "healthcheck", "down", "-n", ns)).code).toBe(0);
    await bothAnswer(leader, standby, {
      code: 200,
      body: {
        status: "Healthy",
        total: 1,
        counts: { Healthy: 1, Warning: 0, Critical: 0, Unknown: 0 },
      },
    });
    expect(await isLeader(standby)).toBe(false);
  });

  /** Waits for the leader's answer, then expects the standby's to be the same. */
  async function bothAnswer(
    leader: OperatorProcess,
    standby: OperatorProcess,
    expected: { code: number; body: object },
  ): Promise<void> {
    const same = async (op: OperatorProcess): Promise<boolean> =>
      JSON.stringify(await health(op)) === JSON.stringify(expected);
    await waitFor(() => same(leader), {
      what: `the leader's /health to be ${JSON.stringify(expected)}`,
      process: leader.proc,
      timeoutMs: 30_000,
    });
    // The standby's cache follows the same watch: allow it a moment, then compare.
    await waitFor(() => same(standby), {
      what: "the standby's /health to match the leader's",
      process: standby.proc,
      timeoutMs: 10_000,
    }).catch(() => undefined);
    expect(await health(standby)).toEqual(expected);
  }
});
