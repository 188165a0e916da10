// securityScan: audit the pods of namespaces against the Pod Security
// Standards (baseline, or restricted which includes baseline), plus two
// best-practice checks (missing resource limits, secret-looking literal env
// values), and import a vulnerability scanner's JSON report (Trivy) into
// counts by severity. The run fails when a finding at or above
// failOnSeverity exists. Secret values are never reported, only their names.
import type { V1Container, V1Pod, V1Volume } from "@kubernetes/client-node";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { parseConfig } from "./config.ts";
import { coreApi } from "./kube.ts";
import { runTaskBody } from "./result.ts";
import type { Severity, TaskContext, TaskOutcome, TaskResult } from "./types.ts";

/**
 * The CRD's securityScan fields; scannerReport may also give a file `path`
 * (a mounted ConfigMap) instead of reading configMapKeyRef through the API.
 */
export const SecurityScanConfig = z.object({
  namespaces: z.array(z.string().min(1).max(63)).max(64).optional(),
  level: z.enum(["baseline", "restricted"]).default("restricted"),
  scannerReport: z
    .object({
      format: z.enum(["Trivy"]).default("Trivy"),
      configMapKeyRef: z.object({ name: z.string(), key: z.string() }).optional(),
      path: z.string().min(1).optional(),
    })
    .refine((r) => r.configMapKeyRef !== undefined || r.path !== undefined, {
      message: "scannerReport needs configMapKeyRef or path",
    })
    .optional(),
  failOnSeverity: z.enum(["None", "Low", "Medium", "High", "Critical"]).default("Critical"),
});
export type SecurityScanConfig = z.output<typeof SecurityScanConfig>;
export type SecurityScanInput = z.input<typeof SecurityScanConfig>;

export interface PodFinding {
  namespace: string;
  pod: string;
  container?: string;
  check: string;
  severity: Severity;
  message: string;
}

type Level = "baseline" | "restricted";
type AnyContainer = V1Container & { kind: "container" | "initContainer" | "ephemeralContainer" };

/** Capabilities baseline allows to add (PSS). */
const BASELINE_CAPS = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);
const RESTRICTED_VOLUMES = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
];
const SECRET_NAME =
  /pass(word)?|secret|token|api[_-]?key|private[_-]?key|credential|access[_-]?key/i;
const SECRET_VALUE = [
  /AKIA[0-9A-Z]{16}/, // AWS access key id
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\bgh[pousr]_[A-Za-z0-9]{30,}/, // GitHub token
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/, // Slack token
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./, // JWT
  /:\/\/[^/\s:@]+:[^/\s@]+@/, // credentials in a URL
];

function containersOf(pod: V1Pod): AnyContainer[] {
  const spec = pod.spec;
  if (spec === undefined) return [];
  return [
    ...(spec.initContainers ?? []).map((c) => ({ ...c, kind: "initContainer" as const })),
    ...spec.containers.map((c) => ({ ...c, kind: "container" as const })),
    ...(spec.ephemeralContainers ?? []).map((c) => ({
      ...(c as V1Container),
      kind: "ephemeralContainer" as const,
    })),
  ];
}

type Found = Omit<PodFinding, "namespace" | "pod">;

interface Subject {
  pod: V1Pod;
  level: Level;
  c: AnyContainer;
}

const hostNamespaces = (pod: V1Pod): Found[] =>
  (["hostNetwork", "hostPID", "hostIPC"] as const)
    .filter((field) => pod.spec?.[field] === true)
    .map((field) => ({
      check: "hostNamespaces",
      severity: "high",
      message: `${field}: true shares the host's namespace`,
    }));

function volumeFinding(v: V1Volume, level: Level): Found | undefined {
  if (v.hostPath !== undefined) {
    return {
      check: "hostPathVolumes",
      severity: "high",
      message: `volume ${v.name} mounts host path ${v.hostPath.path}`,
    };
  }
  const typed = v as unknown as Record<string, unknown>;
  if (level === "restricted" && !RESTRICTED_VOLUMES.some((t) => typed[t] !== undefined)) {
    return {
      check: "restrictedVolumeTypes",
      severity: "medium",
      message: `volume ${v.name} has a type the restricted level does not allow`,
    };
  }
  return undefined;
}

function podFindings(pod: V1Pod, level: Level): Found[] {
  const out = hostNamespaces(pod);
  for (const v of pod.spec?.volumes ?? []) {
    const f = volumeFinding(v, level);
    if (f !== undefined) out.push(f);
  }
  if (pod.spec?.securityContext?.seccompProfile?.type === "Unconfined") {
    out.push({
      check: "seccompProfile",
      severity: "medium",
      message: "pod seccompProfile is Unconfined",
    });
  }
  return out;
}

