// The HealthCheck controller: reconciles each HealthCheck into the probe
// engine and the engine's reports into status.
//
// The kit's kind controller (controllers/kit) validates the spec first: an
// invalid spec is taken out of the engine (onInvalid: no probing) and
// reported as SpecValid=False / Ready=False. For a valid spec, reconcile(hc):
//   2. the referenced Secrets are read by name (and watched by name, see
//      secrets.ts); a missing Secret or key gives Ready=False with reason
//      ReferenceNotFound naming the Secret and key, the check leaves the
//      engine, and the reconcile comes back when the Secret appears (its
//      by-name watch) or after a minute: never a hot loop;
//   3. the resolved target goes into the engine (add or change; suspend);
//      the Secrets' resourceVersions are its connectionVersion, so a rotated
//      Secret closes the old connections and the next probe reconnects;
//      a new generation is probed at once;
//   4. returns the status change (target description, observedGeneration,
//      Ready/Suspended), which the kit writes only when it changes.
// Deleting a HealthCheck removes it from the engine (informer delete event);
// its Incidents go with it through their owner reference.
//
// Probe reports are handled in reports.ts; the /health API in http-api.ts.
// MaintenanceTasks that suppress a check's Incidents are read from the shared
// MaintenanceTask informer (suppression.ts); a change of a task's active runs
// probes the checks it names again at once.
import { redactText } from "../../lib/redact.ts";
import {
  HealthCheckSpec,
  healthCheckDescriptor,
  type HealthCheckTarget,
} from "../../crds/index.ts";
import { CommonReason } from "../../crds/conditions.ts";
import { HealthCheckReason } from "../../crds/healthcheck.ts";
import { backupPolicyDescriptor } from "../../crds/backuppolicy.ts";
import { maintenanceTaskDescriptor } from "../../crds/maintenancetask.ts";
import { parseDuration } from "../../lib/duration.ts";
import { ProbeEngine } from "../../probes/engine.ts";
import {
  TargetResolutionError,
  describeTarget,
  referencedSecrets,
  resolveTarget,
} from "../../probes/resolve.ts";
import {
  DEFAULT_TENANT_POLICY,
  withTenantPolicy,
  type TenantPolicy,
} from "../../probes/tenancy.ts";
import type { ProbeTarget } from "../../probes/types.ts";
import type { Controller, ReconcileContext } from "../../runtime/controller.ts";
import type { RouteHandler } from "../../runtime/http-server.ts";
import { objectKey } from "../../runtime/kube.ts";
import type { Runnable } from "../../runtime/runnable.ts";
import type { OperatorContext } from "../kit/context.ts";
import {
  createKindController,
  type KindDefinition,
  type KindResult,
} from "../kit/kind-controller.ts";
import { healthApi } from "./http-api.ts";
import { IncidentSourceApi } from "../incident/source.ts";
import { ReportHandler } from "./reports.ts";
import { SecretWatcher } from "./secrets.ts";
import { MaintenanceSuppressions, affectedChecks, type SuppressingTask } from "./suppression.ts";
import { applyReconcile, type HealthCheckObject as HealthCheck, type Status } from "./status.ts";
import { validateHealthCheck } from "./validate.ts";

/** Retry of a check whose Secret is missing, besides the Secret's own watch. */
export const MISSING_REFERENCE_RETRY_MS = 60_000;

export interface HealthCheckOptions {
  /** Longest time between status writes of an unchanged check. Default 60 s. */
  statusIntervalMs?: number;
  /** Probes running at once. Default 16. */
  concurrency?: number;
  /** Reconcile workers. Default 4. */
  workers?: number;
  /** What a check may make the operator do (operator flags). Default: GET/HEAD, own namespace, no node scope. */
  tenantPolicy?: TenantPolicy;
}

export interface HealthCheckSystem {
  controller: Controller<HealthCheck>;
  engine: ProbeEngine;
  secrets: SecretWatcher;
  /** The probe engine (and the Secret watches) as one leader-only runnable. */
  probes: Runnable;
  /** GET /health, /health/detailed, /health/<namespace>/<name>. */
  api: RouteHandler;
}

