// Semantic validation of a spec: what the CRD schema and its CEL rules cannot
// check at admission (a cron expression that parses, an IANA time zone, a
// regular expression that compiles, a URL) becomes the `SpecValid` condition
// with a message that names the field. The kind controller (kind-controller.ts)
// writes it; an invalid spec is never acted on and never retried in a loop:
// the next reconcile comes from the next spec change.
import type { z } from "zod";
import { CommonConditionType, CommonReason } from "../../crds/conditions.ts";
import { getCondition, setCondition, type StatusWithConditions } from "../../runtime/conditions.ts";
import type { KubeObject } from "../../runtime/kube.ts";
import { resolveSchedule, validateTimeZone } from "../../schedule/index.ts";

export interface SpecProblem {
  /** Path from the object root, e.g. "spec.timeZone". */
  field: string;
  message: string;
}

export type SpecValidator<T extends KubeObject> = (obj: T) => SpecProblem[];

/** Problems the zod schema finds in obj.spec (a safety net behind the CRD schema). */
export function schemaProblems(schema: z.ZodType, spec: unknown): SpecProblem[] {
  const result = schema.safeParse(spec);
  if (result.success) return [];
  return result.error.issues.map((issue) => ({
    field: ["spec", ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
}

/** "spec.a: x; spec.b: y" — bounded, for conditions and Events. */
export function describeProblems(problems: SpecProblem[]): string {
  const shown = problems.slice(0, 5).map((p) => `${p.field}: ${p.message}`);
  const more = problems.length > 5 ? `; and ${problems.length - 5} more` : "";
  return `${shown.join("; ")}${more}`;
}

/**
 * Sets SpecValid (and Ready when invalid) on a status; pure. A valid spec
 * also clears a Ready=False left by an earlier invalid one (to Unknown,
 * Pending), which the kind's own status mutator then overrides if it sets Ready.
 */
export function applySpecValidity(
  status: StatusWithConditions,
  problems: SpecProblem[],
  obj: { generation?: number; now: Date },
): void {
  if (problems.length === 0) {
    const wasInvalid =
      getCondition(status, CommonConditionType.Ready)?.reason === CommonReason.InvalidSpec;
    const valid = { status: "True", reason: CommonReason.Valid, message: "" } as const;
    setCondition(
      status,
      { type: CommonConditionType.SpecValid, ...valid },
      obj.generation,
      obj.now,
    );
    if (!wasInvalid) return;
    const pending = {
      status: "Unknown",
      reason: CommonReason.Pending,
      message: "Spec is valid",
    } as const;
    setCondition(status, { type: CommonConditionType.Ready, ...pending }, obj.generation, obj.now);
    return;
  }
  const message = describeProblems(problems);
  for (const type of [CommonConditionType.SpecValid, CommonConditionType.Ready]) {
    setCondition(
      status,
      { type, status: "False", reason: CommonReason.InvalidSpec, message },
      obj.generation,
      obj.now,
    );
  }
}

interface Scheduled {
  schedule?: string;
  timeZone?: string;
}

/** A schedule (cron or hashed-random macro) that resolves, and an IANA time zone. */
export function scheduleProblems(
  spec: Scheduled,
  owner: { namespace?: string; name?: string },
  field = "spec.schedule",
): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (spec.schedule !== undefined) {
    const resolved = resolveSchedule(spec.schedule, {
      namespace: owner.namespace ?? "",
      name: owner.name ?? "",
    });
    if (resolved.error) problems.push({ field, message: resolved.error });
  }
  if (spec.timeZone !== undefined) {
    const zone = validateTimeZone(spec.timeZone);
    if (!zone.valid) problems.push({ field: "spec.timeZone", message: zone.error });
  }
  return problems;
}
