// Who changed an Incident's spec field: the pake.dev/actor annotation when the
// same field manager set it together with the field (the CLI does, from the
// caller's SelfSubjectReview; the source API does for automatic resolution),
// else the field manager that owns the field (kubectl-edit, kubectl-patch,
// argocd-controller, …). An annotation left behind by an earlier change is
// not trusted for a later change made by someone else.
import { IncidentAnnotation } from "../../crds/incident.ts";

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  time?: string | Date;
  fieldsV1?: Record<string, unknown>;
}

interface Meta {
  annotations?: Record<string, string> | undefined;
  managedFields?: ManagedFieldsEntry[] | undefined;
}

function owns(entry: ManagedFieldsEntry, path: readonly string[]): boolean {
  let node: unknown = entry.fieldsV1;
  for (const key of path) {
    if (typeof node !== "object" || node === null || !(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

const ACTOR_PATH = ["f:metadata", "f:annotations", `f:${IncidentAnnotation.Actor}`];

/** The actor of the last change of spec.<field>; `fallback` when nothing says. */
export function actorOf(meta: Meta, field: string, fallback: string): string {
  const entries = meta.managedFields ?? [];
  const owner = entries.find((e) => owns(e, ["f:spec", `f:${field}`]));
  if (owner === undefined) return fallback;
  const annotated = meta.annotations?.[IncidentAnnotation.Actor];
  if (annotated !== undefined && annotated !== "" && owns(owner, ACTOR_PATH)) return annotated;
  return owner.manager ?? fallback;
}