function capabilityFinding(cap: string, level: Level): Found | undefined {
  const name = cap.replace(/^CAP_/, "").toUpperCase();
  if (!BASELINE_CAPS.has(name)) {
    const severity = name === "SYS_ADMIN" || name === "ALL" ? "critical" : "high";
    return { check: "capabilities", severity, message: `adds capability ${name}` };
  }
  if (level === "restricted" && name !== "NET_BIND_SERVICE") {
    return {
      check: "capabilities",
      severity: "medium",
      message: `adds capability ${name} (restricted allows only NET_BIND_SERVICE)`,
    };
  }
  return undefined;
}

function capabilities({ c, level }: Subject): (Found | undefined)[] {
  const caps = c.securityContext?.capabilities;
  const out = (caps?.add ?? []).map((cap) => capabilityFinding(cap, level));
  const drop = (caps?.drop ?? []).map((d) => d.toUpperCase());
  if (level === "restricted" && !drop.includes("ALL")) {
    out.push({ check: "capabilities", severity: "low", message: "does not drop ALL capabilities" });
  }
  return out;
}

function privileged({ c }: Subject): Found | undefined {
  if (c.securityContext?.privileged !== true) return undefined;
  return { check: "privileged", severity: "critical", message: "runs privileged" };
}

function hostPorts({ c }: Subject): Found[] {
  return (c.ports ?? [])
    .filter((p) => p.hostPort !== undefined && p.hostPort !== 0)
    .map((p) => ({
      check: "hostPorts",
      severity: "medium",
      message: `uses host port ${p.hostPort}`,
    }));
}

function procMount({ c }: Subject): Found | undefined {
  const mount = c.securityContext?.procMount;
  if (mount === undefined || mount === "Default") return undefined;
  return { check: "procMount", severity: "medium", message: `procMount ${mount}` };
}

function seccompType(s: { seccompProfile?: { type?: string } } | undefined): string | undefined {
  return s?.seccompProfile?.type;
}

function seccomp({ c, pod, level }: Subject): Found | undefined {
  const own = seccompType(c.securityContext);
  if (own === "Unconfined") {
    return { check: "seccompProfile", severity: "medium", message: "seccompProfile is Unconfined" };
  }
  const effective = own ?? seccompType(pod.spec?.securityContext);
  if (level !== "restricted" || effective === "RuntimeDefault" || effective === "Localhost") {
    return undefined;
  }
  return {
    check: "seccompProfile",
    severity: "low",
    message: "seccompProfile is not RuntimeDefault or Localhost",
  };
}

function privilegeEscalation({ c, level }: Subject): Found | undefined {
  if (level !== "restricted" || c.securityContext?.allowPrivilegeEscalation === false)
    return undefined;
  return {
    check: "allowPrivilegeEscalation",
    severity: "medium",
    message: "allowPrivilegeEscalation is not false",
  };
}

function effectiveUser({ c, pod }: Subject): { user?: number; nonRoot?: boolean } {
  const own = c.securityContext ?? {};
  const podContext = pod.spec?.securityContext ?? {};
  return {
    ...(podContext.runAsUser !== undefined ? { user: podContext.runAsUser } : {}),
    ...(podContext.runAsNonRoot !== undefined ? { nonRoot: podContext.runAsNonRoot } : {}),
    ...(own.runAsUser !== undefined ? { user: own.runAsUser } : {}),
    ...(own.runAsNonRoot !== undefined ? { nonRoot: own.runAsNonRoot } : {}),
  };
}

function runAsRoot(subject: Subject): Found | undefined {
  const { user, nonRoot } = effectiveUser(subject);
  const level = subject.level;
  if (user === 0 || nonRoot === false) {
    return {
      check: "runAsNonRoot",
      severity: "high",
      message: "runs as root (runAsUser 0 or runAsNonRoot false)",
    };
  }
  if (level === "restricted" && nonRoot !== true) {
    return {
      check: "runAsNonRoot",
      severity: "medium",
      message: "runAsNonRoot is not set: the image may run as root",
    };
  }
  return undefined;
}

function resourceLimits({ c }: Subject): Found | undefined {
  if (c.kind !== "container") return undefined;
  const limits = c.resources?.limits ?? {};
  const missing = ["cpu", "memory"].filter((r) => limits[r] === undefined);
  if (missing.length === 0) return undefined;
  return { check: "resourceLimits", severity: "low", message: `no ${missing.join(" and ")} limit` };
}

