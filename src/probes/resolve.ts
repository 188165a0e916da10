// From a HealthCheck's spec.target (which names Secrets) to a ProbeTarget
// (which carries the resolved connection). The controller reads the Secrets
// by name (no Secret cache) and passes their decoded data in.
import type { KubeConfig } from "@kubernetes/client-node";
import type { HealthCheckTarget, PostgresTarget } from "../crds/healthcheck.ts";
import type { PostgresProbeTarget, ProbeTarget } from "./types.ts";
import type { z } from "zod";
import { parseConnectionUri } from "../lib/uri.ts";

/** Decoded Secret data (key → UTF-8 value). */
export type SecretData = Record<string, string>;

export interface ResolveContext {
  /** The HealthCheck's namespace. */
  namespace: string;
  /** Reads a Secret of that namespace by name; undefined when it does not exist. */
  readSecret: (name: string) => Promise<SecretData | undefined>;
  /** The operator's cluster access (kubernetes and system targets). */
  kubeConfig: KubeConfig;
}

/**
 * Why a target cannot be resolved: a referenced Secret or key does not exist
 * (yet: it may be created later), or what it holds cannot make a target.
 */
export type TargetResolutionReason = "ReferenceNotFound" | "InvalidTarget";

/** A target that cannot be resolved (missing Secret or key, bad URI); the message is safe for status. */
export class TargetResolutionError extends Error {
  override readonly name = "TargetResolutionError";
  readonly reason: TargetResolutionReason;

  constructor(reason: TargetResolutionReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Names of the Secrets a target references (to read them, and to requeue when they change). */
export function referencedSecrets(target: HealthCheckTarget): string[] {
  const names = [
    target.postgres?.connectionSecretRef.name,
    target.redis?.urlSecretRef.name,
    ...(target.http?.headersFrom ?? []).map((h) => h.secretKeyRef.name),
  ];
  return [...new Set(names.filter((n): n is string => n !== undefined))];
}

/** Decodes a Secret's base64 `data`. */
export function decodeSecretData(data: Record<string, string> | undefined): SecretData {
  return Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

const notFound = (message: string): TargetResolutionError =>
  new TargetResolutionError("ReferenceNotFound", message);
const invalid = (message: string): TargetResolutionError =>
  new TargetResolutionError("InvalidTarget", message);

async function secretKey(ctx: ResolveContext, ref: { name: string; key: string }): Promise<string> {
  const data = await ctx.readSecret(ref.name);
  if (!data) throw notFound(`Secret ${ctx.namespace}/${ref.name} not found`);
  const value = data[ref.key];
  if (value === undefined)
    throw notFound(`Secret ${ctx.namespace}/${ref.name} has no key ${ref.key}`);
  return value;
}

/** node-postgres `ssl` for a libpq sslmode (prefer and allow connect without TLS). */
export function sslFor(mode: string | undefined | null): PostgresProbeTarget["ssl"] {
  if (mode === "require") return { rejectUnauthorized: false };
  if (mode === "verify-ca" || mode === "verify-full") return { rejectUnauthorized: true };
  return false;
}

function fromUri(uri: string, secretName: string): Omit<PostgresProbeTarget, "type"> {
  const url = parseConnectionUri(uri);
  if (url === undefined) throw invalid(`Secret ${secretName}: key uri is not a valid URI`);
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    throw invalid(`Secret ${secretName}: key uri must start with postgresql://`);
  }
  return {
    host: decodeURIComponent(url.hostname) || "localhost",
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database:
      decodeURIComponent(url.pathname.replace(/^\//, "")) || decodeURIComponent(url.username),
    ssl: sslFor(url.searchParams.get("sslmode")),
  };
}

function fromKeys(data: SecretData, secretName: string): Omit<PostgresProbeTarget, "type"> {
  const host = data.host;
  const user = data.user ?? data.username;
  if (!host || !user) throw invalid(`Secret ${secretName} needs a uri key, or host and user keys`);
  return {
    host,
    port: Number(data.port ?? 5432),
    user,
    password: data.password,
    database: data.dbname ?? data.database ?? user,
    ssl: sslFor(data.sslmode),
  };
}

async function resolvePostgres(
  spec: z.infer<typeof PostgresTarget>,
  ctx: ResolveContext,
): Promise<PostgresProbeTarget> {
  const name = spec.connectionSecretRef.name;
  const data = await ctx.readSecret(name);
  if (!data) throw notFound(`Secret ${ctx.namespace}/${name} not found`);
  const conn = data.uri ? fromUri(data.uri, name) : fromKeys(data, name);
  return {
    type: "postgres",
    ...conn,
    database: spec.database ?? conn.database,
    ssl: spec.sslMode ? sslFor(spec.sslMode) : conn.ssl,
    query: spec.query,
    collectStatements: spec.collectStatements,
  };
}

async function resolveHttp(
  spec: NonNullable<HealthCheckTarget["http"]>,
  ctx: ResolveContext,
): Promise<ProbeTarget> {
  const headers: Record<string, string> = {};
  for (const h of spec.headers ?? []) headers[h.name] = h.value;
  for (const h of spec.headersFrom ?? []) headers[h.name] = await secretKey(ctx, h.secretKeyRef);
  return {
    type: "http",
    url: spec.url,
    method: spec.method,
    expectedStatusCodes: spec.expectedStatusCodes,
    headers,
    body: spec.body,
    bodyMatch: spec.bodyMatch,
    followRedirects: spec.followRedirects,
    insecureSkipTLSVerify: spec.insecureSkipTLSVerify,
  };
}

/** The probe target of a (validated, defaulted) spec.target. Throws TargetResolutionError. */
export async function resolveTarget(
  target: HealthCheckTarget,
  ctx: ResolveContext,
): Promise<ProbeTarget> {
  if (target.postgres) return resolvePostgres(target.postgres, ctx);
  if (target.redis) return { type: "redis", url: await secretKey(ctx, target.redis.urlSecretRef) };
  if (target.http) return resolveHttp(target.http, ctx);
  if (target.tcp) return { type: "tcp", host: target.tcp.host, port: target.tcp.port };
  if (target.kubernetes) {
    const k = target.kubernetes;
    return {
      type: "kubernetes",
      kind: k.kind,
      name: k.name,
      selector: k.selector,
      namespace: k.namespace ?? ctx.namespace,
      kubeConfig: ctx.kubeConfig,
    };
  }
  if (target.system) return { type: "system", ...target.system, kubeConfig: ctx.kubeConfig };
  throw invalid("spec.target sets none of postgres, redis, http, tcp, kubernetes or system");
}

/** Short description for status.target, e.g. "postgres/app-db" or "http/https://example.com/health". */
export function describeTarget(target: HealthCheckTarget): string {
  if (target.postgres) return `postgres/${target.postgres.connectionSecretRef.name}`;
  if (target.redis) return `redis/${target.redis.urlSecretRef.name}`;
  if (target.http) {
    const u = new URL(target.http.url);
    return `http/${u.origin}${u.pathname}`;
  }
  if (target.tcp) return `tcp/${target.tcp.host}:${target.tcp.port}`;
  if (target.kubernetes)
    return `${target.kubernetes.kind.toLowerCase()}/${target.kubernetes.name ?? "selector"}`;
  return `system/${target.system?.scope ?? "Host"}`;
}
