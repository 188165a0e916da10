// HealthCheck (hc): what to probe, how often, and what counts as warning or
// critical. See DESIGN.md §1.
import { z } from "zod";
import { parseDuration } from "../lib/duration.ts";
import {
  AGE_COLUMN,
  API_GROUP,
  API_VERSION,
  CATEGORY,
  LabelSelector,
  SecretKeySelector,
  SecretReference,
  celExactlyOne,
  conditions,
  countSet,
  duration,
  kubeObject,
  labelName,
  objectName,
  observedGeneration,
  stringMap,
  text,
  timestamp,
  withRules,
} from "./common.ts";
import type { KindDescriptor } from "./common.ts";

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

export const PostgresTarget = z
  .strictObject({
    connectionSecretRef: SecretReference.describe(
      "Secret with the connection: a `uri` key (postgresql://user:password@host:port/dbname), " +
        "or `host`, `port`, `user`, `password` and `dbname` keys.",
    ),
    database: z
      .string()
      .min(1)
      .max(63)
      .optional()
      .describe("Database to connect to; overrides the one in the Secret."),
    sslMode: z
      .enum(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])
      .optional()
      .describe("libpq sslmode; overrides the one in the Secret's uri."),
    query: text(1024, "Query timed as the database query time.").default("SELECT 1"),
    collectStatements: z
      .boolean()
      .default(true)
      .describe("Report the slowest statements when the pg_stat_statements extension exists."),
  })
  .describe(
    "Probe a PostgreSQL server: connect and query latency, connections vs max_connections, " +
      "database size, longest running query, slowest statements, replication lag on replicas.",
  );

export const RedisTarget = z
  .strictObject({
    urlSecretRef: SecretKeySelector.describe(
      "Secret key holding the Redis URL (redis:// or rediss://, with password if any).",
    ),
  })
  .describe(
    "Probe a Redis server: PING latency, used vs max memory, clients, evictions, " +
      "keyspace hit ratio, rejected connections.",
  );

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

const HttpHeader = z
  .strictObject({
    name: z.string().min(1).max(256).regex(HEADER_NAME).describe("Header name."),
    value: text(4096, "Header value (not secret; use headersFrom for credentials)."),
  })
  .describe("An HTTP request header.");

const HttpHeaderFromSecret = z
  .strictObject({
    name: z.string().min(1).max(256).regex(HEADER_NAME).describe("Header name."),
    secretKeyRef: SecretKeySelector.describe("Secret key holding the header value."),
  })
  .describe("An HTTP request header whose value comes from a Secret.");

const BodyMatch = withRules(
  z
    .strictObject({
      contains: text(1024, "The body must contain this text.").optional(),
      regex: text(
        1024,
        "The body must match this regular expression somewhere (RE2 syntax, matched in time " +
          "linear in the body; lookarounds and backreferences are rejected).",
      ).optional(),
    })
    .describe("Expected response body; the probe fails when it does not match."),
  [
    {
      rule: "has(self.contains) != has(self.regex)",
      message: "bodyMatch needs exactly one of contains or regex",
      check: (b) => countSet(b, ["contains", "regex"]) === 1,
    },
  ],
);

export const HttpTarget = z
  .strictObject({
    url: z
      .string()
      .min(8)
      .max(2048)
      .regex(/^https?:\/\/[^\s/?#]+[^\s]*$/)
      .describe("URL to request (http or https)."),
    method: z
      .enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
      .default("GET")
      .describe("HTTP method."),
    expectedStatusCodes: z
      .array(z.int().min(100).max(599))
      .max(32)
      .optional()
      .describe(
        "Status codes that count as success. When empty or unset, 200-399 do (like a Kubernetes httpGet probe).",
      ),
    headers: z.array(HttpHeader).max(32).optional().describe("Request headers."),
    headersFrom: z
      .array(HttpHeaderFromSecret)
      .max(16)
      .optional()
      .describe("Request headers whose values come from Secrets (e.g. Authorization)."),
    body: text(16384, "Request body.").optional(),
    bodyMatch: BodyMatch.optional(),
    followRedirects: z.boolean().default(true).describe("Follow 3xx redirects."),
    insecureSkipTLSVerify: z
      .boolean()
      .default(false)
      .describe("Accept any TLS certificate. For development only."),
  })
  .describe("Request a URL: latency, status and error rate.");

export const TcpTarget = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[A-Za-z0-9.:_[\]-]+$/)
      .describe("Host name or IP address."),
    port: z.int().min(1).max(65535).describe("TCP port."),
  })
  .describe("Open a TCP connection: connect latency.");

