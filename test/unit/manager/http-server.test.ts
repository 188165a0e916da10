import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Counter, Registry } from "prom-client";
import { HttpServer, sendJson } from "../../../src/runtime/http-server.ts";
import { createLogger } from "../../../src/runtime/log.ts";

const logger = createLogger({ level: "silent" });

describe("Given the operator's HTTP server on port 0", () => {
  let server: HttpServer | undefined;
  let ready = false;

  afterEach(async () => {
    await server?.stop(1000);
    server = undefined;
    ready = false;
  });

  async function start(
    extra: Partial<ConstructorParameters<typeof HttpServer>[0]> = {},
  ): Promise<string> {
    const registry = new Registry();
    new Counter({ name: "test_requests_total", help: "test", registers: [registry] }).inc(3);
    server = new HttpServer({
      bindAddress: { host: "127.0.0.1", port: 0 },
      isReady: () => ready,
      registry,
      logger,
      readyFile: "",
      ...extra,
    });
    await server.start();
    return `http://127.0.0.1:${server.port()}`;
  }

  it.each([
    { path: "/healthz", ready: false, status: 200, body: "ok\n" },
    { path: "/readyz", ready: false, status: 503, body: "not ready\n" },
    { path: "/readyz", ready: true, status: 200, body: "ok\n" },
    { path: "/readyz?verbose=1", ready: true, status: 200, body: "ok\n" },
  ])("When $path is requested with ready=$ready, then it answers $status", async (row) => {
    const base = await start();
    ready = row.ready;
    const res = await fetch(base + row.path);
    expect(res.status).toBe(row.status);
    expect(await res.text()).toBe(row.body);
  });

  it("When /healthz is requested and the health check fails, then it answers 503", async () => {
    const base = await start({ isHealthy: () => false });
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
  });

  it("When /metrics is requested, then it serves the registry in Prometheus text format", async () => {
    const base = await start();
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(await res.text()).toContain("test_requests_total 3");
  });

  it("When an unknown path is requested, then it answers a JSON 404", async () => {
    const base = await start();
    const res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.json()).toEqual({ error: "NotFound", message: "no route for /nope" });
  });

  it.each([
    { path: "/health", route: "health" },
    { path: "/health/detailed", route: "detailed" },
    { path: "/health/detailed/x", route: "detailed" },
    { path: "/health/db", route: "health" },
    { path: "/healthy", route: undefined },
  ])(
    "When routes are mounted and $path is requested, then the longest prefix ($route) serves it",
    async ({ path, route }) => {
      server = new HttpServer({
        bindAddress: { host: "127.0.0.1", port: 0 },
        isReady: () => true,
        logger,
        readyFile: "",
      });
      server.mount("/health", (_req, res) => sendJson(res, 200, { route: "health" }));
      server.mount("/health/detailed", (_req, res, url) =>
        sendJson(res, 200, { route: "detailed", path: url.pathname }),
      );
      await server.start();
      const res = await fetch(`http://127.0.0.1:${server.port()}${path}`);
      if (route === undefined) expect(res.status).toBe(404);
      else expect(((await res.json()) as { route: string }).route).toBe(route);
    },
  );

  it("When a mounted handler throws, then it answers a JSON 500", async () => {
    const base = await start();
    server?.mount("/boom", () => {
      throw new Error("boom");
    });
    const res = await fetch(`${base}/boom`);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: "InternalError" });
  });

  it("When a ready file is configured, then the bound port is written to it after listening", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pake-http-")), "ready.json");
    await start({ readyFile: file });
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ port: server?.port() });
  });

  it("When stopped with a keep-alive client connected, then it closes within the deadline", async () => {
    const base = await start();
    await fetch(`${base}/healthz`);
    const before = Date.now();
    await server?.stop(500);
    server = undefined;
    expect(Date.now() - before).toBeLessThan(1000);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