/** Whether a literal env value looks like a secret (by its name or its shape). */
export function looksLikeSecret(name: string, value: string): boolean {
  if (value === "") return false;
  return SECRET_VALUE.some((re) => re.test(value)) || (SECRET_NAME.test(name) && value.length >= 6);
}

function plaintextSecrets({ c }: Subject): Found[] {
  return (c.env ?? [])
    .filter((e) => e.value !== undefined && looksLikeSecret(e.name, e.value))
    .map((e) => ({
      check: "plaintextSecretEnv",
      severity: "high",
      message: `env ${e.name} holds a literal value that looks like a secret: use valueFrom.secretKeyRef`,
    }));
}

type ContainerCheck = (s: Subject) => Found | undefined | (Found | undefined)[];

const CONTAINER_CHECKS: readonly ContainerCheck[] = [
  privileged,
  hostPorts,
  procMount,
  seccomp,
  capabilities,
  runAsRoot,
  privilegeEscalation,
  resourceLimits,
  plaintextSecrets,
];

/** Findings of one pod against a Pod Security Standards level (pure). */
export function auditPod(pod: V1Pod, level: Level): PodFinding[] {
  const where = { namespace: pod.metadata?.namespace ?? "", pod: pod.metadata?.name ?? "" };
  const out: PodFinding[] = podFindings(pod, level).map((f) => ({ ...where, ...f }));
  for (const c of containersOf(pod)) {
    const found = CONTAINER_CHECKS.flatMap((check) => check({ pod, level, c }));
    for (const f of found) if (f !== undefined) out.push({ ...where, container: c.name, ...f });
  }
  return out;
}

export interface VulnerabilityCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
  total: number;
}

export interface ScannerImport {
  artifact?: string;
  vulnerabilities: VulnerabilityCounts;
  misconfigurations: VulnerabilityCounts;
  /** The most severe vulnerability IDs (deduplicated), for the summary. */
  top: { id: string; severity: string; pkg?: string; target?: string }[];
}

function emptyCounts(): VulnerabilityCounts {
  return { critical: 0, high: 0, medium: 0, low: 0, unknown: 0, total: 0 };
}

const COUNTED = ["critical", "high", "medium", "low"] as const;

function countSeverity(counts: VulnerabilityCounts, severity: string | undefined): void {
  const key = (severity ?? "UNKNOWN").toLowerCase();
  const k = COUNTED.find((s) => s === key) ?? "unknown";
  counts[k]++;
  counts.total++;
}

type TrivyItem = { VulnerabilityID?: string; Severity?: string; PkgName?: string };
type TrivyResult = {
  Target?: string;
  Vulnerabilities?: TrivyItem[] | null;
  Misconfigurations?: TrivyItem[] | null;
};
type TrivyReport = { ArtifactName?: string; Results?: TrivyResult[] | null };

const RANK: Readonly<Record<string, number>> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3 };

function parseTrivy(json: string | object): TrivyReport {
  const report = (typeof json === "string" ? JSON.parse(json) : json) as unknown;
  const results = (report as TrivyReport | null)?.Results;
  if (
    report === null ||
    typeof report !== "object" ||
    !(results == null || Array.isArray(results))
  ) {
    throw new Error("not a Trivy JSON report: expected an object with a Results list");
  }
  return report;
}

function noteTop(
  out: ScannerImport,
  v: TrivyItem,
  target: string | undefined,
  seen: Set<string>,
): void {
  const id = v.VulnerabilityID ?? "?";
  if (seen.has(id) || (v.Severity !== "CRITICAL" && v.Severity !== "HIGH")) return;
  seen.add(id);
  out.top.push({
    id,
    severity: v.Severity,
    ...(v.PkgName ? { pkg: v.PkgName } : {}),
    ...(target ? { target } : {}),
  });
}

function importResult(out: ScannerImport, r: TrivyResult, seen: Set<string>): void {
  for (const v of r.Vulnerabilities ?? []) {
    countSeverity(out.vulnerabilities, v.Severity);
    noteTop(out, v, r.Target, seen);
  }
  for (const m of r.Misconfigurations ?? []) countSeverity(out.misconfigurations, m.Severity);
}

/** Counts of a Trivy JSON report (Results[].Vulnerabilities[].Severity) by severity. */
export function importTrivyReport(json: string | object): ScannerImport {
  const report = parseTrivy(json);
  const out: ScannerImport = {
    vulnerabilities: emptyCounts(),
    misconfigurations: emptyCounts(),
    top: [],
  };
  if (report.ArtifactName !== undefined) out.artifact = report.ArtifactName;
  const seen = new Set<string>();
  for (const r of report.Results ?? []) importResult(out, r, seen);
  out.top.sort((a, b) => (RANK[a.severity] ?? 9) - (RANK[b.severity] ?? 9));
  return out;
}