export const KubernetesTarget = withRules(
  z
    .strictObject({
      kind: z
        .enum(["Deployment", "StatefulSet", "DaemonSet"])
        .describe("Kind of the workload (apps/v1)."),
      name: objectName("Name of the workload.").optional(),
      selector: LabelSelector.optional().describe("Label selector for the workloads."),
      namespace: labelName(
        "Namespace of the workload; defaults to the HealthCheck's namespace.",
      ).optional(),
    })
    .describe("Check workloads: ready vs desired replicas, container restarts."),
  [
    {
      rule: "has(self.name) != has(self.selector)",
      message: "kubernetes target needs exactly one of name or selector",
      check: (t) => countSet(t, ["name", "selector"]) === 1,
    },
  ],
);

export const SystemTarget = withRules(
  z
    .strictObject({
      scope: z
        .enum(["Host", "Nodes", "All"])
        .default("Host")
        .describe(
          "Host: the machine the operator runs on. Nodes: cluster nodes through metrics.k8s.io " +
            "(when served). All: both.",
        ),
      mountPath: z
        .string()
        .max(1024)
        .regex(/^\//)
        .default("/")
        .describe("Mount path whose disk usage is measured on the host."),
      nodeSelector: stringMap(16, "Only nodes carrying all these labels.").optional(),
    })
    .describe("Measure CPU, memory, disk and network usage."),
  [
    {
      rule: "!has(self.nodeSelector) || self.scope != 'Host'",
      message: "nodeSelector needs scope Nodes or All",
      fieldPath: ".nodeSelector",
      check: (s) => s.nodeSelector === undefined || s.scope !== "Host",
    },
  ],
);

export const TARGET_KINDS = ["postgres", "redis", "http", "tcp", "kubernetes", "system"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const HealthCheckTarget = withRules(
  z
    .strictObject({
      postgres: PostgresTarget.optional(),
      redis: RedisTarget.optional(),
      http: HttpTarget.optional(),
      tcp: TcpTarget.optional(),
      kubernetes: KubernetesTarget.optional(),
      system: SystemTarget.optional(),
    })
    .describe("What to probe: exactly one of postgres, redis, http, tcp, kubernetes or system."),
  [
    {
      rule: celExactlyOne(TARGET_KINDS),
      message: "exactly one of postgres, redis, http, tcp, kubernetes or system must be set",
      check: (t) => countSet(t, TARGET_KINDS) === 1,
    },
  ],
);
export type HealthCheckTarget = z.infer<typeof HealthCheckTarget>;

/** Which target kind a target is (the one key that is set). */
export function targetKind(target: HealthCheckTarget): TargetKind | undefined {
  return TARGET_KINDS.find((k) => target[k] !== undefined);
}

// ---------------------------------------------------------------------------
// Thresholds and incidents
// ---------------------------------------------------------------------------

export const Threshold = withRules(
  z
    .strictObject({
      metric: z
        .string()
        .min(1)
        .max(63)
        .regex(/^[a-zA-Z][a-zA-Z0-9_.]*$/)
        .describe(
          "Metric name as reported in status.metrics, e.g. responseTimeMs, queryTimeMs, " +
            "memoryPercent, cpuPercent, diskPercent, errorRatePercent, connectionsPercent, " +
            "replicationLagSeconds, restarts.",
        ),
      target: z
        .number()
        .optional()
        .describe("Desired value (informational; the health score rewards meeting it)."),
      warning: z.number().describe("Value at which the metric turns Warning."),
      critical: z.number().describe("Value at which the metric turns Critical."),
      direction: z
        .enum(["Above", "Below"])
        .default("Above")
        .describe(
          "Above: higher is worse (latency, usage). Below: lower is worse (hit ratio, free space).",
        ),
    })
    .describe("Warning and critical levels of one metric."),
  [
    {
      rule:
        "has(self.direction) && self.direction == 'Below' ? " +
        "self.warning > self.critical : self.warning < self.critical",
      message:
        "warning must be below critical (direction Above) or above critical (direction Below)",
      fieldPath: ".warning",
      check: (t) => (t.direction === "Below" ? t.warning > t.critical : t.warning < t.critical),
    },
    {
      rule:
        "!has(self.target) || (has(self.direction) && self.direction == 'Below' ? " +
        "self.target >= self.warning : self.target <= self.warning)",
      message: "target must not be beyond warning",
      fieldPath: ".target",
      check: (t) =>
        t.target === undefined ||
        (t.direction === "Below" ? t.target >= t.warning : t.target <= t.warning),
    },
  ],
);
export type Threshold = z.infer<typeof Threshold>;

/** The operations guide's KPI table; the defaults when spec.thresholds omits a metric. */
export const KPI_DEFAULTS: readonly (Threshold & { target: number; unit: string })[] = [
  {
    metric: "responseTimeMs",
    target: 200,
    warning: 500,
    critical: 1000,
    direction: "Above",
    unit: "ms",
  },
  {
    metric: "queryTimeMs",
    target: 100,
    warning: 300,
    critical: 500,
    direction: "Above",
    unit: "ms",
  },
  { metric: "memoryPercent", target: 70, warning: 80, critical: 95, direction: "Above", unit: "%" },
  { metric: "cpuPercent", target: 60, warning: 80, critical: 95, direction: "Above", unit: "%" },
  { metric: "diskPercent", target: 70, warning: 80, critical: 95, direction: "Above", unit: "%" },
  { metric: "errorRatePercent", target: 1, warning: 2, critical: 5, direction: "Above", unit: "%" },
];

export const INCIDENT_SEVERITIES = ["critical", "high", "medium", "low"] as const;

export const IncidentPolicy = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Open an Incident when the check turns Critical."),
    severity: z
      .enum(INCIDENT_SEVERITIES)
      .default("high")
      .describe("Severity of the Incident opened."),
    autoResolve: z
      .boolean()
      .default(true)
      .describe("Resolve the Incident when the check is Healthy again."),
  })
  .describe(
    "Incident policy: one open Incident per check (repeats raise its occurrences), " +
      "opened when the check turns Critical.",
  );

