// The probe for each target type.
import { httpProbe } from "./http.ts";
import { kubernetesProbe } from "./kubernetes.ts";
import { postgresProbe } from "./postgres.ts";
import { redisProbe } from "./redis.ts";
import { systemProbe } from "./system.ts";
import { tcpProbe } from "./tcp.ts";
import type { Probe, ProbeContext, ProbeResult, ProbeTarget, ProbeType } from "./types.ts";

export type ProbeRegistry = { [K in ProbeType]: Probe<Extract<ProbeTarget, { type: K }>> };

export const defaultProbes: ProbeRegistry = {
  postgres: postgresProbe,
  redis: redisProbe,
  http: httpProbe,
  tcp: tcpProbe,
  kubernetes: kubernetesProbe,
  system: systemProbe,
};

/** Runs the registry's probe for the target's type. */
export function runProbe(
  registry: ProbeRegistry,
  target: ProbeTarget,
  ctx: ProbeContext,
): Promise<ProbeResult> {
  const probe = registry[target.type] as Probe;
  return probe(target, ctx);
}
