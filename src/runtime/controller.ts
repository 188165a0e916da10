// A controller: an informer on the primary kind (plus optional informers on
// children and other watched kinds) feeding keys into a rate-limited work
// queue, and N workers running the reconcile wrapper on each key:
//
//   not in cache                      -> done, quietly (the object is gone)
//   deletionTimestamp set             -> finalize(), then remove our finalizer
//                                        (merge patch guarded by resourceVersion)
//   otherwise                         -> add our finalizer if missing, then reconcile()
//   reconcile returns requeueAfter    -> forget back-off, add again after that time
//   409 Conflict                      -> re-queue after ~1 s; not an error
//   any other error                   -> back off per key; Ready=False/ReconcileError
//                                        in status; Warning Event
//
// Each reconcile gets a child logger with controller, kind, namespace, name
// and a reconcileId, and the object as a private deep copy.
import { randomUUID } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import { Counter, Histogram } from "prom-client";
import { realClock, type Clock } from "./clock.ts";
import {
  ConditionReason,
  ConditionType,
  setCondition,
  type StatusWithConditions,
} from "./conditions.ts";
import { errorMessage } from "../lib/errors.ts";
import { isConflict, isNotFound } from "./errors.ts";
import { EventRecorder } from "./events.ts";
import type { Informer, InformerOptions } from "./informer.ts";
import { InformerFactory, type InformerSource, type SharedInformer } from "./informer-factory.ts";
import {
  KubeClient,
  apiVersionOf,
  objectKey,
  type KindDescriptor,
  type KubeObject,
} from "./kube.ts";
import { log as rootLog, type Logger } from "./log.ts";
import { registry } from "./metrics.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import type { Runnable } from "./runnable.ts";
import { updateStatus } from "./status.ts";
import { WorkQueue, runWorkers } from "./workqueue.ts";

