// An informer: list, then watch from the list's resourceVersion, into a
// Map-keyed cache ("ns/name"), calling add/update/delete handlers.
//
// What it does that client-node's informer does not: it never stops for good.
// 410 Gone (HTTP status or an ERROR event with code 410) relists; every other
// failure retries with exponential back-off and jitter, resuming the watch from
// the last resourceVersion seen. Watches ask for bookmarks and carry a
// server-side timeoutSeconds (randomised, so connections recycle and do not
// all reconnect at once), and a watchdog restarts a watch that stays silent
// longer than its timeout plus a margin (a half-open connection). Handler
// errors are caught and logged; handlers are never awaited by the informer.
import { Counter } from "prom-client";
import { Watch, type KubeConfig } from "@kubernetes/client-node";
import { realClock, type Clock, type Timer } from "./clock.ts";
import { errorMessage } from "../lib/errors.ts";
import { KubeApiError, isGone, type KubeStatus } from "./errors.ts";
import {
  KubeClient,
  collectionPath,
  objectKey,
  type KindDescriptor,
  type KubeObject,
} from "./kube.ts";
import { log as rootLog, type Logger } from "./log.ts";
import { registry } from "./metrics.ts";
import { normalizeObject } from "./normalize.ts";
import { backoffDelay } from "./rate-limiter.ts";

const relists = new Counter({
  name: "pake_informer_relists_total",
  help: "Full lists done by informers (first sync, 410 Gone, errors).",
  labelNames: ["resource"],
  registers: [registry],
});
const watchRestarts = new Counter({
  name: "pake_informer_watch_restarts_total",
  help: "Watches ended and restarted, by reason (closed, expired, silent, error).",
  labelNames: ["resource", "reason"],
  registers: [registry],
});
const watchEvents = new Counter({
  name: "pake_informer_events_total",
  help: "Watch events received, by type.",
  labelNames: ["resource", "type"],
  registers: [registry],
});

export interface EventHandlers<T extends KubeObject> {
  add?: (obj: T) => unknown;
  update?: (oldObj: T, newObj: T) => unknown;
  delete?: (obj: T) => unknown;
}

/** A started watch; `abort` closes it. */
export interface WatchHandle {
  abort(): void;
}

/** Opens a watch; calls onEvent per event and onDone exactly once when it ends. */
export type WatchFn = (req: {
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  onEvent: (type: string, obj: unknown) => void;
  onDone: (err: unknown) => void;
}) => Promise<WatchHandle>;

export interface InformerOptions {
  kubeConfig: KubeConfig;
  kind: KindDescriptor;
  /** Namespaces to watch; undefined or empty means all namespaces. */
  namespaces?: string[];
  labelSelector?: string;
  fieldSelector?: string;
  client?: KubeClient;
  clock?: Clock;
  logger?: Logger;
  /** Server-side watch timeout; each watch uses a random value in [t, 2t). Default 300 s. */
  timeoutSeconds?: number;
  /** Silence tolerated beyond the watch's timeout before the watchdog restarts it. Default 30 s. */
  watchdogMarginMs?: number;
  /** Back-off between failed attempts. Default 800 ms → 30 s. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** List page size. Default 500. */
  pageSize?: number;
  random?: () => number;
  /** Replaces client-node's Watch (tests). */
  watch?: WatchFn;
}

/** client-node's Watch, with its 30 s inactivity abort moved out of the watchdog's way. */
export function clientNodeWatch(kubeConfig: KubeConfig, inactivityMs: number): WatchFn {
  return async ({ path, query, onEvent, onDone }) => {
    const watch = new Watch(kubeConfig);
    // requestTimeoutMs is private in the typings: the default (30 s) would cut
    // quiet watches before the server's ~1 min bookmarks. The informer's own
    // watchdog (on the injected clock) is the real liveness check.
    Object.assign(watch, { requestTimeoutMs: inactivityMs });
    const controller = await watch.watch(path, query, (type, obj) => onEvent(type, obj), onDone);
    return { abort: () => controller.abort() };
  };
}

type Outcome =
  | { reason: "closed" | "expired" | "silent" | "stopped" | "restart" }
  | { reason: "error"; err: unknown };

/** What applying one watch event means for the watch loop. */
export type EventResult = { kind: "ok" } | { kind: "expired" } | { kind: "error"; err: unknown };