// ---------------------------------------------------------------------------
// Spec
// ---------------------------------------------------------------------------

export const HealthCheckSpec = withRules(
  z
    .strictObject({
      interval: duration("How often to probe.").default("30s"),
      timeout: duration("How long a probe may take before it fails; at most interval.").default(
        "5s",
      ),
      failureThreshold: z
        .int()
        .min(1)
        .max(100)
        .default(3)
        .describe("Consecutive failures before the check turns Critical (flap damping)."),
      successThreshold: z
        .int()
        .min(1)
        .max(100)
        .default(2)
        .describe("Consecutive successes before a failing check is Healthy again."),
      suspend: z.boolean().default(false).describe("Stop probing; status is kept."),
      target: HealthCheckTarget,
      thresholds: z
        .array(Threshold)
        .max(32)
        .optional()
        .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["metric"] })
        .describe(
          "Per-metric warning and critical levels. Metrics not listed use the KPI defaults " +
            "(response time 500/1000 ms, query time 300/500 ms, memory 80/95 %, CPU 80/95 %, " +
            "disk 80/95 %, error rate 2/5 %). A probe that fails outright is Critical.",
        ),
      incident: IncidentPolicy.optional(),
    })
    .describe("Desired state of a HealthCheck."),
  [
    {
      rule: "duration(self.timeout) <= duration(self.interval)",
      message: "timeout must not exceed interval",
      fieldPath: ".timeout",
      check: (s) => parseDuration(s.timeout) <= parseDuration(s.interval),
    },
    {
      rule: "duration(self.interval) >= duration('1s')",
      message: "interval must be at least 1s",
      fieldPath: ".interval",
      check: (s) => parseDuration(s.interval) >= 1000,
    },
    {
      rule: "duration(self.timeout) >= duration('100ms')",
      message: "timeout must be at least 100ms",
      fieldPath: ".timeout",
      check: (s) => parseDuration(s.timeout) >= 100,
    },
  ],
);
export type HealthCheckSpec = z.infer<typeof HealthCheckSpec>;
export type HealthCheckSpecInput = z.input<typeof HealthCheckSpec>;