interface Resolved {
  target?: ProbeTarget;
  connectionVersion?: string;
  problem?: { reason: string; message: string };
}

/** Where a target's Secret references are, for messages ("pake-redis key url"). */
export function secretReferences(target: HealthCheckTarget): string[] {
  const refs: string[] = [];
  if (target.postgres)
    refs.push(
      `spec.target.postgres.connectionSecretRef ${target.postgres.connectionSecretRef.name} (key uri, or host/port/user/password/dbname)`,
    );
  if (target.redis)
    refs.push(
      `spec.target.redis.urlSecretRef ${target.redis.urlSecretRef.name} key ${target.redis.urlSecretRef.key}`,
    );
  for (const h of target.http?.headersFrom ?? [])
    refs.push(
      `spec.target.http.headersFrom[${h.name}] ${h.secretKeyRef.name} key ${h.secretKeyRef.key}`,
    );
  return refs;
}

function resolutionProblem(
  err: TargetResolutionError,
  target: HealthCheckTarget,
): { reason: string; message: string } {
  return {
    reason:
      err.reason === "ReferenceNotFound"
        ? CommonReason.ReferenceNotFound
        : HealthCheckReason.InvalidTarget,
    message: redactText(`${err.message}; referenced by ${secretReferences(target).join(", ")}`),
  };
}

