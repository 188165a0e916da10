// Issue 11 defect 11: the HTTP probe keeps one keep-alive agent per check for
// the origin its spec names. A target that redirects to ever new origins (a
// load balancer bouncing to instance hosts, a port per request) must not
// leave one agent, and its sockets, per origin it was ever sent to. Real
// local HTTP servers; the pool is the one the probe engine gives each check.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpProbe } from "../../../src/probes/http.ts";
import { CheckResourcePool } from "../../../src/probes/pool.ts";

const servers: http.Server[] = [];

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const INSTANCES = 4;
let entry: string;
let instances: string[];
let hops = 0;

beforeAll(async () => {
  instances = [];
  for (let i = 0; i < INSTANCES; i++) instances.push(await serve((_, res) => res.end("ok")));
  // Each request is sent on to the next instance: a new origin every probe.
  entry = await serve((_, res) => {
    res.writeHead(302, { location: `${instances[hops++ % INSTANCES]}/health` });
    res.end();
  });
});

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const agentsOf = (pool: CheckResourcePool) =>
  pool.names().filter((n) => n.startsWith("http-agent"));

describe("Given an HTTP check whose URL redirects to a different origin on every probe", () => {
  it("When it is probed once per redirect origin, then every probe succeeds and the check holds at most two agents", async () => {
    const pool = new CheckResourcePool();
    const target = { type: "http" as const, url: `${entry}/health` };
    for (let i = 0; i < INSTANCES; i++) {
      const result = await httpProbe(target, {
        signal: AbortSignal.timeout(5000),
        timeoutMs: 5000,
        pool,
      });
      expect(result).toMatchObject({ ok: true, message: "HTTP 200 OK" });
    }
    expect(agentsOf(pool).length).toBeLessThanOrEqual(2);
    await pool.close();
  });
});
