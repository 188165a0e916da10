// Semantic checks of a HealthCheck behind the CRD schema.
import { HealthCheckSpec, type HealthCheck } from "../../crds/healthcheck.ts";
import { schemaProblems, type SpecProblem } from "../kit/spec-validation.ts";

export function validateHealthCheck(hc: HealthCheck): SpecProblem[] {
  const problems = schemaProblems(HealthCheckSpec, hc.spec);
  const regex = hc.spec?.target?.http?.bodyMatch?.regex;
  if (regex === undefined) return problems;
  try {
    new RegExp(regex);
  } catch (error) {
    problems.push({ field: "spec.target.http.bodyMatch.regex", message: (error as Error).message });
  }
  return problems;
}