const reconcileTotal = new Counter({
  name: "pake_controller_reconcile_total",
  help: "Reconciles by result (success, requeue_after, requeue, conflict, error).",
  labelNames: ["controller", "result"],
  registers: [registry],
});
const reconcileErrors = new Counter({
  name: "pake_controller_reconcile_errors_total",
  help: "Reconciles that failed with an error (409 Conflicts excluded).",
  labelNames: ["controller"],
  registers: [registry],
});
const reconcileDuration = new Histogram({
  name: "pake_controller_reconcile_duration_seconds",
  help: "Time spent in one reconcile (including finalizer handling).",
  labelNames: ["controller"],
  buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

export interface ReconcileContext {
  controller: string;
  /** "namespace/name". */
  key: string;
  reconcileId: string;
  /** Child logger with controller, kind, namespace, name, reconcileId. */
  log: Logger;
  client: KubeClient;
  events: EventRecorder;
  clock: Clock;
  /** Aborted when the controller stops: long work should give up. */
  signal: AbortSignal;
}

export interface ReconcileResult {
  /** Reconcile again after this many ms (time-based work). */
  requeueAfter?: number;
  /** Reconcile again soon, with back-off (without logging an error). */
  requeue?: boolean;
}

export type ReconcileFn<T extends KubeObject> = (
  obj: T,
  ctx: ReconcileContext,
) => Promise<ReconcileResult | void>;

/** Another kind whose events enqueue primary keys through `map`. */
export interface WatchSpec {
  kind: KindDescriptor;
  /** Keys ("ns/name") of primary objects to reconcile for this object. */
  map: (obj: KubeObject) => string[];
  labelSelector?: string;
}

export interface ControllerOptions<T extends KubeObject> {
  name: string;
  kind: KindDescriptor;
  kubeConfig: KubeConfig;
  /** Namespaces to watch; undefined or empty: all. */
  namespaces?: string[];
  labelSelector?: string;
  reconcile: ReconcileFn<T>;
  /** Finalizer name, e.g. "pake.dev/cleanup". Added on the first reconcile. */
  finalizer?: string;
  /** Cleanup run once the object is being deleted, before the finalizer is removed. */
  finalize?: (obj: T, ctx: ReconcileContext) => Promise<void>;
  /** Child kinds: events enqueue the controlling owner (ownerReference with controller=true). */
  owns?: KindDescriptor[];
  watches?: WatchSpec[];
  /** Concurrent workers. Default 1. */
  workers?: number;
  clock?: Clock;
  logger?: Logger;
  client?: KubeClient;
  events?: EventRecorder;
  rateLimiter?: RateLimiter;
  /** Default true. */
  needsLeaderElection?: boolean;
  /** Delay after a 409 Conflict. Default 1000 ms. */
  conflictRequeueMs?: number;
  /** Write Ready=False/ReconcileError to status on errors. Default: true for non-core kinds. */
  reportErrorsInStatus?: boolean;
  /** Passed to every informer (timeouts, back-off); ignored when `informers` is given. */
  informer?: Pick<InformerOptions, "timeoutSeconds" | "watchdogMarginMs" | "backoff" | "pageSize">;
  /** The process-wide informer factory; default: informers of this controller's own. */
  informers?: InformerSource;
}

export interface Controller<T extends KubeObject> extends Runnable {
  readonly informer: Informer<T>;
  readonly queue: WorkQueue;
  /** Queues a key ("ns/name") for reconcile. */
  enqueue(key: string): void;
}

/** Keys of the controlling owners of `obj` that are of kind `owner`. */
export function ownerKeys(obj: KubeObject, owner: KindDescriptor): string[] {
  const apiVersion = apiVersionOf(owner);
  return (obj.metadata.ownerReferences ?? [])
    .filter((r) => r.controller === true && r.kind === owner.kind && r.apiVersion === apiVersion)
    .map((r) => objectKey({ namespace: obj.metadata.namespace, name: r.name }));
}

export function createController<T extends KubeObject>(opts: ControllerOptions<T>): Controller<T> {
  return new ControllerImpl(opts);
}

class ControllerImpl<T extends KubeObject> implements Controller<T> {
  readonly name: string;
  readonly needsLeaderElection: boolean;
  readonly informer: Informer<T>;
  readonly queue: WorkQueue;
  private readonly opts: ControllerOptions<T>;
  private readonly handles: SharedInformer<KubeObject>[] = [];
  private readonly informers: InformerSource;
  private readonly clock: Clock;
  private readonly client: KubeClient;
  private readonly events: EventRecorder;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private workers: Promise<void> | undefined;

  constructor(opts: ControllerOptions<T>) {
    this.opts = opts;
    this.name = opts.name;
    this.needsLeaderElection = opts.needsLeaderElection ?? true;
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? rootLog).child({ controller: opts.name });
    this.client = opts.client ?? new KubeClient(opts.kubeConfig);
    this.events =
      opts.events ??
      new EventRecorder({ client: this.client, component: "pake-operator", clock: this.clock });
    this.queue = new WorkQueue({
      name: opts.name,
      clock: this.clock,
      rateLimiter: opts.rateLimiter,
    });
    this.informers = opts.informers ?? this.ownInformers();
    this.informer = this.shareInformer<T>(opts.kind, opts.labelSelector);
    this.informer.on({
      add: (o) => this.enqueue(objectKey(o)),
      update: (_o, n) => this.enqueue(objectKey(n)),
      delete: (o) => this.enqueue(objectKey(o)),
    });
    this.watchOthers();
  }

  /** Owned kinds enqueue their controlling owner; watched kinds map to keys. */
  private watchOthers(): void {
    const { owns, watches, kind } = this.opts;
    for (const child of owns ?? [])
      this.watchOther({ kind: child, map: (o) => ownerKeys(o, kind) });
    for (const spec of watches ?? []) this.watchOther(spec);
  }

  /** A factory of this controller's own, when the process-wide one is not given. */
  private ownInformers(): InformerFactory {
    return new InformerFactory({
      kubeConfig: this.opts.kubeConfig,
      client: this.client,
      namespaces: this.opts.namespaces,
      clock: this.clock,
      logger: this.log,
      informer: this.opts.informer,
    });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  async start(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.start()));
    this.workers = this.runWhenSynced(this.handles.map((h) => h.informer));
    this.log.info({ workers: this.opts.workers ?? 1 }, "Started controller");
  }

  async stop(deadlineMs: number): Promise<void> {
    this.abort.abort();
    const drained = await this.queue.shutdown(deadlineMs);
    if (!drained)
      this.log.warn({ inFlight: this.queue.inFlight() }, "Stopped with reconciles still running");
    await Promise.all(this.handles.map((h) => h.stop()));
    if (drained) await this.workers;
    this.log.info("Stopped controller");
  }

  private async runWhenSynced(
    informers: Array<{ waitForSync(): Promise<boolean> }>,
  ): Promise<void> {
    // A shared informer may outlive this controller (another user keeps it
    // running, e.g. still retrying a missing CRD): stopping gives up the wait.
    const stopped = new Promise<boolean[]>((resolve) =>
      this.abort.signal.addEventListener("abort", () => resolve([false]), { once: true }),
    );
    const synced = await Promise.race([
      Promise.all(informers.map((i) => i.waitForSync())),
      stopped,
    ]);
    if (!synced.every(Boolean) || this.queue.isShuttingDown()) return;
    this.log.info("Caches synced; starting workers");
    await runWorkers({
      queue: this.queue,
      workers: this.opts.workers ?? 1,
      process: (key) => this.processKey(key),
      logger: this.log,
    });
  }

  private shareInformer<K extends KubeObject>(
    kind: KindDescriptor,
    labelSelector?: string,
  ): Informer<K> {
    const handle = this.informers.get<K>(kind, labelSelector);
    this.handles.push(handle as unknown as SharedInformer<KubeObject>);
    return handle.informer;
  }

  private watchOther(spec: WatchSpec): void {
    const informer = this.shareInformer(spec.kind, spec.labelSelector);
    const enqueueAll = (o: KubeObject): void => {
      for (const key of spec.map(o)) this.enqueue(key);
    };
    informer.on({
      add: enqueueAll,
      update: (o, n) => {
        enqueueAll(o);
        enqueueAll(n);
      },
      delete: enqueueAll,
    });
  }

  private context(key: string, obj: T): ReconcileContext {
    const reconcileId = randomUUID();
    const m = obj.metadata;
    return {
      controller: this.name,
      key,
      reconcileId,
      log: this.log.child({
        kind: this.opts.kind.kind,
        namespace: m.namespace,
        name: m.name,
        reconcileId,
      }),
      client: this.client,
      events: this.events,
      clock: this.clock,
      signal: this.abort.signal,
    };
  }

  /** One pass of the reconcile wrapper for a key. Never throws. */
  async processKey(key: string): Promise<void> {
    const cached = this.informer.getByKey(key);
    if (!cached) {
      this.queue.forget(key);
      this.log.debug({ key }, "Object gone; nothing to reconcile");
      return;
    }
    const obj = structuredClone(cached);
    const ctx = this.context(key, obj);
    const stopTimer = reconcileDuration.startTimer({ controller: this.name });
    try {
      const result = await this.handle(obj, ctx);
      this.afterSuccess(key, result ?? undefined);
    } catch (err) {
      await this.afterError(obj, ctx, err);
    } finally {
      stopTimer();
    }
  }

  private async handle(obj: T, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    if (obj.metadata.deletionTimestamp) return this.handleDeletion(obj, ctx);
    const current = await this.ensureFinalizer(obj, ctx);
    return this.opts.reconcile(current, ctx);
  }

  private async handleDeletion(obj: T, ctx: ReconcileContext): Promise<void> {
    const finalizer = this.opts.finalizer;
    const finalizers = obj.metadata.finalizers ?? [];
    if (!finalizer || !finalizers.includes(finalizer)) return;
    ctx.log.info("Finalizing");
    await this.opts.finalize?.(obj, ctx);
    await this.client.patch(this.opts.kind, refOf(obj), {
      metadata: {
        resourceVersion: obj.metadata.resourceVersion,
        finalizers: finalizers.filter((f) => f !== finalizer),
      },
    });
    ctx.log.info({ finalizer }, "Removed finalizer");
  }

  private async ensureFinalizer(obj: T, ctx: ReconcileContext): Promise<T> {
    const finalizer = this.opts.finalizer;
    const finalizers = obj.metadata.finalizers ?? [];
    if (!finalizer || finalizers.includes(finalizer)) return obj;
    const patched = await this.client.patch<T>(this.opts.kind, refOf(obj), {
      metadata: {
        resourceVersion: obj.metadata.resourceVersion,
        finalizers: [...finalizers, finalizer],
      },
    });
    ctx.log.info({ finalizer }, "Added finalizer");
    return patched;
  }

  private afterSuccess(key: string, result: ReconcileResult | undefined): void {
    if (result?.requeueAfter !== undefined && result.requeueAfter > 0) {
      this.queue.forget(key);
      this.queue.addAfter(key, result.requeueAfter);
      reconcileTotal.inc({ controller: this.name, result: "requeue_after" });
    } else if (result?.requeue) {
      this.queue.addRateLimited(key);
      reconcileTotal.inc({ controller: this.name, result: "requeue" });
    } else {
      this.queue.forget(key);
      reconcileTotal.inc({ controller: this.name, result: "success" });
    }
  }

  private async afterError(obj: T, ctx: ReconcileContext, err: unknown): Promise<void> {
    if (isConflict(err)) {
      ctx.log.debug({ err: errorMessage(err) }, "Conflict; requeueing");
      this.queue.addAfter(ctx.key, this.opts.conflictRequeueMs ?? 1000);
      reconcileTotal.inc({ controller: this.name, result: "conflict" });
      return;
    }
    this.queue.addRateLimited(ctx.key);
    reconcileTotal.inc({ controller: this.name, result: "error" });
    reconcileErrors.inc({ controller: this.name });
    const message = errorMessage(err);
    ctx.log.error({ err: message, retries: this.queue.numRequeues(ctx.key) }, "Reconcile failed");
    if (isNotFound(err) && !this.informer.getByKey(ctx.key)) return;
    await Promise.all([
      this.reportInStatus(obj, ctx, message),
      ctx.events.warning(obj, ConditionReason.ReconcileError, message),
    ]);
  }

  private async reportInStatus(obj: T, ctx: ReconcileContext, message: string): Promise<void> {
    if (!(this.opts.reportErrorsInStatus ?? this.opts.kind.group !== "")) return;
    try {
      await updateStatus<T, StatusWithConditions>(
        this.client,
        { kind: this.opts.kind, ...refOf(obj) },
        (status, fresh) => {
          setCondition(
            status,
            {
              type: ConditionType.Ready,
              status: "False",
              reason: ConditionReason.ReconcileError,
              message,
            },
            fresh.metadata.generation,
            this.clock.now(),
          );
        },
      );
    } catch (err) {
      ctx.log.warn({ err: errorMessage(err) }, "Could not write ReconcileError condition");
    }
  }
}

function refOf(obj: KubeObject): { namespace?: string; name: string } {
  return { namespace: obj.metadata.namespace, name: obj.metadata.name ?? "" };
}
