// Deterministic Job names: one name per scheduled slot (so that a restarted
// or duplicated controller never runs a slot twice: the second create fails
// with AlreadyExists), and one per run-now token.
import { sha256Hex } from "../lib/hash.ts";

/** Longest DNS-1123 label (Job names must also be valid label values). */
export const MAX_NAME_LENGTH = 63;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsLabel(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && DNS_LABEL.test(name);
}

/**
 * `<base>-<suffix>`, a valid DNS-1123 label. When the task name is too long or
 * not itself a label (dots, upper case), the base is cut and followed by a hash
 * of the full task name, so different tasks never share a name.
 */
function withSuffix(task: string, suffix: string): string {
  const plain = `${task}-${suffix}`;
  if (isDnsLabel(plain)) return plain;
  const hash = sha256Hex(task, 8);
  const room = MAX_NAME_LENGTH - suffix.length - hash.length - 2;
  const base = task
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, Math.max(0, room))
    .replace(/^-+|-+$/g, "");
  return base === "" ? `${hash}-${suffix}` : `${base}-${hash}-${suffix}`;
}

/** `<task>-<minutes since the epoch of the slot>`, as the CronJob controller names Jobs. */
export function scheduledJobName(task: string, slot: Date): string {
  return withSuffix(task, String(Math.floor(slot.getTime() / 60_000)));
}

/** The Job of one run-now request (annotation value or CLI token): same token, same name. */
export function runNowJobName(task: string, token: string): string {
  return withSuffix(task, `now-${sha256Hex(token, 10)}`);
}

/** The Job of a task without a schedule (it runs once). */
export function onceJobName(task: string): string {
  return withSuffix(task, "once");
}

/** The Job of one piece of work keyed by a value (e.g. verifying backup <id>): same key, same name. */
export function keyedJobName(owner: string, work: string, key: string): string {
  return withSuffix(owner, `${work}-${sha256Hex(key, 10)}`);
}
