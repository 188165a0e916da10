// The operator's configuration from command-line flags and environment
// variables (`pake-operator operator [flags]`).
// A flag wins over its environment variable, which wins over the default.
// Every option is one row of OPTIONS (flag, variables, kind, default, help),
// so the usage text and the parser cannot drift apart. Problems are collected
// and reported together, each naming the flag or variable it came from.
//
// KUBECONFIG is not read here: without --kubeconfig the client's default
// loading applies (KUBECONFIG, ~/.kube/config, then in-cluster).
import { readFileSync } from "node:fs";
import pkg from "../../package.json" with { type: "json" };
import {
  DEFAULT_INCIDENT_POLICY,
  IncidentPolicyError,
  parseIncidentPolicy,
  type IncidentPolicy,
} from "../config/incident-policy.ts";
import { parseDuration } from "../lib/duration.ts";
import { ProblemsError } from "../lib/problems.ts";
import { HTTP_METHODS, type TenantPolicy } from "../probes/tenancy.ts";
import type { BindAddress, LeaderElectionConfig, ManagerConfig } from "../runtime/config.ts";

/** Default runner image: the operator's own image at this version. */
export const DEFAULT_RUNNER_IMAGE = `ghcr.io/pake/pake-operator:${pkg.version}`;

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
const LOG_LEVELS: readonly LogLevel[] = [
  "fatal",
  "error",
  "warn",
  "info",
  "debug",
  "trace",
  "silent",
];

/** The manager's settings plus what the operator command and its controllers read. */
export interface OperatorConfig extends ManagerConfig {
  /** Path given with --kubeconfig; undefined means default loading. */
  kubeconfig: string | undefined;
  /** Namespaces to watch; empty means all. */
  namespaces: string[];
  logLevel: LogLevel;
  /** Image of the task runner Jobs (`pake-operator run <task>`). */
  runnerImage: string;
  /** Namespace the operator runs in (POD_NAMESPACE, the service account's, else pake-system). */
  operatorNamespace: string;
  /** The incident policy from --incident-policy, or the operations guide's defaults. */
  incidentPolicy: IncidentPolicy;
  /** What a HealthCheck may make the operator do (--healthcheck-* flags). */
  healthCheckTenantPolicy: TenantPolicy;
  /** Whether /metrics and the detailed health API need an authorized Bearer token. */
  endpointAuth: boolean;
  /** Whether a custom MaintenanceTask may name its own serviceAccountName. */
  allowCustomServiceAccount: boolean;
}

export class ConfigError extends ProblemsError {
  override readonly name = "ConfigError";
}

export const SERVICE_ACCOUNT_NAMESPACE_FILE =
  "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
export const FALLBACK_NAMESPACE = "pake-system";

type Kind = "string" | "bool" | "duration" | "list" | "address" | "level" | "methods";

