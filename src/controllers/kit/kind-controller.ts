// The per-kind controller wrapper. A kind supplies a KindDefinition (schema,
// semantic validator, reconcile); the wrapper does the rest the same way for
// every kind:
//
//   validate(obj) has problems -> onInvalid(), then SpecValid=False and
//                                 Ready=False (InvalidSpec) in one status
//                                 write, one Warning Event (only when that
//                                 write changed something), no requeue
//   otherwise                  -> spec = schema.parse(obj.spec);
//                                 reconcile(obj, spec) -> { status, events,
//                                 requeueAfter, afterStatus };
//                                 SpecValid=True plus the kind's status in
//                                 ONE write from the cached object guarded by
//                                 its resourceVersion (re-read only on 409),
//                                 nothing written when nothing changed; then
//                                 the Events, then afterStatus()
//
// Everything around it (informers, work queue, finalizers, 409 → requeue,
// errors → back-off and Ready=False/ReconcileError) is runtime/controller.ts.
import type { z } from "zod";
import { CommonReason } from "../../crds/conditions.ts";
import type { StatusWithConditions } from "../../runtime/conditions.ts";
import {
  createController,
  type Controller,
  type ReconcileContext,
  type ReconcileResult,
  type WatchSpec,
} from "../../runtime/controller.ts";
import type { EventInput } from "../../runtime/events.ts";
import type { KindDescriptor, KubeObject } from "../../runtime/kube.ts";
import { writeStatusFromCache, type StatusMutator } from "../../runtime/status.ts";
import type { OperatorContext } from "./context.ts";
import type { ControllerModule } from "./module.ts";
import { applySpecValidity, describeProblems, type SpecValidator } from "./spec-validation.ts";

/** What one reconcile of a valid object asks the wrapper to do. */
export interface KindResult<S> {
  /** The kind's status change, applied after SpecValid=True (re-applied to a fresh read on 409). */
  status?: StatusMutator<S, KubeObject>;
  /** Events to record after the status write. */
  events?: EventInput[];
  /** Reconcile again after this many ms (time-based work). */
  requeueAfter?: number;
  /** Work that must wait until status is written (e.g. pruning what status still refers to). */
  afterStatus?: () => Promise<void>;
}

export interface KindDefinition<T extends KubeObject, Spec, S extends StatusWithConditions> {
  /** Controller name in logs and metrics, e.g. "maintenancetask". */
  name: string;
  kind: KindDescriptor;
  /** Parses a spec that passed `validate` (defaults applied). */
  schema: z.ZodType<Spec>;
  /** Semantic checks behind the CRD schema; every problem names its field. */
  validate: SpecValidator<T>;
  reconcile: (obj: T, spec: Spec, ctx: ReconcileContext) => Promise<KindResult<S>>;
  /** Called before an invalid spec is reported (e.g. stop probing the old target). */
  onInvalid?: (obj: T, ctx: ReconcileContext) => Promise<void>;
}

/** Wiring of a kind's controller: what it watches and how many workers it runs. */
export interface KindControllerOptions {
  /** Child kinds whose events enqueue their controlling owner. */
  owns?: KindDescriptor[];
  watches?: WatchSpec[];
  /** Concurrent reconciles. Default 1. */
  workers?: number;
}

/** One reconcile of `obj` through the wrapper (exported so tests can drive it with a fake clock). */
export async function reconcileKind<T extends KubeObject, Spec, S extends StatusWithConditions>(
  def: KindDefinition<T, Spec, S>,
  obj: T,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const problems = def.validate(obj);
  const now = new Date(ctx.clock.now());
  const validity: StatusMutator<S, KubeObject> = (status, current) =>
    applySpecValidity(status, problems, { generation: current.metadata.generation, now });
  if (problems.length > 0) {
    await def.onInvalid?.(obj, ctx);
    const wrote = await writeStatusFromCache<KubeObject, S>(
      ctx.client,
      { kind: def.kind, cached: obj },
      [validity],
    );
    // Status changes once per bad spec, so the Event is not repeated per reconcile.
    if (wrote) {
      ctx.log.warn({ problems: problems.length }, "Rejected invalid spec");
      await ctx.events.warning(obj, CommonReason.InvalidSpec, describeProblems(problems));
    }
    return {};
  }
  const result = await def.reconcile(obj, def.schema.parse(obj.spec), ctx);
  const mutators = result.status ? [validity, result.status] : [validity];
  await writeStatusFromCache<KubeObject, S>(ctx.client, { kind: def.kind, cached: obj }, mutators);
  for (const event of result.events ?? []) await ctx.events.record(obj, event);
  await result.afterStatus?.();
  return result.requeueAfter !== undefined ? { requeueAfter: result.requeueAfter } : {};
}

/** The controller of a kind, built on the process-wide context. */
export function createKindController<T extends KubeObject, Spec, S extends StatusWithConditions>(
  ctx: OperatorContext,
  def: KindDefinition<T, Spec, S>,
  opts: KindControllerOptions = {},
): Controller<T> {
  return createController<T>({
    name: def.name,
    kind: def.kind,
    kubeConfig: ctx.kubeConfig,
    namespaces: ctx.config.namespaces,
    logger: ctx.logger,
    client: ctx.client,
    events: ctx.events,
    clock: ctx.clock,
    informers: ctx.informers,
    ...opts,
    reconcile: (obj, rctx) => reconcileKind(def, obj, rctx),
  });
}

/**
 * A module that runs one kind controller and nothing else (most kinds);
 * `options` may depend on the context (e.g. the runner image).
 */
export function kindModule<T extends KubeObject, Spec, S extends StatusWithConditions>(
  name: string,
  definition: (ctx: OperatorContext) => KindDefinition<T, Spec, S>,
  options: KindControllerOptions = {},
): ControllerModule {
  return {
    name,
    register(ctx, registrar) {
      registrar.add(createKindController(ctx, definition(ctx), options));
    },
  };
}
