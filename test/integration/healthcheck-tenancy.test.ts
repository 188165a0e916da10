// A HealthCheck author must not act as the operator (issue 11, defect 3). By
// default a check may send HTTP GET/HEAD only, read workloads of its own
// namespace only, and not read node figures; each wider power is an
// operator-level flag. Two real operator processes on the real API server:
// one with the defaults, one with every flag, each watching its own namespace.
// A local HTTP server records what the operators' probes really send.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestNamespace,
  installCrds,
  killOperators,
  startOperator,
  useSharedEnv,
  waitFor,
  type OperatorProcess,
} from "../env/index.ts";

const env = useSharedEnv();

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** "<METHOD> <path>" of every request the probes sent. */
const received: string[] = [];
let server: http.Server;
let base: string;

interface Tenant {
  ns: string;
  operator: OperatorProcess;
}
let strict: Tenant;
let wide: Tenant;

const WIDE_FLAGS = [
  "--healthcheck-http-methods=GET,HEAD,POST",
  "--healthcheck-cross-namespace",
  "--healthcheck-node-scope",
];

async function tenant(prefix: string, flags: string[]): Promise<Tenant> {
  const ns = await createTestNamespace(env, prefix);
  const operator = startOperator({
    name: `operator-${ns}`,
    kubeconfigPath: env.kubeconfigPath,
    runDir: env.runDir,
    args: ["--leader-elect=false", "--namespaces", ns, ...flags],
  });
  return { ns, operator };
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    req.resume();
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await installCrds(env);
  strict = await tenant("tenancy-strict", []);
  wide = await tenant("tenancy-wide", WIDE_FLAGS);
  await Promise.all([strict.operator.ready(), wide.operator.ready()]);
  for (const t of [strict, wide]) {
    for (const [name, target] of Object.entries(targets(t.ns))) await apply(t.ns, name, target);
  }
});

afterAll(async () => {
  await killOperators();
  await new Promise((resolve) => server.close(resolve));
});

function targets(ns: string): Record<string, Record<string, unknown>> {
  return {
    "post-hook": { http: { url: `${base}/${ns}/post`, method: "POST", body: "{}" } },
    "plain-get": { http: { url: `${base}/${ns}/get` } },
    "other-namespace": {
      kubernetes: { kind: "Deployment", name: "coredns", namespace: "kube-system" },
    },
    "node-figures": { system: { scope: "Nodes" } },
  };
}

async function apply(ns: string, name: string, target: Record<string, unknown>): Promise<void> {
  const object = {
    apiVersion: "pake.dev/v1alpha1",
    kind: "HealthCheck",
    metadata: { name },
    spec: { target, interval: "2s", timeout: "1s" },
  };
  const file = join(env.runDir, `tenancy-${ns}-${name}.json`);
  writeFileSync(file, JSON.stringify(object));
  const result = await env.kubectl("apply", "-n", ns, "-f", file);
  expect(result.stderr).toBe("");
}

async function condition(t: Tenant, name: string, type: string): Promise<Condition | undefined> {
  const result = await env.kubectl("get", "healthcheck", name, "-n", t.ns, "-o", "json");
  const obj = JSON.parse(result.stdout) as { status?: { conditions?: Condition[] } };
  return obj.status?.conditions?.find((c) => c.type === type);
}

async function specValid(t: Tenant, name: string): Promise<Condition> {
  let found: Condition | undefined;
  await waitFor(
    async () => {
      found = await condition(t, name, "SpecValid");
      return found !== undefined;
    },
    { what: `SpecValid on ${t.ns}/${name}`, process: t.operator.proc, timeoutMs: 20_000 },
  );
  return found!;
}

async function requestArrives(t: Tenant, request: string): Promise<void> {
  await waitFor(() => Promise.resolve(received.includes(request)), {
    what: `${request} from the operator of ${t.ns}`,
    process: t.operator.proc,
    timeoutMs: 20_000,
  });
}

describe("Given an operator with the default tenant policy", () => {
  it.each([
    { name: "post-hook", field: "spec.target.http.method", flag: "--healthcheck-http-methods" },
    {
      name: "other-namespace",
      field: "spec.target.kubernetes.namespace",
      flag: "--healthcheck-cross-namespace",
    },
    { name: "node-figures", field: "spec.target.system.scope", flag: "--healthcheck-node-scope" },
  ])(
    "When a check asks for more ($name), then SpecValid=False names $field and $flag",
    async ({ name, field, flag }) => {
      const valid = await specValid(strict, name);
      expect(valid).toMatchObject({ status: "False", reason: "InvalidSpec" });
      expect(valid.message).toContain(`${field}:`);
      expect(valid.message).toContain(flag);
      expect(await condition(strict, name, "Ready")).toMatchObject({
        status: "False",
        reason: "InvalidSpec",
      });
    },
  );

  it("When its probes run, then the GET check is probed and the POST is never sent", async () => {
    expect((await specValid(strict, "plain-get")).status).toBe("True");
    // Two GETs prove the engine has probed for at least one interval since start-up.
    await requestArrives(strict, `GET /${strict.ns}/get`);
    await waitFor(
      () => Promise.resolve(received.filter((r) => r === `GET /${strict.ns}/get`).length >= 2),
      { what: "a second probe of plain-get", process: strict.operator.proc, timeoutMs: 20_000 },
    );
    expect(received.filter((r) => r.includes(`/${strict.ns}/post`))).toEqual([]);
  });
});

describe("Given an operator started with every tenant flag", () => {
  it.each(["post-hook", "other-namespace", "node-figures", "plain-get"])(
    "When %s is applied, then SpecValid=True",
    async (name) => {
      expect(await specValid(wide, name)).toMatchObject({ status: "True" });
    },
  );

  it("When the POST check is probed, then the request reaches the target as a POST", async () => {
    await requestArrives(wide, `POST /${wide.ns}/post`);
  });
});
