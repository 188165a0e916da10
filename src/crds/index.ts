// The pake.dev/v1alpha1 API: zod schemas (the single source of truth), the
// TypeScript types inferred from them, and one descriptor per kind from which
// the CRDs are generated (tools/generate-crds.ts).
import type { KindDescriptor } from "./common.ts";
import { backupPolicyDescriptor } from "./backuppolicy.ts";
import { healthCheckDescriptor } from "./healthcheck.ts";
import { incidentDescriptor } from "./incident.ts";
import { maintenanceTaskDescriptor } from "./maintenancetask.ts";

export * from "./common.ts";
export * from "./healthcheck.ts";
export * from "./maintenancetask.ts";
export * from "./backuppolicy.ts";
export * from "./incident.ts";
export { toStructuralSchema, walkSchema, StructuralSchemaError } from "./openapi.ts";
export type { JSONSchemaProps } from "./openapi.ts";
export { buildCustomResourceDefinition } from "./crd.ts";
export type { CustomResourceDefinition } from "./crd.ts";

/** Every kind of the API, in a stable order. */
export const KINDS: readonly KindDescriptor[] = [
  healthCheckDescriptor,
  maintenanceTaskDescriptor,
  backupPolicyDescriptor,
  incidentDescriptor,
];
