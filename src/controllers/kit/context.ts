// The operator context: what every controller module needs, built once per
// process (one API client, one Event recorder with one de-duplication cache,
// one clock, one informer factory so no resource is watched twice).
import type { KubeConfig } from "@kubernetes/client-node";
import type { IncidentPolicy } from "../../config/incident-policy.ts";
import { realClock, type Clock } from "../../runtime/clock.ts";
import { EventRecorder } from "../../runtime/events.ts";
import { InformerFactory } from "../../runtime/informer-factory.ts";
import { KubeClient } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import type { TenantPolicy } from "../../probes/tenancy.ts";

/** The part of the operator's configuration the controllers read. */
export interface ControllerConfig {
  /** Namespaces to watch; empty: all. */
  namespaces: string[];
  /** Image of the Jobs the operator creates (runs `pake-operator run …`). */
  runnerImage: string;
  /** Namespace the operator runs in (where its receivers' Secrets live). */
  operatorNamespace?: string;
  /** The incident policy (--incident-policy); default: the operations guide's, no receivers. */
  incidentPolicy?: IncidentPolicy;
  /** What a HealthCheck may make the operator do (--healthcheck-* flags); default: probes/tenancy.ts. */
  healthCheckTenantPolicy?: TenantPolicy;
  /** Whether a custom MaintenanceTask may name its own ServiceAccount (--allow-custom-service-account). */
  allowCustomServiceAccount?: boolean;
  /** Environment for settings that have no flag (e.g. PAKE_PROBE_CONCURRENCY). */
  env: Readonly<Record<string, string | undefined>>;
}

export interface OperatorContext {
  kubeConfig: KubeConfig;
  config: ControllerConfig;
  client: KubeClient;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  informers: InformerFactory;
}

export interface OperatorContextOptions {
  kubeConfig: KubeConfig;
  config: ControllerConfig;
  logger: Logger;
  clock?: Clock;
}

export function createOperatorContext(opts: OperatorContextOptions): OperatorContext {
  const clock = opts.clock ?? realClock;
  const client = new KubeClient(opts.kubeConfig);
  return {
    kubeConfig: opts.kubeConfig,
    config: opts.config,
    client,
    events: new EventRecorder({ client, component: "pake-operator", clock, logger: opts.logger }),
    clock,
    logger: opts.logger,
    informers: new InformerFactory({
      kubeConfig: opts.kubeConfig,
      client,
      namespaces: opts.config.namespaces,
      clock,
      logger: opts.logger,
    }),
  };
}
