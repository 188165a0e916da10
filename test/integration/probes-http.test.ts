// The http and tcp probes against real local servers: status codes, body
// match, latency grading, redirects, the error rate window, a self-signed TLS
// certificate, a closed TCP port, and a timeout that closes the socket (the
// server sees it), also through the engine with the real clock.
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryFromStatus, observe } from "../../src/health/check.ts";
import { ProbeEngine, type CheckReport } from "../../src/probes/engine.ts";
import { httpProbe } from "../../src/probes/http.ts";
import { createProbeEngineMetrics } from "../../src/probes/metrics.ts";
import { CheckResourcePool } from "../../src/probes/pool.ts";
import { tcpProbe } from "../../src/probes/tcp.ts";
import type { HttpProbeTarget, ProbeResult } from "../../src/probes/types.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { freePort } from "../env/index.ts";

const exec = promisify(execFile);

let server: http.Server;
let tlsServer: https.Server;
let base: string;
let tlsBase: string;
let certDir: string;
const hungSockets: Promise<unknown>[] = [];

function route(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://x");
  const ms = Number(url.searchParams.get("ms") ?? 0);
  const status = Number(url.searchParams.get("status") ?? 200);
  if (url.pathname === "/hang") {
    hungSockets.push(once(req.socket, "close"));
    return; // never answers
  }
  if (url.pathname === "/redirect") {
    res.writeHead(302, { location: "/health" }).end();
    return;
  }
  setTimeout(() => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        status: status < 400 ? "UP" : "DOWN",
        auth: req.headers.authorization ?? null,
      }),
    );
  }, ms);
}

async function listen(s: http.Server | https.Server): Promise<number> {
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  return (s.address() as AddressInfo).port;
}

beforeAll(async () => {
  server = http.createServer(route);
  base = `http://127.0.0.1:${await listen(server)}`;
  certDir = mkdtempSync(join(tmpdir(), "pake-probes-tls-"));
  await exec("openssl", [
    ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"],
    ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
    ...["-keyout", join(certDir, "key.pem"), "-out", join(certDir, "cert.pem")],
  ]);
  tlsServer = https.createServer(
    { key: readFileSync(join(certDir, "key.pem")), cert: readFileSync(join(certDir, "cert.pem")) },
    route,
  );
  tlsBase = `https://127.0.0.1:${await listen(tlsServer)}`;
});

afterAll(() => {
  server?.closeAllConnections();
  server?.close();
  tlsServer?.closeAllConnections();
  tlsServer?.close();
  rmSync(certDir, { recursive: true, force: true });
});

async function probe(
  t: Omit<HttpProbeTarget, "type">,
  timeoutMs = 3000,
  shared?: CheckResourcePool,
) {
  const pool = shared ?? new CheckResourcePool();
  try {
    return await httpProbe(
      { type: "http", ...t },
      { signal: AbortSignal.timeout(timeoutMs), timeoutMs, pool },
    );
  } finally {
    if (!shared) await pool.close();
  }
}

function stateOf(result: ProbeResult) {
  return observe(memoryFromStatus(), result, { failureThreshold: 1 }, Date.now()).status;
}

function value(result: ProbeResult, name: string): number | undefined {
  return result.metrics.find((m) => m.name === name)?.value;
}