/** Interprets a watch ERROR event's Status object. */
export function watchErrorResult(status: KubeStatus | undefined): EventResult {
  const code = status?.code ?? 500;
  if (code === 410 || status?.reason === "Expired" || status?.reason === "Gone")
    return { kind: "expired" };
  return { kind: "error", err: new KubeApiError(code, status, "watch error event") };
}

/**
 * The changes that turn the cached objects `current` into the listed `listed`
 * (both keyed by ns/name): adds, updates (resourceVersion changed) and deletes.
 */
export function diffForReplace<T extends KubeObject>(
  current: ReadonlyMap<string, T>,
  listed: ReadonlyMap<string, T>,
): { added: T[]; updated: Array<[T, T]>; deleted: T[] } {
  const added: T[] = [];
  const updated: Array<[T, T]> = [];
  const deleted: T[] = [];
  for (const [key, obj] of listed) {
    const old = current.get(key);
    if (!old) added.push(obj);
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
      updated.push([old, obj]);
  }
  for (const [key, obj] of current) if (!listed.has(key)) deleted.push(obj);
  return { added, updated, deleted };
}

/** Calls a handler; a throw or a rejected promise is logged, never propagated. */
export function safeInvoke(fn: () => unknown, logger: Logger, what: string): void {
  try {
    const result = fn();
    if (result instanceof Promise) {
      result.catch((err: unknown) =>
        logger.error({ err: errorMessage(err) }, `Handler ${what} failed`),
      );
    }
  } catch (err) {
    logger.error({ err: errorMessage(err) }, `Handler ${what} failed`);
  }
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly kind: KindDescriptor;
  private readonly store = new Map<string, T>();
  private readonly handlers: Array<EventHandlers<T>> = [];
  private readonly reflectors: Reflector<T>[];
  private readonly log: Logger;
  private syncWaiters: Array<() => void> = [];
  private abort = new AbortController();
  private loops: Array<Promise<void>> = [];
  private started = false;

  constructor(opts: InformerOptions) {
    this.kind = opts.kind;
    const resource = opts.kind.group ? `${opts.kind.plural}.${opts.kind.group}` : opts.kind.plural;
    this.log = (opts.logger ?? rootLog).child({ informer: resource });
    const namespaces =
      opts.kind.namespaced === false || !opts.namespaces?.length ? [undefined] : opts.namespaces;
    const shared = reflectorDeps(opts, resource, this.log, this);
    this.reflectors = namespaces.map((ns) => new Reflector(shared, ns));
  }

  /** Registers handlers; returns a function that removes them. */
  on(handlers: EventHandlers<T>): () => void {
    this.handlers.push(handlers);
    return () => {
      const i = this.handlers.indexOf(handlers);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  /** Starts list+watch in the background; resolves at once. */
  start(): Promise<void> {
    if (this.started) return Promise.resolve();
    this.started = true;
    this.abort = new AbortController();
    this.loops = this.reflectors.map((r) => r.run(this.abort.signal));
    return Promise.resolve();
  }

  /** Stops every watch and waits for the loops to end. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    this.started = false;
    this.wakeSyncWaiters();
  }

  /** True once every namespace's first list is in the cache. */
  hasSynced(): boolean {
    return this.reflectors.every((r) => r.synced);
  }

  /** Resolves true when synced, false if the informer stopped first. */
  waitForSync(): Promise<boolean> {
    if (this.hasSynced()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      this.syncWaiters.push(() => resolve(this.hasSynced()));
    });
  }

  /** The cached object (shared: treat it as read-only). */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(objectKey({ namespace, name }));
  }

  getByKey(key: string): T | undefined {
    return this.store.get(key);
  }

  /** Cached objects, optionally of one namespace. */
  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  keys(): string[] {
    return [...this.store.keys()];
  }

  /**
   * Ends the current watches; they resume at once from the last
   * resourceVersion seen, or from `fromResourceVersion` when given (tests use
   * a too-old one to provoke 410 Gone and a relist).
   */
  restartWatches(fromResourceVersion?: string): void {
    for (const r of this.reflectors) r.restart(fromResourceVersion);
  }

  // ---- used by reflectors ----

  /** @internal */
  upsert(obj: T): void {
    const key = objectKey(obj);
    const old = this.store.get(key);
    this.store.set(key, obj);
    if (!old) this.emit("add", (h) => h.add?.(obj));
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      this.emit("update", (h) => h.update?.(old, obj));
    }
  }

  /** @internal */
  remove(obj: T): void {
    const key = objectKey(obj);
    const last = this.store.get(key) ?? obj;
    if (!this.store.delete(key)) return;
    this.emit("delete", (h) => h.delete?.(obj.metadata.resourceVersion ? obj : last));
  }

  /** @internal Replaces the cached objects of one namespace (all if undefined) with a fresh list. */
  replace(namespace: string | undefined, items: T[]): void {
    const current = new Map<string, T>();
    for (const [key, obj] of this.store) {
      if (namespace === undefined || obj.metadata.namespace === namespace) current.set(key, obj);
    }
    const listed = new Map(items.map((o) => [objectKey(o), o] as const));
    const { added, updated, deleted } = diffForReplace(current, listed);
    for (const obj of deleted) this.remove(obj);
    for (const obj of added) this.upsert(obj);
    for (const [, obj] of updated) this.upsert(obj);
  }

  /** @internal */
  markSynced(): void {
    if (this.hasSynced()) this.wakeSyncWaiters();
  }

  private wakeSyncWaiters(): void {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w();
  }

  private emit(what: string, call: (h: EventHandlers<T>) => unknown): void {
    for (const h of [...this.handlers]) safeInvoke(() => call(h), this.log, what);
  }
}