// ---------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------

export const HEALTH_STATES = ["Healthy", "Warning", "Critical", "Unknown"] as const;
export const HealthState = z.enum(HEALTH_STATES);
export type HealthState = z.infer<typeof HealthState>;

const percent = (description: string) => z.number().min(0).max(100).describe(description);

/** HealthCheck condition types besides the common ones (crds/conditions.ts). */
export const HealthCheckCondition = {
  /** The target answers within its thresholds (True also when Warning; False when Critical). */
  Healthy: "Healthy",
} as const;

/** Reasons of the HealthCheck's conditions (CamelCase, stable). */
export const HealthCheckReason = {
  /** Ready/Suspended: the check is in the probe engine and being probed. */
  Probing: "Probing",
  /** Healthy=True: every KPI within its warning threshold. */
  Healthy: "Healthy",
  /** Healthy=True: a KPI past its warning threshold. */
  Degraded: "Degraded",
  /** Healthy=False: the probe fails or a KPI is past its critical threshold. */
  Critical: "Critical",
  /** Healthy=Unknown: no probe result yet. */
  NotProbed: "NotProbed",
  /** Ready=False: the target cannot be built from the spec and its Secrets. */
  InvalidTarget: "InvalidTarget",
} as const;

/** Event reasons of a HealthCheck besides the state changes (stateChangeReason). */
export const HealthCheckEventReason = {
  /**
   * Normal: the check is Critical during a run of a MaintenanceTask that
   * suppresses its Incidents; no Incident opened. Once per run and episode.
   */
  IncidentSuppressed: "IncidentSuppressed",
} as const;

/** Event reason when a check's state changes, e.g. "TurnedCritical". */
export function stateChangeReason(to: HealthState): `Turned${HealthState}` {
  return `Turned${to}`;
}

export const MetricValue = z
  .strictObject({
    name: z.string().min(1).max(63).describe("Metric name, e.g. responseTimeMs."),
    value: z.number().describe("Last measured value."),
    unit: text(16, "Unit, e.g. ms, %, bytes.").optional(),
    state: HealthState.describe("State of this metric against its thresholds."),
    warning: z.number().optional().describe("Warning level applied."),
    critical: z.number().optional().describe("Critical level applied."),
  })
  .describe("One measured metric.");
export type MetricValue = z.infer<typeof MetricValue>;

export const Availability = z
  .strictObject({
    last1h: percent("Percentage of successful probes in the last hour.").optional(),
    last24h: percent("Percentage of successful probes in the last 24 hours.").optional(),
    last7d: percent("Percentage of successful probes in the last 7 days.").optional(),
    last30d: percent("Percentage of successful probes in the last 30 days.").optional(),
  })
  .describe("Availability (percentage of successful probes) over sliding windows.");
export type Availability = z.infer<typeof Availability>;

/** Hourly buckets over 30 days fit: 720. */
export const MAX_AVAILABILITY_BUCKETS = 720;

export const AvailabilityBuckets = z
  .strictObject({
    bucketSeconds: z.int().min(60).max(86400).describe("Width of a bucket in seconds."),
    startTime: timestamp("Start of the first (oldest) bucket."),
    probes: z
      .array(z.int().min(0))
      .max(MAX_AVAILABILITY_BUCKETS)
      .describe("Probes per bucket, oldest first."),
    successes: z
      .array(z.int().min(0))
      .max(MAX_AVAILABILITY_BUCKETS)
      .describe("Successful probes per bucket, aligned with probes."),
  })
  .describe(
    "Compact, bounded probe counts from which availability is computed; survives restarts.",
  );