interface OptionSpec {
  flag: string;
  env: string[];
  kind: Kind;
  /** Default as it would be written on the command line; undefined = none. */
  default: string | undefined;
  help: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  {
    flag: "kubeconfig",
    env: [],
    kind: "string",
    default: undefined,
    help: "Path to a kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)",
  },
  {
    flag: "namespaces",
    env: ["WATCH_NAMESPACE"],
    kind: "list",
    default: "",
    help: "Comma-separated namespaces to watch; empty watches all",
  },
  {
    flag: "metrics-bind-address",
    env: ["PAKE_METRICS_BIND_ADDRESS"],
    kind: "address",
    default: ":8080",
    help: "host:port of the /metrics, /healthz and /readyz server (port 0 picks a free port)",
  },
  {
    flag: "leader-elect",
    env: ["PAKE_LEADER_ELECT"],
    kind: "bool",
    default: "true",
    help: "Run controllers only while holding the leader Lease",
  },
  {
    flag: "leader-election-id",
    env: ["PAKE_LEADER_ELECTION_ID"],
    kind: "string",
    default: "pake-operator-leader",
    help: "Name of the leader election Lease",
  },
  {
    flag: "leader-election-namespace",
    env: ["PAKE_LEADER_ELECTION_NAMESPACE", "POD_NAMESPACE"],
    kind: "string",
    default: undefined,
    help: `Namespace of the Lease (default: POD_NAMESPACE, the service account's namespace, else ${FALLBACK_NAMESPACE})`,
  },
  {
    flag: "leader-election-lease-duration",
    env: ["PAKE_LEADER_ELECTION_LEASE_DURATION"],
    kind: "duration",
    default: "15s",
    help: "How long peers wait before taking over a lease that is not renewed",
  },
  {
    flag: "leader-election-renew-deadline",
    env: ["PAKE_LEADER_ELECTION_RENEW_DEADLINE"],
    kind: "duration",
    default: "10s",
    help: "How long the leader keeps retrying a renewal before giving up leadership",
  },
  {
    flag: "leader-election-retry-period",
    env: ["PAKE_LEADER_ELECTION_RETRY_PERIOD"],
    kind: "duration",
    default: "2s",
    help: "Interval between acquire and renew attempts",
  },
  {
    flag: "graceful-shutdown-timeout",
    env: ["PAKE_GRACEFUL_SHUTDOWN_TIMEOUT"],
    kind: "duration",
    default: "30s",
    help: "How long runnables get to finish in-flight work on SIGTERM",
  },
  {
    flag: "runner-image",
    env: ["PAKE_RUNNER_IMAGE"],
    kind: "string",
    default: DEFAULT_RUNNER_IMAGE,
    help: "Image of the MaintenanceTask runner Jobs (runs `pake-operator run <task>`)",
  },
  {
    flag: "incident-policy",
    env: ["PAKE_INCIDENT_POLICY"],
    kind: "string",
    default: undefined,
    help: "YAML file with the incident policy: response times, escalation, receivers, routes (default: the operations guide's, no receivers)",
  },
  {
    flag: "endpoint-auth",
    env: ["PAKE_ENDPOINT_AUTH"],
    kind: "bool",
    default: "true",
    help: "Require a Bearer token allowed to get the path (TokenReview + SubjectAccessReview) on /metrics, /health/detailed and /health/<namespace>/<name>; false only for local development",
  },
  {
    flag: "healthcheck-http-methods",
    env: ["PAKE_HEALTHCHECK_HTTP_METHODS"],
    kind: "methods",
    default: "GET,HEAD",
    help: `Comma-separated HTTP methods a HealthCheck's http target may use (of ${HTTP_METHODS.join(", ")}): the operator sends them from its own network position`,
  },
  {
    flag: "healthcheck-cross-namespace",
    env: ["PAKE_HEALTHCHECK_CROSS_NAMESPACE"],
    kind: "bool",
    default: "false",
    help: "Let a HealthCheck's kubernetes target read workloads in another namespace than its own (with the operator's access)",
  },
  {
    flag: "healthcheck-node-scope",
    env: ["PAKE_HEALTHCHECK_NODE_SCOPE"],
    kind: "bool",
    default: "false",
    help: "Let a HealthCheck's system target use scope Nodes or All (node figures from metrics.k8s.io)",
  },
  {
    flag: "allow-custom-service-account",
    env: ["PAKE_ALLOW_CUSTOM_SERVICE_ACCOUNT"],
    kind: "bool",
    default: "false",
    help: "Let a custom MaintenanceTask run its Job as the ServiceAccount it names (task.custom.serviceAccountName), with that account's rights",
  },
  {
    flag: "log-level",
    env: ["LOG_LEVEL"],
    kind: "level",
    default: "info",
    help: `Log level: ${LOG_LEVELS.join(", ")}`,
  },
];

/** Usage text for the operator's flags. */
export function operatorFlagsUsage(): string {
  const rows = OPTIONS.map((o) => {
    const left = `  --${o.flag}${o.kind === "bool" ? "[=true|false]" : ` <${o.kind}>`}`;
    const env = o.env.length > 0 ? ` [env ${o.env.join(", ")}]` : "";
    const def = o.default ? ` (default ${o.default})` : "";
    return `${left.padEnd(48)} ${o.help}${def}${env}`;
  });
  return rows.join("\n");
}

// --- value parsers ------------------------------------------------------------

export function parseBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(t)) return true;
  if (["false", "0", "no", "off"].includes(t)) return false;
  return undefined;
}