function reflectorDeps<T extends KubeObject>(
  opts: InformerOptions,
  resource: string,
  log: Logger,
  sink: Informer<T>,
): ReflectorDeps<T> {
  const timeoutSeconds = opts.timeoutSeconds ?? 300;
  const marginMs = opts.watchdogMarginMs ?? 30_000;
  // client-node's own inactivity abort: well past the watchdog, so ours fires first.
  const inactivityMs = 2 * (2 * timeoutSeconds * 1000 + marginMs);
  return {
    opts,
    resource,
    client: opts.client ?? new KubeClient(opts.kubeConfig),
    clock: opts.clock ?? realClock,
    random: opts.random ?? Math.random,
    watch: opts.watch ?? clientNodeWatch(opts.kubeConfig, inactivityMs),
    timeoutSeconds,
    marginMs,
    log,
    sink,
  };
}

interface ReflectorDeps<T extends KubeObject> {
  opts: InformerOptions;
  resource: string;
  client: KubeClient;
  clock: Clock;
  random: () => number;
  watch: WatchFn;
  timeoutSeconds: number;
  marginMs: number;
  log: Logger;
  sink: Informer<T>;
}

/** List+watch of one namespace (or all) into the informer's store. */
class Reflector<T extends KubeObject> {
  synced = false;
  private resourceVersion = "";
  private needList = true;
  private failures = 0;
  private interrupt: (() => void) | undefined;
  private readonly d: ReflectorDeps<T>;
  private readonly namespace: string | undefined;
  private readonly log: Logger;

