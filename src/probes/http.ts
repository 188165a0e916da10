// HTTP probe: one request per probe over a keep-alive agent kept per check;
// status, optional body match (its regex on RE2, see re2.ts), latency, and
// the error rate over the recent probes. A timeout aborts the request and
// destroys its socket.
import http from "node:http";
import https from "node:https";
import type { HttpProbeTarget, Metric, Probe, ProbeContext, ResourcePool } from "./types.ts";
import { errorMessage } from "../lib/errors.ts";
import { abortMessage, failed, metric, round, stopwatch } from "./util.ts";
import { compileBodyPattern, type BodyPattern } from "./re2.ts";
import { httpRequestRefusal } from "./tenancy.ts";

const MAX_REDIRECTS = 5;
const MAX_BODY_BYTES = 1 << 20;
/** Probes kept for the error rate, and the fewest needed before it is reported. */
export const ERROR_WINDOW_SIZE = 100;
export const ERROR_WINDOW_MIN_SAMPLES = 20;

const TLS_PROBLEMS: Record<string, string> = {
  CERT_HAS_EXPIRED: "certificate has expired",
  CERT_NOT_YET_VALID: "certificate is not yet valid",
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in the certificate chain",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "unable to verify the certificate (unknown issuer)",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "certificate issuer is not trusted (unknown CA)",
  UNABLE_TO_GET_ISSUER_CERT: "certificate issuer is not trusted (unknown CA)",
  ERR_TLS_CERT_ALTNAME_INVALID: "certificate does not match the host name",
  CERT_REVOKED: "certificate has been revoked",
  CERT_SIGNATURE_FAILURE: "certificate signature is invalid",
  ERR_SSL_WRONG_VERSION_NUMBER: "TLS handshake failed (is the port speaking TLS?)",
};

/** "TLS error: certificate has expired (CERT_HAS_EXPIRED)", or undefined for other errors. */
export function describeTlsError(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return undefined;
  const problem = TLS_PROBLEMS[code];
  if (problem) return `TLS error: ${problem} (${code})`;
  if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_")) {
    return `TLS error: ${errorMessage(err)}`;
  }
  return undefined;
}

/** The URL without credentials, query or fragment: safe for messages. */
export function safeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** Success/failure of the recent probes, for the error rate. */
export class ErrorWindow {
  private readonly outcomes: boolean[] = [];
  private readonly size: number;

  constructor(size = ERROR_WINDOW_SIZE) {
    this.size = size;
  }

  record(ok: boolean): void {
    this.outcomes.push(ok);
    if (this.outcomes.length > this.size) this.outcomes.shift();
  }

  get samples(): number {
    return this.outcomes.length;
  }

  /** Percentage of failed probes in the window. */
  ratePercent(): number {
    if (this.outcomes.length === 0) return 0;
    return (this.outcomes.filter((ok) => !ok).length / this.outcomes.length) * 100;
  }
}

interface Response {
  status: number;
  statusText: string;
  body: string | undefined;
  url: URL;
  location: string | undefined;
}

/**
 * The keep-alive agent of the check's configured origin, or the one agent a
 * redirect to another origin uses (replaced when that origin changes): a
 * check holds at most two agents, however many origins its redirects name.
 */
function agentFor(url: URL, target: HttpProbeTarget, pool: ResourcePool): http.Agent {
  const insecure = target.insecureSkipTLSVerify === true;
  const configured = url.origin === new URL(target.url).origin;
  return pool.get<http.Agent>(configured ? "http-agent" : "http-agent:redirect", {
    configKey: `${url.origin} ${insecure}`,
    create: () =>
      url.protocol === "https:"
        ? new https.Agent({ keepAlive: true, maxSockets: 2, rejectUnauthorized: !insecure })
        : new http.Agent({ keepAlive: true, maxSockets: 2 }),
    dispose: (agent) => agent.destroy(),
  });
}

function readBody(res: http.IncomingMessage, keep: boolean): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (chunk: Buffer) => {
      if (!keep || size >= MAX_BODY_BYTES) return;
      chunks.push(chunk);
      size += chunk.length;
    });
    res.once("end", () => resolve(keep ? Buffer.concat(chunks).toString("utf8") : undefined));
    res.once("error", reject);
    res.once("aborted", () => reject(new Error("response aborted")));
  });
}

function request(
  url: URL,
  target: HttpProbeTarget,
  ctx: ProbeContext,
  wantBody: boolean,
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const req = (url.protocol === "https:" ? https : http).request(url, {
      method: target.method ?? "GET",
      headers: { "user-agent": "pake-operator-healthcheck", ...target.headers },
      agent: agentFor(url, target, ctx.pool),
      signal: ctx.signal,
    });
    req.once("error", reject);
    req.once("response", (res) => {
      readBody(res, wantBody).then(
        (body) =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? "",
            body,
            url,
            location: res.headers.location,
          }),
        reject,
      );
    });
    req.end(target.body);
  });
}

