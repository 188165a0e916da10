// The operator's HTTP server: /healthz, /readyz, /metrics and a route table
// that later features mount into (the guide's /health endpoints, the status
// page). Routes are path prefixes: "/health" serves "/health" and
// "/health/anything"; the longest matching prefix wins. Anything else gets a
// JSON 404.
//
// A route may be protected (all of it, or the paths a predicate picks): with
// an authorizer configured, such a request needs a Bearer token whose user
// may `get` the path (401 without a valid token, 403 without the grant).
// /metrics is protected; /healthz and /readyz stay open for the kubelet.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { rename, writeFile } from "node:fs/promises";
import type { Registry } from "prom-client";
import type { RequestAuthorizer } from "./auth.ts";
import type { BindAddress } from "./config.ts";
import { realClock, type Timer } from "./clock.ts";
import { log as rootLog, type Logger } from "./log.ts";
import { registry as defaultRegistry } from "./metrics.ts";
import type { Runnable } from "./runnable.ts";

export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
) => void | Promise<void>;

export interface HttpServerOptions {
  bindAddress: BindAddress;
  /** /readyz answers 200 while this returns true. */
  isReady: () => boolean;
  /** /healthz answers 200 while this returns true (default: always, i.e. the event loop runs). */
  isHealthy?: () => boolean;
  registry?: Registry;
  logger?: Logger;
  /** After listening, `{"port":N}` is written here (default: env PAKE_READY_FILE). */
  readyFile?: string;
  /** Checks requests to protected paths; without it every path is open (local development). */
  authorizer?: RequestAuthorizer;
}

export interface MountOptions {
  /** Whether a request to this path needs authorization: true for all, or per path. */
  protect?: boolean | ((path: string) => boolean);
}

interface Route {
  prefix: string;
  handler: RouteHandler;
  protect: (path: string) => boolean;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function matches(prefix: string, path: string): boolean {
  if (prefix === "/") return true;
  return path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
}

function probe(res: ServerResponse, ok: boolean, failure: string): void {
  sendText(res, ok ? 200 : 503, ok ? "ok\n" : `${failure}\n`);
}

export class HttpServer implements Runnable {
  readonly name = "http-server";
  readonly needsLeaderElection = false;
  private readonly opts: HttpServerOptions;
  private readonly logger: Logger;
  private routes: Route[] = [];
  private server: Server | undefined;
  private boundPort: number | undefined;

  constructor(opts: HttpServerOptions) {
    this.opts = opts;
    this.logger = (opts.logger ?? rootLog).child({ runnable: this.name });
    this.mount("/healthz", (_req, res) => probe(res, opts.isHealthy?.() ?? true, "unhealthy"));
    this.mount("/readyz", (_req, res) => probe(res, opts.isReady(), "not ready"));
    this.mount("/metrics", (_req, res) => this.metrics(res), { protect: true });
  }

  /** Serves every path equal to prefix or below it. Later mounts of the same prefix replace earlier ones. */
  mount(prefix: string, handler: RouteHandler, options: MountOptions = {}): void {
    if (!prefix.startsWith("/")) throw new Error(`route prefix must start with "/": ${prefix}`);
    const { protect = false } = options;
    this.routes = this.routes.filter((r) => r.prefix !== prefix);
    this.routes.push({
      prefix,
      handler,
      protect: typeof protect === "function" ? protect : () => protect,
    });
    this.routes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The bound port once started (useful with port 0). */
  port(): number {
    if (this.boundPort === undefined) throw new Error("HTTP server is not listening");
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => this.dispatch(req, res));
    this.server = server;
    const { host, port } = this.opts.bindAddress;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: host === "" ? undefined : host, port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (err) => this.logger.error({ err }, "HTTP server failed"));
    this.boundPort = (server.address() as AddressInfo).port;
    this.logger.info({ host: host || "*", port: this.boundPort }, "Started HTTP server");
    await this.writeReadyFile(this.boundPort);
  }

  async stop(deadlineMs: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: Timer | undefined;
    const deadline = new Promise<void>((resolve) => {
      // The real clock: the deadline comes from a flag and may exceed Node's timer limit.
      timer = realClock.setTimer(() => {
        server.closeAllConnections();
        resolve();
      }, deadlineMs);
    });
    await Promise.race([closed, deadline]);
    timer?.cancel();
    this.logger.info("Stopped HTTP server");
  }

  private async writeReadyFile(port: number): Promise<void> {
    const file = this.opts.readyFile ?? process.env.PAKE_READY_FILE;
    if (!file) return;
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ port }));
    await rename(tmp, file);
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://localhost");
    const route = this.routes.find((r) => matches(r.prefix, url.pathname));
    if (!route) {
      sendJson(res, 404, { error: "NotFound", message: `no route for ${url.pathname}` });
      return;
    }
    Promise.resolve()
      .then(() => this.authorized(req, res, route, url.pathname))
      .then((ok) => (ok ? route.handler(req, res, url) : undefined))
      .catch((err: unknown) => {
        this.logger.error({ err, path: url.pathname }, "Failed to serve HTTP request");
        if (!res.headersSent)
          sendJson(res, 500, { error: "InternalError", message: "internal error" });
        else res.destroy();
      });
  }

  /** True when the request may go on; otherwise the 401/403 answer has been sent. */
  private async authorized(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    path: string,
  ): Promise<boolean> {
    const authorizer = this.opts.authorizer;
    if (!authorizer || !route.protect(path)) return true;
    const decision = await authorizer.authorize(req.headers.authorization, path);
    if (decision.allowed) return true;
    if (decision.status === 401) res.setHeader("www-authenticate", 'Bearer realm="pake-operator"');
    const error = decision.status === 401 ? "Unauthorized" : "Forbidden";
    this.logger.debug({ path, status: decision.status }, "Refused HTTP request");
    sendJson(res, decision.status, { error, message: decision.message });
    return false;
  }

  private async metrics(res: ServerResponse): Promise<void> {
    const registry = this.opts.registry ?? defaultRegistry;
    const body = await registry.metrics();
    res.writeHead(200, { "content-type": registry.contentType });
    res.end(body);
  }
}
