// Semantic validation of a spec: what the CRD schema and its CEL rules cannot
// check at admission (a cron expression that parses, an IANA time zone, a
// regular expression that compiles, a URL) becomes the `SpecValid` condition
// with a message that names the field. An invalid spec is never acted on and
// never retried in a loop: the next reconcile comes from the next spec change.
import type { z } from "zod";
import {
  ConditionReason,
  ConditionType,
  setCondition,
  type StatusWithConditions,
} from "../runtime/conditions.ts";
import type { ReconcileContext } from "../runtime/controller.ts";
import type { KindDescriptor, KubeObject } from "../runtime/kube.ts";
import { computeStatus, updateStatus } from "../runtime/status.ts";

/** Condition types owned by the controllers (runtime types are in runtime/conditions.ts). */
export const ControllerConditionType = {
  /** The spec passed the controller's semantic checks (False: reason InvalidSpec, message names the field). */
  SpecValid: "SpecValid",
} as const;

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

/** Sets SpecValid (and Ready when invalid) on a status; pure. */
export function applySpecValidity(
  status: StatusWithConditions,
  problems: SpecProblem[],
  obj: { generation?: number; now: Date },
): void {
  if (problems.length === 0) {
    setCondition(
      status,
      { type: ControllerConditionType.SpecValid, status: "True", reason: "Valid", message: "" },
      obj.generation,
      obj.now,
    );
    return;
  }
  const message = describeProblems(problems);
  for (const type of [ControllerConditionType.SpecValid, ConditionType.Ready]) {
    setCondition(
      status,
      { type, status: "False", reason: ConditionReason.InvalidSpec, message },
      obj.generation,
      obj.now,
    );
  }
}

export interface ValidateOptions<T extends KubeObject> {
  kind: KindDescriptor;
  validate: SpecValidator<T>;
  /** Further status changes for a valid spec (e.g. Ready while the kind has no other work). */
  onValid?: (status: StatusWithConditions, obj: Readonly<T>, now: Date) => void;
}

/**
 * Validates obj and writes the outcome to status when it differs from what
 * the cached object already shows (no API call at all for a no-op). Returns
 * whether the spec is valid.
 */
export async function reconcileSpecValidity<T extends KubeObject>(
  obj: T,
  ctx: ReconcileContext,
  options: ValidateOptions<T>,
): Promise<boolean> {
  const problems = options.validate(obj);
  const now = new Date(ctx.clock.now());
  const mutate = (status: StatusWithConditions, current: Readonly<T>): void => {
    applySpecValidity(status, problems, { generation: current.metadata.generation, now });
    if (problems.length === 0) options.onValid?.(status, current, now);
  };
  if (!computeStatus(obj, [mutate]).changed) return problems.length === 0;
  await updateStatus(
    ctx.client,
    { kind: options.kind, namespace: obj.metadata.namespace, name: obj.metadata.name! },
    mutate,
  );
  // Status is written only when it changes, so this Event is not repeated per reconcile.
  if (problems.length > 0) {
    ctx.log.warn({ problems: problems.length }, "Rejected invalid spec");
    await ctx.events.warning(obj, ConditionReason.InvalidSpec, describeProblems(problems));
  }
  return problems.length === 0;
}
