// The Incident kind as a controller module: the response lifecycle
// (reconcile.ts → lifecycle.ts), notifications (notifications.ts queues,
// receivers.ts sends, delivery.ts records), under the operator's incident
// policy (src/config/incident-policy.ts, --incident-policy). Sources open,
// repeat and resolve Incidents through source.ts, never through here.
import { DEFAULT_INCIDENT_POLICY } from "../../config/incident-policy.ts";
import { IncidentSpec, incidentDescriptor, type IncidentStatus } from "../../crds/incident.ts";
import type { OperatorContext } from "../kit/context.ts";
import { createKindController, type KindDefinition } from "../kit/kind-controller.ts";
import type { ControllerModule } from "../kit/module.ts";
import { countIncidentsFrom } from "./metrics.ts";
import { createNotificationSender } from "./receivers.ts";
import { reconcileIncident, type IncidentReconcileDeps } from "./reconcile.ts";
import type { IncidentObject } from "./source.ts";
import { validateIncident } from "./validate.ts";

/** Namespace of the receivers' Secrets when the operator's own is unknown. */
const FALLBACK_NAMESPACE = "pake-system";

export function incidentDefinition(
  deps: IncidentReconcileDeps,
): KindDefinition<IncidentObject, IncidentSpec, IncidentStatus> {
  return {
    name: "incident",
    kind: incidentDescriptor,
    schema: IncidentSpec,
    validate: validateIncident,
    reconcile: (obj, spec, ctx) => reconcileIncident(obj, spec, ctx, deps),
  };
}

/** The reconcile's dependencies from the operator context. */
export function incidentDeps(ctx: OperatorContext): IncidentReconcileDeps {
  const policy = ctx.config.incidentPolicy ?? DEFAULT_INCIDENT_POLICY;
  const namespace = ctx.config.operatorNamespace ?? FALLBACK_NAMESPACE;
  return { policy, sender: createNotificationSender({ client: ctx.client, namespace, policy }) };
}

/** The Incident controller, and pake_incidents counted from its informer at scrape time. */
export const incidentModule: ControllerModule = {
  name: "incident",
  register(ctx, registrar) {
    const controller = createKindController(ctx, incidentDefinition(incidentDeps(ctx)));
    countIncidentsFrom(() => controller.informer.list());
    registrar.add(controller);
  },
};
