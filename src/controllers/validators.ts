// Per-kind semantic checks behind the CRD schema. Each returns every problem
// found, with the field path from the object root.
import {
  BackupPolicySpec,
  HealthCheckSpec,
  IncidentSpec,
  MaintenanceTaskSpec,
  type BackupPolicy,
  type HealthCheck,
  type Incident,
  type MaintenanceTask,
} from "../crds/index.ts";
import { resolveSchedule, validateTimeZone } from "../schedule/index.ts";
import { schemaProblems, type SpecProblem } from "./spec-validation.ts";

interface Scheduled {
  schedule?: string;
  timeZone?: string;
}

/** A cron expression that parses and an IANA time zone. */
export function scheduleProblems(
  spec: Scheduled,
  owner: { namespace?: string; name?: string },
): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (spec.schedule !== undefined) {
    const resolved = resolveSchedule(spec.schedule, {
      namespace: owner.namespace ?? "",
      name: owner.name ?? "",
    });
    if (resolved.error) problems.push({ field: "spec.schedule", message: resolved.error });
  }
  if (spec.timeZone !== undefined) {
    const zone = validateTimeZone(spec.timeZone);
    if (!zone.valid) problems.push({ field: "spec.timeZone", message: zone.error });
  }
  return problems;
}

export function validateHealthCheck(hc: HealthCheck): SpecProblem[] {
  const problems = schemaProblems(HealthCheckSpec, hc.spec);
  const http = hc.spec?.target?.http;
  if (http?.bodyMatch?.regex !== undefined) {
    try {
      new RegExp(http.bodyMatch.regex);
    } catch (error) {
      problems.push({
        field: "spec.target.http.bodyMatch.regex",
        message: (error as Error).message,
      });
    }
  }
  return problems;
}

export function validateMaintenanceTask(mt: MaintenanceTask): SpecProblem[] {
  return [
    ...schemaProblems(MaintenanceTaskSpec, mt.spec),
    ...scheduleProblems(mt.spec ?? {}, mt.metadata),
  ];
}

export function validateBackupPolicy(bp: BackupPolicy): SpecProblem[] {
  const problems = [
    ...schemaProblems(BackupPolicySpec, bp.spec),
    ...scheduleProblems(bp.spec ?? {}, bp.metadata),
  ];
  const verify = bp.spec?.verify?.schedule;
  if (verify !== undefined) {
    const resolved = resolveSchedule(verify, {
      namespace: bp.metadata.namespace ?? "",
      name: bp.metadata.name ?? "",
    });
    if (resolved.error) problems.push({ field: "spec.verify.schedule", message: resolved.error });
  }
  return problems;
}

export function validateIncident(inc: Incident): SpecProblem[] {
  return schemaProblems(IncidentSpec, inc.spec);
}
