// Objects read through client-node's typed APIs carry `Date` timestamps; objects
// from a watch (and from the project's JSON client) carry RFC 3339 strings. The
// informer cache and handlers must see one shape, so everything entering the
// cache goes through `normalizeObject`: dates become the API server's string
// form and apiVersion/kind are filled in (list items omit them).
import { apiVersionOf, type KindDescriptor, type KubeObject } from "./kube.ts";

/** RFC 3339 as the API server writes metav1.Time: whole seconds, "Z". */
export function formatTime(value: Date | number): string {
  const iso = new Date(value).toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
}

/** Deep copy with every Date replaced by its RFC 3339 string. */
export function normalizeDates(value: unknown): unknown {
  if (value instanceof Date) return formatTime(value);
  if (Array.isArray(value)) return value.map(normalizeDates);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = normalizeDates(v);
    }
    return out;
  }
  return value;
}

/** The form in which an object is cached and handed to handlers. */
export function normalizeObject<T extends KubeObject>(obj: T, kind: KindDescriptor): T {
  const copy = normalizeDates(obj) as T;
  copy.apiVersion ??= apiVersionOf(kind);
  copy.kind ??= kind.kind;
  copy.metadata ??= {};
  return copy;
}
