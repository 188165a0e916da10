// Semantic checks of a HealthCheck behind the CRD schema.
import { HealthCheckSpec, type HealthCheck } from "../../crds/healthcheck.ts";
import { bodyPatternProblem } from "../../probes/re2.ts";
import {
  DEFAULT_TENANT_POLICY,
  bodyRefusal,
  methodRefusal,
  namespaceRefusal,
  nodeScopeRefusal,
  type TenantPolicy,
} from "../../probes/tenancy.ts";
import { schemaProblems, type SpecProblem } from "../kit/spec-validation.ts";

export function validateHealthCheck(
  hc: HealthCheck,
  policy: TenantPolicy = DEFAULT_TENANT_POLICY,
): SpecProblem[] {
  const problems = schemaProblems(HealthCheckSpec, hc.spec);
  problems.push(...tenantProblems(hc, policy));
  const regex = hc.spec?.target?.http?.bodyMatch?.regex;
  if (regex === undefined) return problems;
  // The probe matches with RE2, so RE2 decides what compiles (no lookarounds, no backreferences).
  const problem = bodyPatternProblem(regex);
  if (problem) problems.push({ field: "spec.target.http.bodyMatch.regex", message: problem });
  return problems;
}

type Target = Partial<HealthCheck["spec"]["target"]> | undefined;

/** What the check asks the operator to do beyond what its flags allow (probes/tenancy.ts). */
function tenantProblems(hc: HealthCheck, policy: TenantPolicy): SpecProblem[] {
  const target = hc.spec?.target as Target;
  const problems: [string, string | undefined][] = [
    ["spec.target.http.method", methodProblem(target, policy)],
    [
      "spec.target.http.body",
      target?.http && bodyRefusal(target.http.method ?? "GET", target.http.body),
    ],
    ["spec.target.kubernetes.namespace", namespaceProblem(target, hc.metadata?.namespace, policy)],
    ["spec.target.system.scope", scopeProblem(target, policy)],
  ];
  return problems.flatMap(([field, message]) => (message ? [{ field, message }] : []));
}

function methodProblem(target: Target, policy: TenantPolicy): string | undefined {
  if (!target?.http) return undefined;
  return methodRefusal(target.http.method ?? "GET", policy.httpMethods);
}

function namespaceProblem(
  target: Target,
  checkNamespace: string | undefined,
  policy: TenantPolicy,
): string | undefined {
  // No namespace: the check's own.
  const namespace = target?.kubernetes?.namespace;
  if (namespace === undefined) return undefined;
  return namespaceRefusal(namespace, checkNamespace, policy.crossNamespace);
}

function scopeProblem(target: Target, policy: TenantPolicy): string | undefined {
  if (!target?.system) return undefined;
  return nodeScopeRefusal(target.system.scope ?? "Host", policy.nodeScope);
}
