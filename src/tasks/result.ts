// Task results: timing, secret redaction, the 4 KiB bound of the
// termination message, and writing it.
import { writeFile } from "node:fs/promises";
import { redactText } from "../lib/redact.ts";
import { log } from "../runtime/log.ts";
import type { TaskName, TaskOutcome, TaskResult } from "./types.ts";

/** Kubernetes keeps at most 4096 bytes of a termination message. */
export const MAX_RESULT_BYTES = 4096;
export const DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log";
export const TERMINATION_MESSAGE_PATH_ENV = "PAKE_TERMINATION_MESSAGE_PATH";

const MAX_DETAILS = 32;
const MAX_SUMMARY = 512;

function bytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function detailsOf(details: TaskOutcome["details"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(details).slice(0, MAX_DETAILS)) {
    out[clip(k, 63)] = clip(String(v), 256);
  }
  return out;
}

/** Builds the result of a run from its outcome and start time, fitted to 4 KiB. */
export function completeResult(
  task: TaskName,
  started: Date,
  outcome: TaskOutcome,
  now: () => Date = () => new Date(),
): TaskResult {
  const ended = now();
  const result: TaskResult = {
    task,
    result: outcome.result ?? (outcome.error === undefined ? "Succeeded" : "Failed"),
    summary: clip(redactText(outcome.summary), MAX_SUMMARY),
    details: detailsOf(outcome.details),
    startTime: started.toISOString(),
    endTime: ended.toISOString(),
    durationMs: ended.getTime() - started.getTime(),
  };
  if (outcome.error !== undefined) result.error = clip(redactText(outcome.error), 1024);
  if (outcome.data !== undefined) result.data = structuredClone(outcome.data);
  if (outcome.severity !== undefined) result.severity = outcome.severity;
  return fitResult(result);
}

interface ListRef {
  path: string;
  list: unknown[];
}

/** Arrays under data, down to three levels (data.x, data.x.y, data.x[i].y). */
function listsOf(value: unknown, path: string, depth: number, out: ListRef[]): ListRef[] {
  if (depth > 3 || value === null || typeof value !== "object") return out;
  if (Array.isArray(value)) {
    out.push({ path, list: value });
    value.forEach((v, i) => listsOf(v, `${path}[${i}]`, depth + 1, out));
    return out;
  }
  for (const [k, v] of Object.entries(value)) listsOf(v, `${path}.${k}`, depth + 1, out);
  return out;
}

function largestList(result: TaskResult): ListRef | undefined {
  let best: ListRef | undefined;
  let bestBytes = 0;
  for (const ref of listsOf(result.data, "data", 0, [])) {
    if (ref.list.length === 0) continue;
    const size = bytes(ref.list);
    if (size > bestBytes) {
      best = ref;
      bestBytes = size;
    }
  }
  return best;
}

function cutLargestList(result: TaskResult, excess: number): boolean {
  const ref = largestList(result);
  if (ref === undefined) return false;
  const perItem = bytes(ref.list) / ref.list.length;
  const drop = Math.min(ref.list.length, Math.ceil(excess / perItem) + 1);
  ref.list.splice(ref.list.length - drop, drop);
  result.truncated ??= {};
  result.truncated[ref.path] = (result.truncated[ref.path] ?? 0) + drop;
  return true;
}

/** Drops data but for capacityCheck's data.sample (the input to its next run). */
function dropData(result: TaskResult): void {
  const sample = result.task === "capacityCheck" ? result.data?.sample : undefined;
  delete result.data;
  result.truncated = { ...result.truncated, data: 1 };
  if (sample !== undefined) result.data = { sample };
}

/**
 * Cuts the result until its JSON is at most `maxBytes` bytes: the largest
 * lists under data lose entries from the end first (their dropped counts go to
 * `truncated`), then data goes (but for capacityCheck's data.sample), then
 * details are shortened, and last the sample goes too.
 */
export function fitResult(result: TaskResult, maxBytes = MAX_RESULT_BYTES): TaskResult {
  for (let i = 0; i < 200 && bytes(result) > maxBytes; i++) {
    if (!cutLargestList(result, bytes(result) - maxBytes)) break;
  }
  if (bytes(result) > maxBytes && result.data !== undefined) dropData(result);
  if (bytes(result) > maxBytes) {
    result.details = Object.fromEntries(
      Object.entries(result.details)
        .slice(0, 8)
        .map(([k, v]) => [k, clip(v, 64)]),
    );
    result.summary = clip(result.summary, 256);
    if (result.error !== undefined) result.error = clip(result.error, 256);
  }
  if (bytes(result) > maxBytes) delete result.data;
  return result;
}

/**
 * Writes the result as the container's termination message. The path is the
 * argument, else $PAKE_TERMINATION_MESSAGE_PATH, else /dev/termination-log.
 * A failure to write is logged, not thrown: the exit code still tells.
 */
export async function writeTerminationMessage(
  result: TaskResult,
  path?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<string> {
  const target = path ?? env[TERMINATION_MESSAGE_PATH_ENV] ?? DEFAULT_TERMINATION_MESSAGE_PATH;
  const json = JSON.stringify(fitResult(result));
  try {
    await writeFile(target, json);
  } catch (err) {
    log.warn({ path: target, err: (err as Error).message }, "Failed to write termination message");
  }
  return json;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs a runner body with timing and error capture: a thrown error is a Failed result. */
export async function runTaskBody(
  task: TaskName,
  now: (() => Date) | undefined,
  body: () => Promise<TaskOutcome>,
): Promise<TaskResult> {
  const clock = now ?? (() => new Date());
  const started = clock();
  let outcome: TaskOutcome;
  try {
    outcome = await body();
  } catch (err) {
    const message = messageOf(err);
    outcome = {
      result: "Failed",
      summary: `${task} failed: ${message}`,
      details: {},
      error: message,
    };
  }
  return completeResult(task, started, outcome, clock);
}
