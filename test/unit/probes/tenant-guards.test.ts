// The probes refuse what the operator's tenant policy does not allow, even
// when a target reaches them without validation (defence in depth, issue 11
// defect 3): no request leaves the operator.
import { KubeConfig } from "@kubernetes/client-node";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckResourcePool } from "../../../src/probes/pool.ts";
import { httpProbe } from "../../../src/probes/http.ts";
import { kubernetesProbe } from "../../../src/probes/kubernetes.ts";
import { systemProbe } from "../../../src/probes/system.ts";
import type {
  HttpProbeTarget,
  KubernetesProbeTarget,
  ProbeResult,
  SystemProbeTarget,
} from "../../../src/probes/types.ts";

/** Methods and paths of every request the local server received. */
const received: string[] = [];
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", code: 404, reason: "NotFound" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function probe<T extends HttpProbeTarget | KubernetesProbeTarget | SystemProbeTarget>(
  run: (target: T, ctx: Parameters<typeof httpProbe>[1]) => Promise<ProbeResult>,
  target: T,
): Promise<ProbeResult> {
  const pool = new CheckResourcePool();
  try {
    return await run(target, { signal: AbortSignal.timeout(5000), timeoutMs: 5000, pool });
  } finally {
    await pool.close();
  }
}

function localApiServer(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "local", server: base, skipTLSVerify: true }],
    users: [{ name: "nobody" }],
    contexts: [{ name: "local", cluster: "local", user: "nobody" }],
    currentContext: "local",
  });
  return kc;
}

describe("Given the http probe", () => {
  it.each([
    ["POST", undefined],
    ["DELETE", undefined],
    ["DELETE", ["GET", "HEAD", "POST"]],
  ])(
    "When it is asked to %s while the operator allows %j (unset: the default), then it refuses without a request",
    async (method, allowedMethods) => {
      received.length = 0;
      const result = await probe(httpProbe, {
        type: "http",
        url: `${base}/hook`,
        method,
        body: "{}",
        ...(allowedMethods ? { allowedMethods } : {}),
      });
      expect(result).toMatchObject({ ok: false });
      expect(result.message).toContain(`${method} is not allowed`);
      expect(result.message).toContain("--healthcheck-http-methods");
      expect(received).toEqual([]);
    },
  );

  it("When a GET carries a body, then it refuses without a request", async () => {
    received.length = 0;
    const result = await probe(httpProbe, { type: "http", url: `${base}/hook`, body: "{}" });
    expect(result).toMatchObject({ ok: false });
    expect(result.message).toContain("GET and HEAD requests carry no body");
    expect(received).toEqual([]);
  });

  it("When POST is allowed by the operator, then the request is sent", async () => {
    received.length = 0;
    await probe(httpProbe, {
      type: "http",
      url: `${base}/hook`,
      method: "POST",
      body: "{}",
      allowedMethods: ["GET", "HEAD", "POST"],
    });
    expect(received).toEqual(["POST /hook"]);
  });
});

describe("Given the kubernetes probe", () => {
  const workload = (extra: Partial<KubernetesProbeTarget>): KubernetesProbeTarget => ({
    type: "kubernetes",
    kind: "Deployment",
    name: "web",
    namespace: "kube-system",
    kubeConfig: localApiServer(),
    ...extra,
  });

  it.each([
    ["another namespace than the check's", { checkNamespace: "team-a" }],
    ["a namespace while the check's is unknown", {}],
  ])("When it is asked to read %s, then it refuses without a request", async (_what, extra) => {
    received.length = 0;
    const result = await probe(kubernetesProbe, workload(extra));
    expect(result).toMatchObject({ ok: false });
    expect(result.message).toContain("--healthcheck-cross-namespace");
    expect(received).toEqual([]);
  });

  it.each([
    ["the check's own namespace", { checkNamespace: "kube-system" }],
    [
      "another namespace, allowed by the operator",
      { checkNamespace: "team-a", crossNamespace: true },
    ],
  ])("When it reads %s, then it asks the API server", async (_what, extra) => {
    received.length = 0;
    const result = await probe(kubernetesProbe, workload(extra));
    expect(result.message).toBe("Deployment kube-system/web not found");
    expect(received).toEqual(["GET /apis/apps/v1/namespaces/kube-system/deployments/web"]);
  });
});

describe("Given the system probe", () => {
  it.each(["Nodes", "All"] as const)(
    "When it is asked for scope %s without node scope, then it refuses without a request",
    async (scope) => {
      received.length = 0;
      const result = await probe(systemProbe, {
        type: "system",
        scope,
        kubeConfig: localApiServer(),
      });
      expect(result).toMatchObject({ ok: false });
      expect(result.message).toContain("--healthcheck-node-scope");
      expect(received).toEqual([]);
    },
  );

  it("When node scope is allowed, then it asks the API server whether metrics.k8s.io is served", async () => {
    received.length = 0;
    await probe(systemProbe, {
      type: "system",
      scope: "Nodes",
      kubeConfig: localApiServer(),
      nodeScope: true,
    });
    expect(received).toEqual(["GET /apis"]);
  });
});