describe("Given an HTTP server", () => {
  it.each([
    ["/health", undefined, true, "HTTP 200 OK"],
    ["/health?status=204", undefined, true, "HTTP 204 No Content"],
    [
      "/health?status=503",
      undefined,
      false,
      "Unexpected status HTTP 503 Service Unavailable (expected 200-399)",
    ],
    ["/health?status=503", [503], true, "HTTP 503 Service Unavailable"],
    ["/health?status=200", [201], false, "Unexpected status HTTP 200 OK (expected 201)"],
    ["/redirect", undefined, true, "HTTP 200 OK"],
  ])("GET %s with expected codes %j is ok: %s (%s)", async (path, expected, ok, message) => {
    const result = await probe({ url: `${base}${path}`, expectedStatusCodes: expected });
    expect(result).toMatchObject({ ok, message });
    expect(value(result, "responseTimeMs")).toBeGreaterThan(0);
  });

  it("matches the body and sends the headers", async () => {
    const ok = await probe({
      url: `${base}/health`,
      headers: { authorization: "Bearer t0ken" },
      bodyMatch: { regex: '"auth":"Bearer t0ken"' },
    });
    expect(ok.ok).toBe(true);
    const bad = await probe({
      url: `${base}/health?status=200`,
      bodyMatch: { contains: '"status":"DOWN"' },
    });
    expect(bad).toMatchObject({
      ok: false,
      message: "Response body does not contain the expected text",
    });
  });

  it.each([
    [0, "Healthy"],
    [600, "Warning"],
    [1100, "Critical"],
  ])("grades a response after %d ms as %s on response time", async (ms, state) => {
    const result = await probe({ url: `${base}/health?ms=${ms}` });
    expect(result.ok).toBe(true);
    expect(stateOf(result).state).toBe(state);
  });

  it("reports the error rate over the recent probes of a check once 20 are in", async () => {
    const pool = new CheckResourcePool();
    for (let i = 0; i < 19; i++) await probe({ url: `${base}/health` }, 3000, pool);
    const result = await probe({ url: `${base}/health?status=500` }, 3000, pool);
    expect(value(result, "errorRatePercent")).toBe(5);
    const next = await probe({ url: `${base}/health` }, 3000, pool);
    expect(value(next, "errorRatePercent")).toBe(4.76);
    expect(stateOf(next).metrics.find((m) => m.name === "errorRatePercent")?.state).toBe("Warning");
    await pool.close();
  });

  it("aborts a request that outlives the timeout: the server sees the socket closed", async () => {
    const before = hungSockets.length;
    const started = Date.now();
    const result = await probe({ url: `${base}/hang?token=secret` }, 300);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result).toMatchObject({
      ok: false,
      message: `Request failed: ${base}/hang: timed out after 300 ms`,
    });
    expect(hungSockets.length).toBe(before + 1);
    await hungSockets[before];
  });
});

describe("Given an HTTPS server with a self-signed certificate", () => {
  it("names the TLS problem", async () => {
    const result = await probe({ url: `${tlsBase}/health` });
    expect(result.ok).toBe(false);
    expect(result.message).toBe(
      `Request failed: ${tlsBase}/health: TLS error: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`,
    );
  });

  it("accepts it with insecureSkipTLSVerify", async () => {
    expect(await probe({ url: `${tlsBase}/health`, insecureSkipTLSVerify: true })).toMatchObject({
      ok: true,
      message: "HTTP 200 OK",
    });
  });
});

describe("Given TCP targets", () => {
  it("measures the connect latency of an open port", async () => {
    const port = (server.address() as AddressInfo).port;
    const result = await tcpProbe(
      { type: "tcp", host: "127.0.0.1", port },
      { signal: AbortSignal.timeout(1000), timeoutMs: 1000, pool: new CheckResourcePool() },
    );
    expect(result).toMatchObject({ ok: true, message: `Connected to 127.0.0.1:${port}` });
    expect(value(result, "connectTimeMs")).toBeGreaterThan(0);
  });

  it("fails on a closed port with a clear message, graded Critical", async () => {
    const port = await freePort();
    const result = await tcpProbe(
      { type: "tcp", host: "127.0.0.1", port },
      { signal: AbortSignal.timeout(1000), timeoutMs: 1000, pool: new CheckResourcePool() },
    );
    expect(result.ok).toBe(false);
    expect(result.message).toBe(
      `Could not connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(stateOf(result).state).toBe("Critical");
  });
});

describe("Given the engine with the real clock", () => {
  it("times out a hanging request, closes its socket, and reports the failure", async () => {
    const reports: CheckReport[] = [];
    const engine = new ProbeEngine({
      onReport: (r) => void reports.push(r),
      metrics: createProbeEngineMetrics(new Registry()),
      logger: createLogger({ level: "silent" }),
      maxStartSpreadMs: 0,
    });
    await engine.start();
    const before = hungSockets.length;
    engine.upsert({
      key: "ns/hang",
      namespace: "ns",
      name: "hang",
      target: { type: "http", url: `${base}/hang` },
      intervalMs: 60_000,
      timeoutMs: 300,
      policy: { failureThreshold: 1 },
    });
    const deadline = Date.now() + 3000;
    while (reports.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(reports[0]?.result).toMatchObject({
      ok: false,
      message: `Request failed: ${base}/hang: timed out after 300 ms`,
    });
    expect(reports[0]?.status.state).toBe("Critical");
    await hungSockets[before];
    await engine.stop(1000);
  });
});