/** "host:port", ":port" or "[v6]:port". */
export function parseBindAddress(text: string): BindAddress | undefined {
  const colon = text.lastIndexOf(":");
  if (colon < 0) return undefined;
  const host = text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const portText = text.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535 || /\s/.test(host)) return undefined;
  return { host, port };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isNamespaceName(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

// --- argv ------------------------------------------------------------------------

interface RawValue {
  value: string;
  /** "--flag" or the environment variable's name. */
  source: string;
}

function findOption(name: string): OptionSpec | undefined {
  return OPTIONS.find((o) => o.flag === name);
}

interface ParsedArg {
  name: string;
  value: string | undefined;
  consumedNext: boolean;
}

function splitArg(arg: string, next: string | undefined): ParsedArg {
  const body = arg.replace(/^--?/, "");
  const eq = body.indexOf("=");
  if (eq >= 0) return { name: body.slice(0, eq), value: body.slice(eq + 1), consumedNext: false };
  const spec = findOption(body);
  if (spec?.kind === "bool") {
    const asBool = next === undefined ? undefined : parseBool(next);
    return asBool === undefined
      ? { name: body, value: "true", consumedNext: false }
      : { name: body, value: next, consumedNext: true };
  }
  const takesNext = next !== undefined && !next.startsWith("--");
  return { name: body, value: takesNext ? next : undefined, consumedNext: takesNext };
}

function readFlags(args: readonly string[], problems: string[]): Map<string, RawValue> {
  const flags = new Map<string, RawValue>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("-")) {
      problems.push(`unexpected argument "${arg}"`);
      continue;
    }
    const parsed = splitArg(arg, args[i + 1]);
    if (parsed.consumedNext) i++;
    if (!findOption(parsed.name)) {
      problems.push(`unknown flag --${parsed.name}`);
    } else if (parsed.value === undefined) {
      problems.push(`--${parsed.name}: missing value`);
    } else {
      flags.set(parsed.name, { value: parsed.value, source: `--${parsed.name}` });
    }
  }
  return flags;
}

function rawValue(
  spec: OptionSpec,
  flags: Map<string, RawValue>,
  env: Record<string, string | undefined>,
): RawValue | undefined {
  const fromFlag = flags.get(spec.flag);
  if (fromFlag) return fromFlag;
  for (const name of spec.env) {
    const value = env[name];
    if (value !== undefined && value !== "") return { value, source: name };
  }
  return spec.default === undefined ? undefined : { value: spec.default, source: `--${spec.flag}` };
}

// --- typed values -------------------------------------------------------------------

type Value = string | boolean | number | string[] | BindAddress | undefined;

const CONVERTERS: Record<Kind, (raw: string) => { value: Value } | { problem: string }> = {
  string: (raw) => ({ value: raw }),
  bool: (raw) => {
    const value = parseBool(raw);
    return value === undefined
      ? { problem: `invalid boolean "${raw}" (use true or false)` }
      : { value };
  },
  duration: (raw) => {
    try {
      return { value: parseDuration(raw, { syntax: "flag" }) };
    } catch {
      return { problem: `invalid duration "${raw}" (use e.g. 500ms, 15s, 1m)` };
    }
  },
  list: (raw) => {
    const items = raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const bad = items.filter((s) => !isNamespaceName(s));
    return bad.length > 0
      ? { problem: `invalid namespace name(s) ${bad.map((b) => `"${b}"`).join(", ")}` }
      : { value: [...new Set(items)] };
  },
  address: (raw) => {
    const value = parseBindAddress(raw);
    return value === undefined
      ? { problem: `invalid address "${raw}" (expected host:port, e.g. :8080 or 127.0.0.1:0)` }
      : { value };
  },
  methods: (raw) => {
    const items = [...new Set(raw.split(",").map((s) => s.trim().toUpperCase()))].filter(
      (s) => s !== "",
    );
    const bad = items.filter((s) => !(HTTP_METHODS as readonly string[]).includes(s));
    if (bad.length > 0)
      return {
        problem: `invalid HTTP method(s) ${bad.join(", ")} (of ${HTTP_METHODS.join(", ")})`,
      };
    return items.length > 0 ? { value: items } : { problem: "at least one HTTP method is needed" };
  },
  level: (raw) =>
    (LOG_LEVELS as readonly string[]).includes(raw)
      ? { value: raw }
      : { problem: `invalid log level "${raw}" (one of ${LOG_LEVELS.join(", ")})` },
};

interface Resolved {
  values: Map<string, Value>;
  sources: Map<string, string>;
}

function resolveAll(
  flags: Map<string, RawValue>,
  env: Record<string, string | undefined>,
  problems: string[],
): Resolved {
  const values = new Map<string, Value>();
  const sources = new Map<string, string>();
  for (const spec of OPTIONS) {
    const raw = rawValue(spec, flags, env);
    if (!raw) continue;
    sources.set(spec.flag, raw.source);
    const converted = CONVERTERS[spec.kind](raw.value);
    if ("problem" in converted) problems.push(`${raw.source}: ${converted.problem}`);
    else values.set(spec.flag, converted.value);
  }
  return { values, sources };
}

export interface ConfigSources extends IncidentPolicySource {
  env?: Record<string, string | undefined>;
  /** Reads the service-account namespace file; returns undefined when absent. */
  readServiceAccountNamespace?: () => string | undefined;
}

