// A small JSON client for any Kubernetes kind, built on client-node 2.x's
// request plumbing (KubeConfig authentication, its undici fetch).
//
// Why not KubernetesObjectApi: it round-trips bodies through the typed
// ObjectSerializer (Dates in, unknown fields dropped for built-in kinds), sends
// strategic merge patch by default, and needs discovery to map kinds to paths.
// Here the caller names the resource (group, version, plural), bodies are plain
// JSON, timestamps stay RFC 3339 strings (exactly as in watch events), and the
// patch Content-Type is always explicit.
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
  type KubeConfig,
} from "@kubernetes/client-node";
import type { KindDescriptor } from "../lib/kinds.ts";
import { KubeApiError, type KubeStatus } from "./errors.ts";

// The type lives in lib/ so that crds/ can extend it without importing runtime/.
export type { KindDescriptor };

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any Kubernetes object as plain JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export interface ObjectRef {
  namespace?: string;
  name: string;
}

export const PatchType = {
  Merge: "application/merge-patch+json",
  Json: "application/json-patch+json",
  StrategicMerge: "application/strategic-merge-patch+json",
  Apply: "application/apply-patch+yaml",
} as const;
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

export interface ListOptions {
  /** Omit for all namespaces (or for cluster-scoped kinds). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
}

export interface WriteOptions {
  subresource?: string;
  fieldManager?: string;
}

export interface PatchOptions extends WriteOptions {
  /** Content-Type of the patch; default merge patch. */
  type?: PatchType;
  force?: boolean;
}

