// A HealthCheck's bodyMatch.regex runs on RE2 in the real operator process:
// a pattern that would make a backtracking engine run for hours (^(a+)+$ on
// 40 a's and a '!') is matched at once, the check turns Critical on the
// mismatch, and another check keeps being probed on time; a pattern RE2
// cannot compile (a lookbehind) gets SpecValid=False naming the field.
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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
const EXPLODING_BODY = `${"a".repeat(40)}!`;
const EXPLODING_PATTERN = "^(a+)+$";
/** The steady check's interval, and how late one of its probes may be. */
const INTERVAL_MS = 1000;
const ALLOWED_GAP_MS = INTERVAL_MS + 1000;

let ns: string;
let operator: OperatorProcess;
let server: Server;
let base: string;
const explodingHits: number[] = [];
const steadyHits: number[] = [];

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface HealthCheckObject {
  status?: { state?: string; message?: string; conditions?: Condition[] };
}

beforeAll(async () => {
  await installCrds(env);
  ns = await createTestNamespace(env, "hc-regex");
  server = createServer((req, res) => {
    if (req.url === "/exploding") {
      explodingHits.push(Date.now());
      res.writeHead(200, { "content-type": "text/plain" }).end(EXPLODING_BODY);
    } else {
      steadyHits.push(Date.now());
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  operator = startOperator({
    name: `operator-hc-regex-${ns}`,
    kubeconfigPath: env.kubeconfigPath,
    runDir: env.runDir,
    args: ["--leader-elect=false", "--namespaces", ns],
  });
  await operator.ready();
}, 120_000);

afterAll(async () => {
  // SIGKILL: an operator stuck in a regex would never answer a gentler signal.
  await killOperators();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

async function apply(object: object): Promise<void> {
  const file = join(env.runDir, `hc-regex-${Date.now()}-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify(object));
  const result = await env.kubectl("apply", "-n", ns, "-f", file);
  expect(result.stderr).toBe("");
}

async function healthCheck(name: string): Promise<HealthCheckObject> {
  const result = await env.kubectl("get", "healthcheck", name, "-n", ns, "-o", "json");
  if (result.code !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as HealthCheckObject;
}

const httpCheck = (name: string, http: Record<string, unknown>) => ({
  apiVersion: "pake.dev/v1alpha1",
  kind: "HealthCheck",
  metadata: { name },
  spec: { interval: "1s", timeout: "800ms", failureThreshold: 1, target: { http } },
});

/** The longest pause between two probes of the steady check from `since` to now. */
function longestSteadyGapSince(since: number): number {
  const times = [since, ...steadyHits.filter((t) => t >= since), Date.now()];
  return Math.max(...times.slice(1).map((t, i) => t - times[i]!));
}

describe("Given the operator probing a steady HTTP check every second", () => {
  beforeAll(async () => {
    await apply(httpCheck("steady", { url: `${base}/steady` }));
    await waitFor(async () => (await healthCheck("steady")).status?.state === "Healthy", {
      what: "steady to be Healthy",
      process: operator.proc,
      timeoutMs: 30_000,
    });
  }, 60_000);

  it("When a check's body pattern would backtrack exponentially, then its probe completes, it turns Critical on the mismatch, and the steady check keeps being probed on time", async () => {
    const applied = Date.now();
    await apply(
      httpCheck("exploding", {
        url: `${base}/exploding`,
        bodyMatch: { regex: EXPLODING_PATTERN },
      }),
    );
    let exploding: HealthCheckObject | undefined;
    await waitFor(
      async () => {
        exploding = await healthCheck("exploding");
        return exploding.status?.state === "Critical";
      },
      { what: "exploding to turn Critical", process: operator.proc, timeoutMs: 30_000 },
    );
    expect(exploding!.status?.message).toContain(
      `Response body does not match /${EXPLODING_PATTERN}/`,
    );
    // Several more probes of both checks, each matching the body again.
    const probesBefore = explodingHits.length;
    await new Promise((resolve) => setTimeout(resolve, 4 * INTERVAL_MS));
    expect(explodingHits.length).toBeGreaterThanOrEqual(probesBefore + 2);
    expect(steadyHits.filter((t) => t >= applied).length).toBeGreaterThanOrEqual(4);
    expect(longestSteadyGapSince(applied)).toBeLessThanOrEqual(ALLOWED_GAP_MS);
    expect((await healthCheck("steady")).status?.state).toBe("Healthy");
    expect(await operator.text("/healthz")).toContain("ok");
  }, 60_000);

  it("When a check's pattern has a lookbehind, which RE2 cannot compile, then SpecValid=False names spec.target.http.bodyMatch.regex with RE2's reason", async () => {
    await apply(
      httpCheck("lookbehind", { url: `${base}/steady`, bodyMatch: { regex: "(?<=x)y" } }),
    );
    let specValid: Condition | undefined;
    await waitFor(
      async () => {
        specValid = (await healthCheck("lookbehind")).status?.conditions?.find(
          (c) => c.type === "SpecValid",
        );
        return specValid !== undefined;
      },
      { what: "SpecValid on lookbehind", process: operator.proc, timeoutMs: 20_000 },
    );
    expect(specValid).toMatchObject({ status: "False", reason: "InvalidSpec" });
    expect(specValid!.message).toBe(
      "spec.target.http.bodyMatch.regex: error parsing regexp: invalid named capture: `(?<=x)y` (RE2 has no lookahead or lookbehind)",
    );
  }, 40_000);
});
