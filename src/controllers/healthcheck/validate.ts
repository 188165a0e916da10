// Semantic checks of a HealthCheck behind the CRD schema.
import { HealthCheckSpec, type HealthCheck } from "../../crds/healthcheck.ts";
import { bodyPatternProblem } from "../../probes/re2.ts";
import { schemaProblems, type SpecProblem } from "../kit/spec-validation.ts";

export function validateHealthCheck(hc: HealthCheck): SpecProblem[] {
  const problems = schemaProblems(HealthCheckSpec, hc.spec);
  const regex = hc.spec?.target?.http?.bodyMatch?.regex;
  if (regex === undefined) return problems;
  // The probe matches with RE2, so RE2 decides what compiles (no lookarounds, no backreferences).
  const problem = bodyPatternProblem(regex);
  if (problem) problems.push({ field: "spec.target.http.bodyMatch.regex", message: problem });
  return problems;
}