export interface RawRequest {
  method: HttpMethod;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

/** Observes every request (tests count writes with it). */
export type RequestObserver = (req: { method: string; path: string; statusCode: number }) => void;

export function apiVersionOf(kind: KindDescriptor): string {
  return kind.group ? `${kind.group}/${kind.version}` : kind.version;
}

/** The collection path, e.g. /api/v1/namespaces/ns/configmaps. */
export function collectionPath(kind: KindDescriptor, namespace?: string): string {
  const root = kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`;
  const ns =
    kind.namespaced !== false && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${root}${ns}/${kind.plural}`;
}

export function objectPath(kind: KindDescriptor, ref: ObjectRef, subresource?: string): string {
  const base = `${collectionPath(kind, ref.namespace)}/${encodeURIComponent(ref.name)}`;
  return subresource ? `${base}/${subresource}` : base;
}

/** "namespace/name" for namespaced objects, "name" for cluster-scoped ones. */
export function objectKey(
  obj: { metadata?: { namespace?: string; name?: string } } | ObjectRef,
): string {
  const meta = "metadata" in obj ? (obj.metadata ?? {}) : (obj as ObjectRef);
  return meta.namespace ? `${meta.namespace}/${meta.name ?? ""}` : (meta.name ?? "");
}

export function parseKey(key: string): ObjectRef {
  const i = key.indexOf("/");
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

const WRITE_METHODS = new Set<string>(["POST", "PUT", "PATCH", "DELETE"]);

export class KubeClient {
  readonly kubeConfig: KubeConfig;
  private readonly http = new IsomorphicFetchHttpLibrary();
  private readonly observers: RequestObserver[] = [];
  private dispatcher: ReturnType<RequestContext["getDispatcher"]>;
  /** Count of write requests (POST/PUT/PATCH/DELETE) sent, successful or not. */
  writes = 0;

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
  }

  /** Adds a request observer; returns a function that removes it. */
  observe(fn: RequestObserver): () => void {
    this.observers.push(fn);
    return () => {
      const i = this.observers.indexOf(fn);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  get<T extends KubeObject>(
    kind: KindDescriptor,
    ref: ObjectRef,
    subresource?: string,
  ): Promise<T> {
    return this.request<T>({ method: HttpMethod.GET, path: objectPath(kind, ref, subresource) });
  }

  /** One page of a list. Items get apiVersion and kind filled in. */
  async list<T extends KubeObject>(
    kind: KindDescriptor,
    opts: ListOptions = {},
  ): Promise<KubeList<T>> {
    const list = await this.request<KubeList<T>>({
      method: HttpMethod.GET,
      path: collectionPath(kind, opts.namespace),
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continueToken,
        resourceVersion: opts.resourceVersion,
      },
      signal: opts.signal,
    });
    const apiVersion = apiVersionOf(kind);
    list.items = (list.items ?? []).map((item) => ({ ...item, apiVersion, kind: kind.kind }));
    return list;
  }

  create<T extends KubeObject>(kind: KindDescriptor, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.request<T>({
      method: HttpMethod.POST,
      path: collectionPath(kind, obj.metadata.namespace),
      query: { fieldManager: opts.fieldManager },
      body: { apiVersion: apiVersionOf(kind), kind: kind.kind, ...obj },
    });
  }

  /** PUT: the object must carry metadata.resourceVersion (optimistic concurrency, 409 on mismatch). */
  replace<T extends KubeObject>(kind: KindDescriptor, obj: T, opts: WriteOptions = {}): Promise<T> {
    const ref = { namespace: obj.metadata.namespace, name: obj.metadata.name ?? "" };
    return this.request<T>({
      method: HttpMethod.PUT,
      path: objectPath(kind, ref, opts.subresource),
      query: { fieldManager: opts.fieldManager },
      body: { apiVersion: apiVersionOf(kind), kind: kind.kind, ...obj },
    });
  }

  /**
   * PATCH with an explicit Content-Type (default merge patch). A merge patch
   * that includes metadata.resourceVersion is a precondition: 409 on mismatch.
   */
  patch<T extends KubeObject>(
    kind: KindDescriptor,
    ref: ObjectRef,
    body: unknown,
    opts: PatchOptions = {},
  ): Promise<T> {
    return this.request<T>({
      method: HttpMethod.PATCH,
      path: objectPath(kind, ref, opts.subresource),
      query: { fieldManager: opts.fieldManager, force: opts.force },
      body,
      contentType: opts.type ?? PatchType.Merge,
    });
  }

  delete(
    kind: KindDescriptor,
    ref: ObjectRef,
    body?: Record<string, unknown>,
  ): Promise<KubeStatus> {
    return this.request<KubeStatus>({
      method: HttpMethod.DELETE,
      path: objectPath(kind, ref),
      body,
    });
  }

  /** Sends one request; throws KubeApiError for any non-2xx answer. */
  async request<T>(req: RawRequest): Promise<T> {
    const ctx = await this.context(req);
    if (WRITE_METHODS.has(req.method)) this.writes++;
    const response = await this.http.send(ctx).toPromise();
    const text = await response.body.text();
    for (const fn of this.observers)
      fn({ method: req.method, path: req.path, statusCode: response.httpStatusCode });
    const data = parseJson(text);
    if (response.httpStatusCode < 200 || response.httpStatusCode >= 300) {
      throw new KubeApiError(response.httpStatusCode, asStatus(data), text.slice(0, 200));
    }
    return data as T;
  }

  private async context(req: RawRequest): Promise<RequestContext> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("No current cluster in kubeconfig");
    const ctx = new RequestContext(cluster.server + req.path, req.method);
    setQuery(ctx, req.query);
    ctx.setHeaderParam("Accept", "application/json");
    if (req.body !== undefined) {
      ctx.setHeaderParam("Content-Type", req.contentType ?? "application/json");
      ctx.setBody(JSON.stringify(req.body));
    }
    if (req.signal) ctx.setSignal(req.signal);
    await this.kubeConfig.applySecurityAuthentication(ctx);
    // client-node builds a new undici Agent on every call: keep the first one
    // so that connections (and TLS sessions) are reused across requests.
    this.dispatcher ??= ctx.getDispatcher();
    if (this.dispatcher) ctx.setDispatcher(this.dispatcher);
    return ctx;
  }
}

function setQuery(ctx: RequestContext, query: RawRequest["query"]): void {
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== "") ctx.setQueryParam(key, String(value));
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asStatus(data: unknown): KubeStatus | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const status: KubeStatus = data;
  return status.kind === "Status" ? status : undefined;
}
