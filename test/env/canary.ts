// The secret canary (issue 11): every Secret the tests create holds a value
// with a fixed marker (the PostgreSQL password of test/env is one), and after
// the integration run the operators' and runners' logs, their final /metrics
// and /health/detailed snapshots, all Events, the status of every PAKE object
// and the Job pods' termination messages are searched for the marker. A hit is
// a secret that leaked; it is reported by location with the value masked.
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { runKubectl } from "./credentials.ts";

/** The fixed part of every canary value; what the scan searches for. */
export const CANARY_MARKER = "pakecanary";

/** Where the canary test leaves its result in the run directory (the teardown then does not scan again). */
export const CANARY_REPORT_FILE = "canary-report.json";

/** A fresh canary value: the marker and random hex, usable as a password or token. */
export function canaryValue(): string {
  return `${CANARY_MARKER}${randomBytes(8).toString("hex")}`;
}

export interface CanaryHit {
  /** The file (relative to the run directory) or the object and field. */
  location: string;
  /** A few characters around the hit, the canary masked. */
  context: string;
}

export interface CanaryScan {
  /** Files and object fields searched. */
  places: number;
  bytes: number;
  hits: CanaryHit[];
}

const CANARY_PATTERN = new RegExp(`${CANARY_MARKER}[0-9a-zA-Z]*`, "g");
const CONTEXT_CHARS = 40;

function masked(text: string): string {
  return text.replace(CANARY_PATTERN, "<canary>").replace(/\s+/g, " ");
}

/** The hits of the marker in one text, each with its location and masked context. */
export function scanText(location: string, text: string): CanaryHit[] {
  const hits: CanaryHit[] = [];
  for (const match of text.matchAll(CANARY_PATTERN)) {
    const start = Math.max(0, match.index - CONTEXT_CHARS);
    const end = match.index + match[0].length + CONTEXT_CHARS;
    hits.push({ location, context: masked(text.slice(start, end)) });
  }
  return hits;
}

function emptyScan(): CanaryScan {
  return { places: 0, bytes: 0, hits: [] };
}

function addText(scan: CanaryScan, location: string, text: string): void {
  scan.places += 1;
  scan.bytes += Buffer.byteLength(text);
  scan.hits.push(...scanText(location, text));
}

/** Logs of the parts the tests start around the operator: not the operator's output. */
const INFRASTRUCTURE_LOGS = new Set([
  "etcd.log",
  "kube-apiserver.log",
  "kube-controller-manager.log",
  "postgres.log",
  "redis.log",
  "alertmanager.log",
]);

/** Operator and runner logs, runner termination files, final endpoint snapshots. */
export function isScannedFile(name: string): boolean {
  if (INFRASTRUCTURE_LOGS.has(name)) return false;
  return /\.(log|termination-log)$/.test(name) || /\.final-(metrics|health)\.txt$/.test(name);
}

function scannedFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && isScannedFile(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Searches every operator/runner log, termination file and endpoint snapshot under runDir. */
export function scanRunFiles(runDir: string): CanaryScan {
  const scan = emptyScan();
  for (const file of scannedFiles(runDir)) {
    addText(scan, relative(runDir, file), readFileSync(file, "utf8"));
  }
  return scan;
}

interface ListedObject {
  kind?: string;
  metadata?: { namespace?: string; name?: string };
  status?: {
    message?: string;
    containerStatuses?: Array<{ state?: { terminated?: { message?: string } } }>;
  };
}

function objectName(item: ListedObject): string {
  const { namespace, name } = item.metadata ?? {};
  return `${item.kind ?? "?"} ${namespace ? `${namespace}/` : ""}${name ?? "?"}`;
}

/** The texts of one object the scan covers: a whole Event, a pod's termination messages, else the status. */
function fieldsOf(item: ListedObject): Array<[string, string]> {
  if (item.kind === "Event") return [["", JSON.stringify(item)]];
  if (item.kind === "Pod") {
    return (item.status?.containerStatuses ?? []).map((c, i) => [
      `.status.containerStatuses[${i}].state.terminated.message`,
      c.state?.terminated?.message ?? "",
    ]);
  }
  return [[".status", JSON.stringify(item.status ?? {})]];
}

/** Searches the items of one `kubectl get -o json` list (Events, Pods, PAKE objects). */
export function scanObjectList(listJson: string): CanaryScan {
  const scan = emptyScan();
  const list = JSON.parse(listJson) as { items?: ListedObject[] };
  for (const item of list.items ?? []) {
    for (const [field, text] of fieldsOf(item)) addText(scan, `${objectName(item)}${field}`, text);
  }
  return scan;
}

/** What the scan reads from the shared API server. */
export const SCANNED_RESOURCES = [
  "events",
  "pods",
  "healthchecks",
  "maintenancetasks",
  "backuppolicies",
  "incidents",
];

function merge(into: CanaryScan, scan: CanaryScan): void {
  into.places += scan.places;
  into.bytes += scan.bytes;
  into.hits.push(...scan.hits);
}

/** Searches Events, pods' termination messages and PAKE objects' status in the cluster. */
export async function scanCluster(kubeconfigPath: string): Promise<CanaryScan> {
  const scan = emptyScan();
  for (const resource of SCANNED_RESOURCES) {
    const res = await runKubectl(kubeconfigPath, ["get", resource, "-A", "-o", "json"]);
    // A kind whose CRD no file installed has no objects to search.
    if (res.code !== 0 && res.stderr.includes("doesn't have a resource type")) continue;
    if (res.code !== 0) throw new Error(`kubectl get ${resource} failed: ${res.stderr.trim()}`);
    merge(scan, scanObjectList(res.stdout));
  }
  return scan;
}

/** The whole scan of one integration run: its files, then the shared cluster. */
export async function scanRun(runDir: string, kubeconfigPath: string): Promise<CanaryScan> {
  const scan = scanRunFiles(runDir);
  merge(scan, await scanCluster(kubeconfigPath));
  return scan;
}

/** One line of figures and one line per hit (location and masked context, never the value). */
export function describeScan(scan: CanaryScan): string {
  const summary = `Secret canary: ${scan.places} places, ${scan.bytes} bytes searched, ${scan.hits.length} hits`;
  return [summary, ...scan.hits.map((h) => `  ${h.location}: …${h.context}…`)].join("\n");
}

export function writeScanReport(runDir: string, scan: CanaryScan): void {
  writeFileSync(join(runDir, CANARY_REPORT_FILE), JSON.stringify(scan));
}

export function scanReportExists(runDir: string): boolean {
  return existsSync(join(runDir, CANARY_REPORT_FILE));
}

/**
 * For the global teardown: scans unless the canary test of this run already
 * did (without it, e.g. `--project integration`); the failure to report, if any.
 */
export async function teardownCanaryScan(
  runDir: string,
  kubeconfigPath: string,
): Promise<string | undefined> {
  if (scanReportExists(runDir)) return undefined;
  try {
    const scan = await scanRun(runDir, kubeconfigPath);
    console.log(describeScan(scan));
    return scan.hits.length > 0 ? describeScan(scan) : undefined;
  } catch (error) {
    return `Secret canary scan failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}
