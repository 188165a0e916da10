// Writing status the CloudNativePG way: read the object fresh from the API
// server (never from the informer cache), apply mutators to a copy of its
// status, skip the write when nothing changed, and write the /status
// subresource with the object's resourceVersion as a precondition. A 409
// Conflict (someone wrote in between) re-reads and re-applies, a bounded
// number of times.
import { isConflict } from "./errors.ts";
import type { KindDescriptor, KubeClient, KubeObject } from "./kube.ts";

/** Changes a status in place (or returns a replacement). `obj` is the fresh object. */
export type StatusMutator<S, T extends KubeObject = KubeObject> = (
  status: S,
  obj: Readonly<T>,
) => S | void;

export interface StatusRef {
  kind: KindDescriptor;
  namespace?: string;
  name: string;
}

export interface UpdateStatusOptions {
  /** Attempts on 409 Conflict before giving up (the error is thrown). Default 5. */
  maxAttempts?: number;
  fieldManager?: string;
}

export interface UpdateStatusResult<T> {
  /** False when the mutators changed nothing and no write was sent. */
  updated: boolean;
  /** The object as last read or written. */
  object: T;
  attempts: number;
}

/** Structural equality of JSON values (key order ignored; undefined properties ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) return arraysEqual(a, b);
  const ka = definedKeys(a as Record<string, unknown>);
  const kb = definedKeys(b as Record<string, unknown>);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

function arraysEqual(a: object, b: object): boolean {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((v, i) => deepEqual(v, b[i]));
}

function definedKeys(o: Record<string, unknown>): string[] {
  return Object.keys(o).filter((k) => o[k] !== undefined);
}

/** Applies mutators to a copy of obj.status; pure. */
export function computeStatus<S, T extends KubeObject>(
  obj: T,
  mutators: Array<StatusMutator<S, T>>,
): { status: S; changed: boolean } {
  const before = (obj.status ?? {}) as S;
  let status = structuredClone(before);
  for (const mutate of mutators) {
    const replaced = mutate(status, obj);
    if (replaced !== undefined) status = replaced;
  }
  return { status, changed: !deepEqual(before, status) };
}

/**
 * Reads the object, applies `mutate`, and writes /status only if it changed.
 * Throws the API error on anything but a retriable 409 (e.g. NotFound).
 */
export async function updateStatus<T extends KubeObject, S = Record<string, unknown>>(
  client: KubeClient,
  ref: StatusRef,
  mutate: StatusMutator<S, T> | Array<StatusMutator<S, T>>,
  opts: UpdateStatusOptions = {},
): Promise<UpdateStatusResult<T>> {
  const mutators = Array.isArray(mutate) ? mutate : [mutate];
  const maxAttempts = opts.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const fresh = await client.get<T>(ref.kind, ref);
    const { status, changed } = computeStatus(fresh, mutators);
    if (!changed) return { updated: false, object: fresh, attempts: attempt };
    try {
      // PUT carries metadata.resourceVersion: the server answers 409 if the
      // object changed since the read. Only .status is taken from the body.
      const written = await client.replace<T>(
        ref.kind,
        { ...fresh, status },
        {
          subresource: "status",
          fieldManager: opts.fieldManager,
        },
      );
      return { updated: true, object: written, attempts: attempt };
    } catch (err) {
      if (!isConflict(err) || attempt >= maxAttempts) throw err;
    }
  }
}

export interface CachedStatusWrite<T extends KubeObject> {
  kind: KindDescriptor;
  /** The object as the reconcile read it (from the informer cache). */
  cached: T;
}

/**
 * Applies mutators to the cached object's status and, when that changes it,
 * writes it guarded by the cached resourceVersion: no read in the common
 * case. On 409 (the cache was stale) it falls back to updateStatus, which
 * re-reads and re-applies the same mutators. Returns whether it wrote.
 */
export async function writeStatusFromCache<T extends KubeObject, S>(
  client: KubeClient,
  write: CachedStatusWrite<T>,
  mutators: Array<StatusMutator<S, T>>,
): Promise<boolean> {
  const { cached, kind } = write;
  const computed = computeStatus(cached, mutators);
  if (!computed.changed) return false;
  const ref = { kind, namespace: cached.metadata.namespace, name: cached.metadata.name ?? "" };
  if (cached.metadata.resourceVersion) {
    try {
      await client.replace(kind, { ...cached, status: computed.status }, { subresource: "status" });
      return true;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  const result = await updateStatus<T, S>(client, ref, mutators);
  return result.updated;
}