export type AvailabilityBuckets = z.infer<typeof AvailabilityBuckets>;

export const HealthCheckStatus = z
  .strictObject({
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    target: text(512, "Short description of the target, e.g. postgres/app-db.").optional(),
    state: HealthState.optional().describe("Overall state."),
    message: text(4096, "Human-readable summary of the last probe.").optional(),
    lastProbeTime: timestamp("When the last probe finished.").optional(),
    lastTransitionTime: timestamp("When state last changed.").optional(),
    latencyMs: z.number().min(0).optional().describe("Latency of the last probe in ms."),
    metrics: z.array(MetricValue).max(64).optional().describe("Metrics of the last probe."),
    consecutiveFailures: z.int().min(0).optional().describe("Failed probes in a row."),
    consecutiveSuccesses: z.int().min(0).optional().describe("Successful probes in a row."),
    successCount: z.int().min(0).optional().describe("Successful probes since creation."),
    failureCount: z.int().min(0).optional().describe("Failed probes since creation."),
    lastSuccessTime: timestamp("When a probe last succeeded.").optional(),
    lastFailureTime: timestamp("When a probe last failed.").optional(),
    availability: Availability.optional(),
    availabilityBuckets: AvailabilityBuckets.optional(),
    healthScore: z.int().min(0).max(100).optional().describe("Health score, 0 (worst) to 100."),
    trend: z
      .enum(["improving", "stable", "declining"])
      .optional()
      .describe("Direction of the health score."),
    incidentRef: z
      .strictObject({ name: objectName("Name of the open Incident.") })
      .optional()
      .describe("The open Incident raised by this check, if any."),
    suppressedBy: text(
      512,
      "While Critical during a run of a MaintenanceTask that lists this check in " +
        "suppressIncidentsFor: the run that suppresses its Incident, e.g. " +
        "MaintenanceTask db-upgrade (Job db-upgrade-29000000). Cleared when the suppression ends.",
    ).optional(),
  })
  .describe("Observed state of a HealthCheck.");
export type HealthCheckStatus = z.infer<typeof HealthCheckStatus>;

export const HealthCheckSchema = kubeObject("HealthCheck", HealthCheckSpec, HealthCheckStatus);
export type HealthCheck = z.infer<typeof HealthCheckSchema>;

export const healthCheckDescriptor: KindDescriptor<
  typeof HealthCheckSpec,
  typeof HealthCheckStatus
> = {
  group: API_GROUP,
  version: API_VERSION,
  kind: "HealthCheck",
  listKind: "HealthCheckList",
  plural: "healthchecks",
  singular: "healthcheck",
  shortNames: ["hc"],
  categories: [CATEGORY],
  description:
    "HealthCheck probes a PostgreSQL, Redis, HTTP, TCP, Kubernetes workload or system target " +
    "on an interval, grades its metrics against warning and critical thresholds and can open " +
    "an Incident when it turns Critical.",
  printerColumns: [
    { name: "Target", type: "string", jsonPath: ".status.target", description: "Probed target." },
    { name: "State", type: "string", jsonPath: ".status.state", description: "Overall state." },
    {
      name: "Latency",
      type: "number",
      jsonPath: ".status.latencyMs",
      description: "Latency of the last probe in ms.",
    },
    {
      name: "Score",
      type: "integer",
      jsonPath: ".status.healthScore",
      description: "Health score 0-100.",
    },
    {
      name: "Last Probe",
      type: "date",
      jsonPath: ".status.lastProbeTime",
      description: "When the last probe finished.",
    },
    AGE_COLUMN,
    {
      name: "Message",
      type: "string",
      jsonPath: ".status.message",
      description: "Summary of the last probe.",
      priority: 1,
    },
  ],
  spec: HealthCheckSpec,
  status: HealthCheckStatus,
  rootRules: [],
};