function readServiceAccountNamespaceFile(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

function checkLeaderElection(le: LeaderElectionConfig, r: Resolved, problems: string[]): void {
  const src = (flag: string): string => r.sources.get(flag) ?? `--${flag}`;
  if (!DNS_SUBDOMAIN.test(le.leaseName) || le.leaseName.length > 253) {
    problems.push(`${src("leader-election-id")}: "${le.leaseName}" is not a valid Lease name`);
  }
  if (!isNamespaceName(le.leaseNamespace)) {
    problems.push(
      `${src("leader-election-namespace")}: "${le.leaseNamespace}" is not a valid namespace name`,
    );
  }
  if (le.leaseDurationMs < 1000 || le.leaseDurationMs % 1000 !== 0) {
    problems.push(
      `${src("leader-election-lease-duration")}: must be a whole number of seconds, at least 1s (a Lease stores whole seconds)`,
    );
  }
  if (le.renewDeadlineMs >= le.leaseDurationMs) {
    problems.push(
      `${src("leader-election-renew-deadline")}: must be shorter than the lease duration (--leader-election-lease-duration)`,
    );
  }
  if (le.retryPeriodMs <= 0 || le.retryPeriodMs >= le.renewDeadlineMs) {
    problems.push(
      `${src("leader-election-retry-period")}: must be positive and shorter than the renew deadline (--leader-election-renew-deadline)`,
    );
  }
}

export interface IncidentPolicySource {
  /** Reads the policy file; default readFileSync. */
  readFile?: (path: string) => string;
}

/** The incident policy named by --incident-policy; problems are prefixed with where they came from. */
function loadIncidentPolicy(
  path: string | undefined,
  source: string,
  readFile: (path: string) => string,
  problems: string[],
): IncidentPolicy {
  if (path === undefined || path === "") return DEFAULT_INCIDENT_POLICY;
  try {
    return parseIncidentPolicy(readFile(path));
  } catch (err) {
    if (err instanceof IncidentPolicyError) {
      for (const p of err.problems) problems.push(`${source}: ${path}: ${p}`);
    } else {
      problems.push(`${source}: cannot read ${path}: ${(err as Error).message}`);
    }
    return DEFAULT_INCIDENT_POLICY;
  }
}

function incidentPolicyOf(r: Resolved, sources: ConfigSources, problems: string[]): IncidentPolicy {
  return loadIncidentPolicy(
    r.values.get("incident-policy") as string | undefined,
    r.sources.get("incident-policy") ?? "--incident-policy",
    sources.readFile ?? ((path) => readFileSync(path, "utf8")),
    problems,
  );
}

function operatorNamespaceOf(
  env: Record<string, string | undefined>,
  readSa: () => string | undefined,
): string {
  return env.POD_NAMESPACE || readSa() || FALLBACK_NAMESPACE;
}

/** Parses the operator's flags (args after the subcommand) and environment. Throws ConfigError. */
export function parseOperatorConfig(
  args: readonly string[],
  sources: ConfigSources = {},
): OperatorConfig {
  const env = sources.env ?? process.env;
  const problems: string[] = [];
  const flags = readFlags(args, problems);
  const resolved = resolveAll(flags, env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const v = resolved.values;
  const readSa = sources.readServiceAccountNamespace ?? readServiceAccountNamespaceFile;
  const leaderElection: LeaderElectionConfig = {
    enabled: v.get("leader-elect") as boolean,
    leaseName: v.get("leader-election-id") as string,
    leaseNamespace:
      (v.get("leader-election-namespace") as string | undefined) ?? readSa() ?? FALLBACK_NAMESPACE,
    leaseDurationMs: v.get("leader-election-lease-duration") as number,
    renewDeadlineMs: v.get("leader-election-renew-deadline") as number,
    retryPeriodMs: v.get("leader-election-retry-period") as number,
  };
  if (leaderElection.enabled) checkLeaderElection(leaderElection, resolved, problems);
  const incidentPolicy = incidentPolicyOf(resolved, sources, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    kubeconfig: v.get("kubeconfig") as string | undefined,
    namespaces: v.get("namespaces") as string[],
    metricsBindAddress: v.get("metrics-bind-address") as BindAddress,
    leaderElection,
    shutdownTimeoutMs: v.get("graceful-shutdown-timeout") as number,
    logLevel: v.get("log-level") as LogLevel,
    runnerImage: v.get("runner-image") as string,
    operatorNamespace: operatorNamespaceOf(env, readSa),
    incidentPolicy,
    healthCheckTenantPolicy: {
      httpMethods: v.get("healthcheck-http-methods") as string[],
      crossNamespace: v.get("healthcheck-cross-namespace") as boolean,
      nodeScope: v.get("healthcheck-node-scope") as boolean,
    },
    endpointAuth: v.get("endpoint-auth") as boolean,
    allowCustomServiceAccount: v.get("allow-custom-service-account") as boolean,
  };
}