export function createHealthCheckSystem(
  ctx: OperatorContext,
  opts: HealthCheckOptions = {},
): HealthCheckSystem {
  const { clock, client, events, kubeConfig } = ctx;
  const log = ctx.logger.child({ controller: "healthcheck" });
  const observedGenerations = new Map<string, number | undefined>();
  // The controller is created last; closures reach it through this holder.
  const holder: { controller?: Controller<HealthCheck> } = {};
  const tenantPolicy = opts.tenantPolicy ?? DEFAULT_TENANT_POLICY;

  const secrets = new SecretWatcher({
    kubeConfig,
    client,
    logger: log,
    onChange: (keys) => keys.forEach((k) => holder.controller?.enqueue(k)),
  });
  const forget = async (key: string): Promise<void> => {
    secrets.forget(key);
    reports.forget(key);
    observedGenerations.delete(key);
    await engine.remove(key);
  };
  // Owners of runs that may suppress a check's Incidents (one shared watch each).
  const owners = [maintenanceTaskDescriptor, backupPolicyDescriptor].map((kind) =>
    ctx.informers.get<SuppressingTask>(kind),
  );
  const reports = new ReportHandler({
    client,
    events,
    incidents: new IncidentSourceApi({ client, events, log }),
    suppressions: new MaintenanceSuppressions(
      owners.map((o) => o.informer),
      () => clock.now(),
    ),
    log,
    lookup: (key) => holder.controller?.informer.getByKey(key),
    remove: forget,
    now: () => clock.now(),
    statusIntervalMs: opts.statusIntervalMs,
  });
  const engine = new ProbeEngine({
    onReport: (report) => reports.handle(report),
    concurrency: opts.concurrency ?? 16,
    clock,
    logger: log,
  });

  async function resolve(hc: HealthCheck, target: HealthCheckTarget): Promise<Resolved> {
    const namespace = hc.metadata.namespace ?? "default";
    const versions: string[] = [];
    const readSecret = async (name: string) => {
      const secret = await secrets.read(namespace, name);
      if (secret) versions.push(`${name}@${secret.resourceVersion}`);
      return secret?.data;
    };
    try {
      const resolved = await resolveTarget(target, { namespace, readSecret, kubeConfig });
      return {
        // The probes refuse what the policy does not grant, even past the validator.
        target: withTenantPolicy(resolved, tenantPolicy, namespace),
        connectionVersion: versions.sort().join(","),
      };
    } catch (err) {
      if (err instanceof TargetResolutionError) return { problem: resolutionProblem(err, target) };
      throw err;
    }
  }

  function toEngine(hc: HealthCheck, spec: HealthCheckSpec, resolved: Resolved, key: string): void {
    const known = engine.has(key);
    const generation = hc.metadata.generation;
    engine.upsert({
      key,
      namespace: hc.metadata.namespace ?? "default",
      name: hc.metadata.name ?? "",
      target: resolved.target!,
      intervalMs: parseDuration(spec.interval),
      timeoutMs: parseDuration(spec.timeout),
      suspend: spec.suspend,
      policy: {
        thresholds: spec.thresholds,
        failureThreshold: spec.failureThreshold,
        successThreshold: spec.successThreshold,
        statusIntervalMs: opts.statusIntervalMs,
      },
      connectionVersion: resolved.connectionVersion,
      status: hc.status,
    });
    if (known && observedGenerations.get(key) !== generation && !spec.suspend) engine.runNow(key);
    observedGenerations.set(key, generation);
  }

  /** Whether the informer no longer holds this HealthCheck (deleted, or replaced by a namesake). */
  function isGone(hc: HealthCheck, key: string): boolean {
    return holder.controller?.informer.getByKey(key)?.metadata.uid !== hc.metadata.uid;
  }

  async function reconcile(
    hc: HealthCheck,
    spec: HealthCheckSpec,
    rctx: ReconcileContext,
  ): Promise<KindResult<Status>> {
    secrets.track(rctx.key, hc.metadata.namespace ?? "default", referencedSecrets(spec.target));
    const resolved = await resolve(hc, spec.target);
    // Deleted while its Secrets were read: the delete event's removal already
    // ran, so adding it now would probe it for ever.
    if (isGone(hc, rctx.key)) {
      await forget(rctx.key);
      rctx.log.info({}, "Skipped probing: HealthCheck deleted during its reconcile");
      return {};
    }
    if (resolved.problem) {
      await engine.remove(rctx.key);
      rctx.log.info({ reason: resolved.problem.reason }, "Stopped probing: target unresolved");
    } else toEngine(hc, spec, resolved, rctx.key);
    const now = rctx.clock.now();
    return {
      status: (status, current) =>
        applyReconcile(status, {
          generation: current.metadata.generation,
          target: describeTarget(spec.target),
          now,
          suspended: spec.suspend,
          problem: resolved.problem,
          intervalText: spec.interval,
        }),
      ...(resolved.problem ? { requeueAfter: MISSING_REFERENCE_RETRY_MS } : {}),
    };
  }

  const definition: KindDefinition<HealthCheck, HealthCheckSpec, Status> = {
    name: "healthcheck",
    kind: healthCheckDescriptor,
    schema: HealthCheckSpec,
    validate: (hc) => validateHealthCheck(hc, tenantPolicy),
    reconcile,
    onInvalid: (_hc, rctx) => forget(rctx.key),
  };
  const controller = createKindController(ctx, definition, { workers: opts.workers ?? 4 });
  holder.controller = controller;
  controller.informer.on({ delete: (hc) => void forget(objectKey(hc)) });

  const recheck = (old: SuppressingTask | undefined, next: SuppressingTask | undefined): void => {
    const namespace = (next ?? old)?.metadata.namespace;
    for (const name of affectedChecks(old, next)) engine.runNow(objectKey({ namespace, name }));
  };
  for (const owner of owners) {
    owner.informer.on({
      add: (t) => recheck(undefined, t),
      update: (o, n) => recheck(o, n),
      delete: (t) => recheck(t, undefined),
    });
  }

  const probes: Runnable = {
    name: "probe-engine",
    needsLeaderElection: true,
    async start() {
      await Promise.all(owners.map((o) => o.start()));
      await engine.start();
    },
    async stop(deadlineMs) {
      await engine.stop(deadlineMs);
      await secrets.stop();
      await Promise.all(owners.map((o) => o.stop()));
    },
  };
  return {
    controller,
    engine,
    secrets,
    probes,
    api: healthApi({ informer: controller.informer, now: () => clock.now() }),
  };
}