function redirectTarget(res: Response): URL | undefined {
  if (![301, 302, 303, 307, 308].includes(res.status) || !res.location) return undefined;
  return new URL(res.location, res.url);
}

async function follow(target: HttpProbeTarget, ctx: ProbeContext): Promise<Response> {
  const wantBody = target.bodyMatch !== undefined;
  const maxHops = target.followRedirects === false ? 0 : MAX_REDIRECTS;
  const origin = new URL(target.url).origin;
  let res = await request(new URL(target.url), target, ctx, wantBody);
  for (let hop = 0; hop < maxHops; hop++) {
    const next = redirectTarget(res);
    if (!next) break;
    res = await request(
      next,
      redirectedRequest(target, res.status, next.origin === origin),
      ctx,
      wantBody,
    );
  }
  return res;
}

/** The request to repeat after a redirect: no headers to another origin (they may be credentials), GET after 303. */
function redirectedRequest(
  target: HttpProbeTarget,
  status: number,
  sameOrigin: boolean,
): HttpProbeTarget {
  const headers = sameOrigin ? target.headers : undefined;
  if (status === 303) return { ...target, method: "GET", body: undefined, headers };
  return { ...target, headers };
}

export function isExpectedStatus(status: number, expected: number[] | undefined): boolean {
  if (expected && expected.length > 0) return expected.includes(status);
  return status >= 200 && status < 400;
}

function expectedText(expected: number[] | undefined): string {
  return expected && expected.length > 0 ? expected.join(", ") : "200-399";
}

/** The check's compiled body pattern: compiled once, again only when the pattern changes. */
export function cachedBodyPattern(pool: ResourcePool, pattern: string): BodyPattern {
  return pool.get("http-body-pattern", {
    configKey: pattern,
    create: () => compileBodyPattern(pattern),
  });
}

/**
 * Why the body does not match, or undefined when it does. The regex runs on
 * RE2 (linear time); `compile` lets the probe reuse the check's compiled one.
 */
export function bodyMismatch(
  body: string | undefined,
  match: HttpProbeTarget["bodyMatch"],
  compile: (pattern: string) => BodyPattern = compileBodyPattern,
): string | undefined {
  if (!match) return undefined;
  const text = body ?? "";
  if (match.contains !== undefined && !text.includes(match.contains)) {
    return "Response body does not contain the expected text";
  }
  if (match.regex !== undefined) {
    let pattern: BodyPattern;
    try {
      pattern = compile(match.regex);
    } catch (err) {
      return `Invalid bodyMatch regex: ${errorMessage(err)}`;
    }
    if (!pattern.test(text)) return `Response body does not match /${match.regex}/`;
  }
  return undefined;
}

function errorWindow(pool: ResourcePool): ErrorWindow {
  return pool.get("http-error-window", { create: () => new ErrorWindow() });
}

function withErrorRate(metrics: Metric[], window: ErrorWindow, ok: boolean): Metric[] {
  window.record(ok);
  if (window.samples < ERROR_WINDOW_MIN_SAMPLES) return metrics;
  return [...metrics, metric("errorRatePercent", round(window.ratePercent()), "%", "errorRate")];
}

function requestError(err: unknown, target: HttpProbeTarget, ctx: ProbeContext): string {
  const where = safeUrl(new URL(target.url));
  if (ctx.signal.aborted) return `${where}: ${abortMessage(ctx.signal, ctx.timeoutMs)}`;
  return `${where}: ${describeTlsError(err) ?? errorMessage(err)}`;
}

export const httpProbe: Probe<HttpProbeTarget> = async (target, ctx) => {
  const elapsed = stopwatch();
  // The validator refuses such a check already; this holds if it was bypassed.
  const refusal = httpRequestRefusal(target);
  if (refusal) return failed(`Refused: ${refusal}`, elapsed());
  const window = errorWindow(ctx.pool);
  let res: Response;
  try {
    res = await follow(target, ctx);
  } catch (err) {
    const metrics = withErrorRate([], window, false);
    return failed(`Request failed: ${requestError(err, target, ctx)}`, elapsed(), metrics);
  }
  const ms = elapsed();
  const base = [
    metric("responseTimeMs", ms, "ms", "responseTime"),
    metric("statusCode", res.status, "code"),
  ];
  const statusLine = `HTTP ${res.status} ${res.statusText}`.trim();
  const problem = !isExpectedStatus(res.status, target.expectedStatusCodes)
    ? `Unexpected status ${statusLine} (expected ${expectedText(target.expectedStatusCodes)})`
    : bodyMismatch(res.body, target.bodyMatch, (pattern) => cachedBodyPattern(ctx.pool, pattern));
  const metrics = withErrorRate(base, window, problem === undefined);
  if (problem) return failed(problem, ms, metrics);
  return { ok: true, latencyMs: ms, message: statusLine, metrics };
};