  constructor(deps: ReflectorDeps<T>, namespace: string | undefined) {
    this.d = deps;
    this.namespace = namespace;
    this.log = deps.log.child({ watchNamespace: namespace ?? "*" });
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        if (this.needList) await this.listAndReplace(signal);
        const started = this.d.clock.now();
        const outcome = await this.watchOnce(signal);
        this.afterWatch(outcome, this.d.clock.now() - started);
        if (this.failures > 0) await this.d.clock.sleep(this.nextDelay(), signal);
      } catch (err) {
        if (signal.aborted) break;
        this.failures++;
        this.needList ||= isGone(err);
        this.log.warn({ err: errorMessage(err), attempt: this.failures }, "List failed; retrying");
        await this.d.clock.sleep(this.nextDelay(), signal);
      }
    }
  }

  private nextDelay(): number {
    const b = this.d.opts.backoff ?? {};
    return backoffDelay(this.failures, {
      initialMs: b.initialMs ?? 800,
      maxMs: b.maxMs ?? 30_000,
      random: this.d.random,
    });
  }

  private afterWatch(outcome: Outcome, durationMs: number): void {
    if (outcome.reason === "stopped") return;
    watchRestarts.inc({ resource: this.d.resource, reason: outcome.reason });
    if (outcome.reason === "expired") {
      this.needList = true;
      this.log.info(
        { resourceVersion: this.resourceVersion },
        "Watch expired (410 Gone); relisting",
      );
    }
    if (outcome.reason === "error") {
      this.needList ||= isGone(outcome.err);
      this.log.warn({ err: errorMessage(outcome.err) }, "Watch failed; retrying with back-off");
    }
    if (outcome.reason === "silent") this.log.warn("Watch silent past its timeout; restarting");
    // A watch that ends in error, or closes at once, counts as a failure so a
    // server that keeps closing connections is not hammered in a tight loop.
    const healthy =
      outcome.reason !== "error" && (outcome.reason !== "closed" || durationMs >= 1000);
    this.failures = healthy ? 0 : this.failures + 1;
  }

  private async listAndReplace(signal: AbortSignal): Promise<void> {
    relists.inc({ resource: this.d.resource });
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.d.client.list<T>(this.d.opts.kind, {
        namespace: this.namespace,
        labelSelector: this.d.opts.labelSelector,
        fieldSelector: this.d.opts.fieldSelector,
        limit: this.d.opts.pageSize ?? 500,
        continueToken,
        signal,
      });
      for (const item of page.items) items.push(normalizeObject(item, this.d.opts.kind));
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);
    this.d.sink.replace(this.namespace, items);
    this.resourceVersion = resourceVersion ?? "";
    this.needList = false;
    this.failures = 0;
    this.log.debug({ count: items.length, resourceVersion }, "Listed");
    if (!this.synced) {
      this.synced = true;
      this.d.sink.markSynced();
    }
  }

  private watchOnce(signal: AbortSignal): Promise<Outcome> {
    const d = this.d;
    const timeoutSeconds = Math.floor(d.timeoutSeconds * (1 + d.random()));
    const silenceMs = timeoutSeconds * 1000 + d.marginMs;
    return new Promise<Outcome>((resolve) => {
      let handle: WatchHandle | undefined;
      let watchdog: Timer | undefined;
      let finished = false;
      const finish = (outcome: Outcome): void => {
        if (finished) return;
        finished = true;
        watchdog?.cancel();
        signal.removeEventListener("abort", onStop);
        handle?.abort();
        this.interrupt = undefined;
        resolve(outcome);
      };
      this.interrupt = () => finish({ reason: "restart" });
      const onStop = (): void => finish({ reason: "stopped" });
      const arm = (): void => {
        watchdog?.cancel();
        watchdog = d.clock.setTimer(() => finish({ reason: "silent" }), silenceMs);
      };
      const onEvent = (type: string, obj: unknown): void => {
        if (finished) return;
        arm();
        const result = this.applyEvent(type, obj);
        if (result.kind === "expired") finish({ reason: "expired" });
        if (result.kind === "error") finish({ reason: "error", err: result.err });
      };
      const onDone = (err: unknown): void => {
        if (!err) finish({ reason: "closed" });
        else finish(isGone(err) ? { reason: "expired" } : { reason: "error", err });
      };
      signal.addEventListener("abort", onStop, { once: true });
      arm();
      d.watch({
        path: collectionPath(d.opts.kind, this.namespace),
        query: this.watchQuery(timeoutSeconds),
        onEvent,
        onDone,
      }).then((h) => {
        handle = h;
        if (finished) h.abort();
      }, onDone);
    });
  }

  private watchQuery(
    timeoutSeconds: number,
  ): Record<string, string | number | boolean | undefined> {
    return {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds,
      labelSelector: this.d.opts.labelSelector,
      fieldSelector: this.d.opts.fieldSelector,
    };
  }

  /** Applies one watch event to the store. */
  private applyEvent(type: string, raw: unknown): EventResult {
    watchEvents.inc({ resource: this.d.resource, type });
    if (type === "ERROR") return watchErrorResult(raw as KubeStatus | undefined);
    const obj = normalizeObject(raw as T, this.d.opts.kind);
    const rv = obj.metadata.resourceVersion;
    if (type === "ADDED" || type === "MODIFIED") this.d.sink.upsert(obj);
    else if (type === "DELETED") this.d.sink.remove(obj);
    else if (type !== "BOOKMARK") return { kind: "ok" };
    if (rv) this.resourceVersion = rv;
    return { kind: "ok" };
  }

  restart(fromResourceVersion?: string): void {
    if (fromResourceVersion !== undefined) this.resourceVersion = fromResourceVersion;
    this.interrupt?.();
  }
}
