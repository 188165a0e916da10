// One reconcile of an Incident: compute the lifecycle from what the API holds
// (lifecycle.ts), send the notifications that are due (delivery.ts), write
// status once, and come back when the next deadline, escalation, closing,
// deletion or delivery attempt falls due. Level-triggered: the same input
// gives the same status, whatever event woke the reconcile.
import type { IncidentPolicy } from "../../config/incident-policy.ts";
import { API_GROUP } from "../../crds/common.ts";
import { incidentDescriptor, type IncidentSpec, type IncidentStatus } from "../../crds/incident.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { isNotFound } from "../../runtime/errors.ts";
import type { KindResult } from "../kit/kind-controller.ts";
import { applyDeliveries, type DeliveryOutcome, type NotificationSender } from "./delivery.ts";
import { computeLifecycle, nextDue, type LifecycleIncident } from "./lifecycle.ts";
import { recordIncidentChange } from "./metrics.ts";
import { dueNotifications } from "./notifications.ts";
import type { IncidentObject } from "./source.ts";

/** Longest wait between two reconciles of an Incident (timers stay far below Node's 2^31 ms limit). */
export const MAX_REQUEUE_MS = 3_600_000;

export interface IncidentReconcileDeps {
  policy: IncidentPolicy;
  sender: NotificationSender;
}

const refOf = (obj: IncidentObject) => ({
  namespace: obj.metadata.namespace,
  name: obj.metadata.name ?? "",
});

function lifecycleOf(obj: IncidentObject, spec: IncidentSpec): LifecycleIncident {
  return { metadata: obj.metadata, spec };
}

const isSourceOwner = (o: Record<string, unknown>): boolean =>
  String(o.apiVersion).startsWith(`${API_GROUP}/`);

/** Owner references to a PAKE source, left by versions that garbage-collected Incidents with it. */
function sourceOwners(obj: IncidentObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some(isSourceOwner);
}

async function releaseFromSource(obj: IncidentObject, ctx: ReconcileContext): Promise<void> {
  const kept = (obj.metadata.ownerReferences ?? []).filter((o) => !isSourceOwner(o));
  await ctx.client.patch(incidentDescriptor, refOf(obj), {
    metadata: { ownerReferences: kept.length > 0 ? kept : null },
  });
  ctx.log.info({}, "Released Incident from its source's garbage collection");
}

async function deleteExpired(obj: IncidentObject, ctx: ReconcileContext): Promise<void> {
  try {
    await ctx.client.delete(incidentDescriptor, refOf(obj), {
      preconditions: { uid: obj.metadata.uid },
    });
    ctx.log.info({ closedAt: obj.status?.closedAt }, "Deleted Incident after its retention");
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * Sends what is due, from a fresh read: the cache may not hold our own last
 * write yet, and a delivery recorded there must not be sent again.
 */
async function deliver(
  obj: IncidentObject,
  spec: IncidentSpec,
  ctx: ReconcileContext & { now: number },
  deps: IncidentReconcileDeps,
): Promise<DeliveryOutcome[]> {
  // The reconcile's own time: what the payload says (resolvedAt, deadlines)
  // is exactly what the status write records.
  const now = ctx.now;
  const fresh = await ctx.client.get<IncidentObject>(incidentDescriptor, refOf(obj));
  const status = computeLifecycle({
    incident: lifecycleOf(fresh, spec),
    status: fresh.status ?? {},
    policy: deps.policy,
    now,
  }).status;
  const due = dueNotifications(status, now);
  if (due.length === 0) return [];
  // The payload describes the Incident as this reconcile computes it (a new
  // Incident's status has no phase or deadline in the API yet).
  return deps.sender.send({ ...fresh, status }, due, { now, log: ctx.log });
}

export async function reconcileIncident(
  obj: IncidentObject,
  spec: IncidentSpec,
  ctx: ReconcileContext,
  deps: IncidentReconcileDeps,
): Promise<KindResult<IncidentStatus>> {
  const now = ctx.clock.now();
  const compute = (status: IncidentStatus, current: IncidentObject) =>
    computeLifecycle({ incident: lifecycleOf(current, spec), status, policy: deps.policy, now });
  const first = compute(obj.status ?? {}, obj);
  if (first.expired) {
    await deleteExpired(obj, ctx);
    return {};
  }
  const outcomes =
    dueNotifications(first.status, now).length > 0
      ? await deliver(obj, spec, { ...ctx, now }, deps)
      : [];
  const delivered = applyDeliveries(first.status, outcomes, deps.policy);
  const wake = nextDue(delivered.status, deps.policy);
  return {
    status: (status, current) =>
      applyDeliveries(compute(status, current as IncidentObject).status, outcomes, deps.policy)
        .status,
    events: [...first.events, ...delivered.events],
    ...(wake !== undefined
      ? { requeueAfter: Math.min(MAX_REQUEUE_MS, Math.max(0, wake - now) + 10) }
      : {}),
    afterStatus: async () => {
      recordIncidentChange({
        severity: spec.severity,
        before: obj.status ?? {},
        after: delivered.status,
        outcomes,
        receiverOf: (key) => delivered.status.notifications?.find((n) => n.key === key)?.receiver,
      });
      if (sourceOwners(obj)) await releaseFromSource(obj, ctx);
    },
  };
}