async function listPods(
  ctx: TaskContext,
  namespaces: readonly string[] | undefined,
): Promise<V1Pod[]> {
  const core = await coreApi(ctx);
  if (namespaces === undefined || namespaces.length === 0)
    return (await core.listPodForAllNamespaces()).items;
  const pods: V1Pod[] = [];
  for (const namespace of namespaces)
    pods.push(...(await core.listNamespacedPod({ namespace })).items);
  return pods;
}

async function readReport(
  ctx: TaskContext,
  report: NonNullable<SecurityScanConfig["scannerReport"]>,
): Promise<string> {
  if (report.path !== undefined) return readFile(report.path, "utf8");
  const ref = report.configMapKeyRef!;
  const namespace = ctx.namespace ?? process.env.POD_NAMESPACE;
  if (namespace === undefined)
    throw new Error("cannot read the scanner report ConfigMap: namespace unknown (POD_NAMESPACE)");
  const cm = await (await coreApi(ctx)).readNamespacedConfigMap({ name: ref.name, namespace });
  const text = cm.data?.[ref.key];
  if (text === undefined) throw new Error(`ConfigMap ${ref.name} has no key ${ref.key}`);
  return text;
}

const FAIL_RANK: Readonly<Record<SecurityScanConfig["failOnSeverity"], number>> = {
  None: 99,
  Low: 1,
  Medium: 2,
  High: 3,
  Critical: 4,
};
const SEVERITY_RANK: Readonly<Record<Severity, number>> = {
  info: 0,
  low: 1,
  medium: 2,
  high: 3,
  critical: 4,
};

function countFindings(findings: readonly PodFinding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { info: 0, low: 0, medium: 0, high: 0, critical: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

function maxRank(findings: readonly PodFinding[], scan: ScannerImport | undefined): number {
  let rank = Math.max(0, ...findings.map((f) => SEVERITY_RANK[f.severity]));
  const v = scan?.vulnerabilities;
  if (v !== undefined) {
    const vr = v.critical > 0 ? 4 : v.high > 0 ? 3 : v.medium > 0 ? 2 : v.low > 0 ? 1 : 0;
    rank = Math.max(rank, vr);
  }
  return rank;
}

function outcomeOf(
  config: SecurityScanConfig,
  pods: number,
  findings: PodFinding[],
  scan: ScannerImport | undefined,
): TaskOutcome {
  const counts = countFindings(findings);
  const failed = maxRank(findings, scan) >= FAIL_RANK[config.failOnSeverity];
  const v = scan?.vulnerabilities;
  const vulnText = v
    ? `; vulnerabilities ${v.critical} critical, ${v.high} high, ${v.medium} medium, ${v.low} low`
    : "";
  const byCheck: Record<string, number> = {};
  for (const f of findings) byCheck[f.check] = (byCheck[f.check] ?? 0) + 1;
  findings.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
  return {
    result: failed ? "Failed" : "Succeeded",
    summary: `${pods} pod(s) audited against ${config.level}: ${findings.length} finding(s) (${counts.critical} critical, ${counts.high} high, ${counts.medium} medium, ${counts.low} low)${vulnText}`,
    details: {
      podsAudited: pods,
      level: config.level,
      findingsCritical: counts.critical,
      findingsHigh: counts.high,
      findingsMedium: counts.medium,
      findingsLow: counts.low,
      ...(v
        ? {
            vulnerabilitiesCritical: v.critical,
            vulnerabilitiesHigh: v.high,
            vulnerabilitiesMedium: v.medium,
            vulnerabilitiesLow: v.low,
            vulnerabilitiesUnknown: v.unknown,
          }
        : {}),
    },
    data: { byCheck, ...(scan ? { scanner: scan } : {}), findings },
    ...(failed ? { error: `findings at or above ${config.failOnSeverity}` } : {}),
  };
}

export async function runSecurityScan(
  input: SecurityScanInput,
  ctx: TaskContext = {},
): Promise<TaskResult> {
  return runTaskBody("securityScan", ctx.now, async () => {
    const config = parseConfig("securityScan", SecurityScanConfig, input);
    const pods = await listPods(ctx, config.namespaces);
    const findings = pods.flatMap((p) => auditPod(p, config.level));
    const scan =
      config.scannerReport === undefined
        ? undefined
        : importTrivyReport(await readReport(ctx, config.scannerReport));
    return outcomeOf(config, pods.length, findings, scan);
  });
}
