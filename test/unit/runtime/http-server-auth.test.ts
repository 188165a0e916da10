// The HTTP server's guard of protected paths: which paths ask the authorizer,
// and what a refusal or a failed review answers. The authorizer here decides
// by a fixed table; the real one (TokenReview + SubjectAccessReview) is
// tested against the API server in test/integration/operator-endpoints.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import type { AuthDecision, RequestAuthorizer } from "../../../src/runtime/auth.ts";
import { HttpServer, sendJson } from "../../../src/runtime/http-server.ts";
import { createLogger } from "../../../src/runtime/log.ts";

const logger = createLogger({ level: "silent" });

/** Allows token "good", refuses "bad" (403), fails on "boom"; anything else is 401. */
class TableAuthorizer implements RequestAuthorizer {
  readonly asked: string[] = [];
  authorize(authorization: string | undefined, path: string): Promise<AuthDecision> {
    this.asked.push(path);
    if (authorization === "Bearer boom") return Promise.reject(new Error("API down"));
    if (authorization === "Bearer good") return Promise.resolve({ allowed: true, user: "good" });
    if (authorization === "Bearer bad")
      return Promise.resolve({ allowed: false, status: 403, message: "no" });
    return Promise.resolve({ allowed: false, status: 401, message: "token required" });
  }
}

describe("Given the HTTP server with an authorizer and /health mounted with only its summary open", () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.stop(1000);
    server = undefined;
  });

  async function start(authorizer: RequestAuthorizer): Promise<string> {
    server = new HttpServer({
      bindAddress: { host: "127.0.0.1", port: 0 },
      isReady: () => true,
      registry: new Registry(),
      logger,
      readyFile: "",
      authorizer,
    });
    server.mount("/health", (_req, res) => sendJson(res, 200, { ok: true }), {
      protect: (path) => path !== "/health",
    });
    await server.start();
    return `http://127.0.0.1:${server.port()}`;
  }

  it.each([
    { path: "/healthz", token: undefined, status: 200, asked: false },
    { path: "/readyz", token: undefined, status: 200, asked: false },
    { path: "/health", token: undefined, status: 200, asked: false },
    { path: "/health/detailed", token: undefined, status: 401, asked: true },
    { path: "/health/detailed", token: "bad", status: 403, asked: true },
    { path: "/health/detailed", token: "good", status: 200, asked: true },
    { path: "/health/ns/name", token: "bad", status: 403, asked: true },
    { path: "/metrics", token: undefined, status: 401, asked: true },
    { path: "/metrics", token: "good", status: 200, asked: true },
    { path: "/metrics", token: "boom", status: 500, asked: true },
    { path: "/nope", token: undefined, status: 404, asked: false },
  ])(
    "When $path is requested with token $token, then it answers $status",
    async ({ path, token, status, asked }) => {
      const authorizer = new TableAuthorizer();
      const base = await start(authorizer);
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const res = await fetch(`${base}${path}`, { headers });
      await res.arrayBuffer();
      expect(res.status).toBe(status);
      expect(authorizer.asked).toEqual(asked ? [path] : []);
      if (status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
    },
  );

  it("When a review fails, then the answer is a JSON 500 that does not say why", async () => {
    const base = await start(new TableAuthorizer());
    const res = await fetch(`${base}/metrics`, { headers: { authorization: "Bearer boom" } });
    expect(await res.json()).toEqual({ error: "InternalError", message: "internal error" });
  });
});
