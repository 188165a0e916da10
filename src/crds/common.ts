// Building blocks shared by the four pake.dev kinds: API identity, CEL rules
// attached through zod metadata, bounded strings and lists, durations, cron
// expressions, Secret references, conditions and the object wrapper.
//
// Every schema here is bounded (maxLength / maxItems / maxProperties) so that
// the API server's CEL cost estimator accepts the rules placed on them.
import { z } from "zod";
import { AGE_PATTERN, DURATION_PATTERN } from "../lib/duration.ts";
import type { KindDescriptor as ResourceKind } from "../lib/kinds.ts";

export const API_GROUP = "pake.dev";
export const API_VERSION = "v1alpha1";
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;
export const CATEGORY = "pake";

/** Annotation that starts a MaintenanceTask run now; its value is the request token. */
export const RUN_NOW_ANNOTATION = "pake.dev/run-now";

// ---------------------------------------------------------------------------
// CEL validation rules attached through zod metadata
// ---------------------------------------------------------------------------

/** One entry of `x-kubernetes-validations`, plus an optional TypeScript mirror. */
export interface CelRule<T = never> {
  /** CEL expression evaluated by the API server (self = the value of this node). */
  rule: string;
  /** Message shown to the user when the rule fails. */
  message: string;
  /** Relative JSON path of the field to report, e.g. ".timeout". */
  fieldPath?: string;
  /** FieldValueInvalid (default), FieldValueForbidden, FieldValueRequired or FieldValueDuplicate. */
  reason?:
    "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  /**
   * The same rule in TypeScript, so that zod parsing (samples, the CLI,
   * controllers) rejects what the API server rejects. Omitted for transition
   * rules (those that use oldSelf), which need the stored object.
   */
  check?: (value: T) => boolean;
}

export const CEL_METADATA_KEY = "x-kubernetes-validations";

/** The CEL part of a rule, as it appears in the CRD. */
export type CelValidation = Omit<CelRule, "check">;

function celPart(rule: CelRule<never>): CelValidation {
  const out: CelValidation = { rule: rule.rule, message: rule.message };
  if (rule.fieldPath !== undefined) out.fieldPath = rule.fieldPath;
  if (rule.reason !== undefined) out.reason = rule.reason;
  return out;
}

/**
 * Attaches CEL rules to a schema (as `x-kubernetes-validations` metadata) and
 * their TypeScript mirrors as zod refinements.
 */
export function withRules<S extends z.ZodType>(
  schema: S,
  rules: readonly CelRule<z.output<S>>[],
): S {
  let refined = schema;
  for (const r of rules) {
    const check = r.check;
    if (check === undefined) continue;
    const path = r.fieldPath === undefined ? [] : r.fieldPath.replace(/^\./, "").split(".");
    refined = refined.refine((v) => check(v), { message: r.message, path });
  }
  const existing = (refined.meta()?.[CEL_METADATA_KEY] as CelValidation[] | undefined) ?? [];
  return refined.meta({
    [CEL_METADATA_KEY]: [...existing, ...rules.map((r) => celPart(r as CelRule<never>))],
  });
}

/** CEL that is true when exactly one of the given optional fields of self is set. */
export function celExactlyOne(fields: readonly string[]): string {
  return `${fields.map((f) => `(has(self.${f}) ? 1 : 0)`).join(" + ")} == 1`;
}

/** TypeScript mirror of celExactlyOne. */
export function countSet(value: object, fields: readonly string[]): number {
  const record = value as Record<string, unknown>;
  return fields.filter((f) => record[f] !== undefined).length;
}

// ---------------------------------------------------------------------------
// Strings, names, maps
// ---------------------------------------------------------------------------

/** A bounded string with a description. */
export function text(max: number, description: string): z.ZodString {
  return z.string().max(max).describe(description);
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Name of an object in the same namespace (RFC 1123 subdomain, at most 253 characters). */
export function objectName(description: string): z.ZodString {
  return z.string().min(1).max(253).regex(DNS_SUBDOMAIN).describe(description);
}

/** RFC 1123 label, at most 63 characters (namespaces, Services, databases names are not this). */
export function labelName(description: string): z.ZodString {
  return z.string().min(1).max(63).regex(DNS_LABEL).describe(description);
}

/** A string→string map bounded in size, e.g. labels. */
export function stringMap(maxProperties: number, description: string) {
  return z
    .record(z.string().max(317), z.string().max(1024))
    .refine((m) => Object.keys(m).length <= maxProperties, {
      message: `at most ${maxProperties} entries`,
    })
    .meta({ maxProperties })
    .describe(description);
}

/** A bounded list of strings. */
export function stringList(maxItems: number, maxLength: number, description: string) {
  return z.array(z.string().min(1).max(maxLength)).max(maxItems).describe(description);
}

/** CEL rule for a path field that must not climb out of its volume with "..". */
export function noParentSegments<T extends { path: string }>(): CelRule<T> {
  return {
    rule: "!self.path.matches('(^|/)[.][.](/|$)')",
    message: 'path must not contain ".." segments',
    fieldPath: ".path",
    check: (v) => !/(^|\/)\.\.(\/|$)/.test(v.path),
  };
}

// ---------------------------------------------------------------------------
// Durations and cron
// ---------------------------------------------------------------------------

// The duration grammar and parser live in src/lib/duration.ts (one home for
// the project); the kinds' schemas and CEL mirrors use them from here.

/**
 * A duration such as "30s", "5m" or "1h30m" (units ms, s, m, h). Parsed by the
 * API server's CEL duration() function and by parseDuration().
 */
export function duration(description: string): z.ZodString {
  return z
    .string()
    .max(32)
    .regex(DURATION_PATTERN)
    .describe(`${description} A duration such as "30s", "5m" or "1h30m" (units ms, s, m, h).`);
}

/** An age such as "7d", "2w" or "36h" (units w, d, h, m, s). */
export function age(description: string): z.ZodString {
  return z
    .string()
    .max(32)
    .regex(AGE_PATTERN)
    .describe(`${description} An age such as "7d", "2w" or "36h" (units w, d, h, m, s).`);
}

const CRON_MACROS = "yearly|annually|monthly|weekly|daily|midnight|hourly";
const CRON_FIELD = "[0-9A-Za-z*?/,-]{1,64}";
/**
 * Catches obvious mistakes at admission (wrong number of fields, a TZ= prefix,
 * unknown macros); the controller parses the expression fully.
 */
export const CRON_PATTERN = new RegExp(
  `^(@(${CRON_MACROS})(-random)?|(${CRON_FIELD} +){4}${CRON_FIELD})$`,
);

export function cron(description: string): z.ZodString {
  return z
    .string()
    .min(1)
    .max(256)
    .regex(CRON_PATTERN)
    .describe(
      `${description} A five-field cron expression (minute hour day-of-month month day-of-week), ` +
        "a macro (@hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually) or a " +
        "hashed-random macro (@hourly-random, @daily-random, @weekly-random, @monthly-random) " +
        "that picks a fixed time derived from the object's name, spreading tasks out.",
    );
}

/** IANA time zone name such as "UTC" or "Europe/Berlin". */
export const TIME_ZONE_PATTERN = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,3}$/;

export function timeZone(): z.ZodDefault<z.ZodString> {
  return z
    .string()
    .max(64)
    .regex(TIME_ZONE_PATTERN)
    .default("UTC")
    .describe(
      'IANA time zone the schedule is interpreted in, such as "UTC" or "Europe/Berlin". Defaults to UTC.',
    );
}

/** RFC 3339 timestamp as written by the API server ("2024-05-01T02:00:00Z"). */
export function timestamp(description: string) {
  return z.iso.datetime({ offset: true }).describe(description);
}

// ---------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------

export const LocalObjectReference = z
  .strictObject({ name: objectName("Name of the object in the same namespace.") })
  .describe("Reference to an object in the same namespace.");
export type LocalObjectReference = z.infer<typeof LocalObjectReference>;

export const SecretReference = z
  .strictObject({ name: objectName("Name of the Secret in the same namespace.") })
  .describe("Reference to a Secret in the same namespace.");
export type SecretReference = z.infer<typeof SecretReference>;

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

export const SecretKeySelector = z
  .strictObject({
    name: objectName("Name of the Secret in the same namespace."),
    key: z.string().min(1).max(253).regex(SECRET_KEY).describe("Key within the Secret's data."),
  })
  .describe("A key of a Secret in the same namespace.");
export type SecretKeySelector = z.infer<typeof SecretKeySelector>;

export const ConfigMapKeySelector = z
  .strictObject({
    name: objectName("Name of the ConfigMap in the same namespace."),
    key: z.string().min(1).max(253).regex(SECRET_KEY).describe("Key within the ConfigMap's data."),
  })
  .describe("A key of a ConfigMap in the same namespace.");
export type ConfigMapKeySelector = z.infer<typeof ConfigMapKeySelector>;

const LabelSelectorRequirement = z
  .strictObject({
    key: z.string().min(1).max(317).describe("Label key the selector applies to."),
    operator: z
      .enum(["In", "NotIn", "Exists", "DoesNotExist"])
      .describe("Relationship of the key to the values."),
    values: stringList(
      32,
      63,
      "Values for In and NotIn; must be empty for Exists and DoesNotExist.",
    ).optional(),
  })
  .describe("A label selector requirement.");

export const LabelSelector = withRules(
  z
    .strictObject({
      matchLabels: stringMap(32, "Labels the object must carry (all of them).").optional(),
      matchExpressions: z
        .array(LabelSelectorRequirement)
        .max(16)
        .optional()
        .describe("Label requirements, all of which must hold."),
    })
    .describe("A Kubernetes label selector."),
  [
    {
      rule: "has(self.matchLabels) || has(self.matchExpressions)",
      message: "a selector needs matchLabels or matchExpressions",
      check: (s) => s.matchLabels !== undefined || s.matchExpressions !== undefined,
    },
  ],
);
export type LabelSelector = z.infer<typeof LabelSelector>;

// ---------------------------------------------------------------------------
// Status pieces
// ---------------------------------------------------------------------------

export function observedGeneration() {
  return z
    .int()
    .min(0)
    .optional()
    .describe("The metadata.generation of the spec the status reflects.");
}

export const Condition = z
  .strictObject({
    type: z
      .string()
      .min(1)
      .max(316)
      .regex(
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9_.-]+$/,
      )
      .describe("Type of condition in CamelCase, e.g. Ready."),
    status: z.enum(["True", "False", "Unknown"]).describe("Status of the condition."),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe("Machine-readable CamelCase reason for the last transition."),
    message: text(32768, "Human-readable details about the last transition."),
    lastTransitionTime: timestamp("When the condition last changed status."),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe("The metadata.generation the condition was set for."),
  })
  .describe("Standard Kubernetes condition.");
export type Condition = z.infer<typeof Condition>;

export function conditions() {
  return z
    .array(Condition)
    .max(16)
    .optional()
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
    .describe("Latest observations of the object's state (Ready and kind-specific types).");
}

// ---------------------------------------------------------------------------
// Object wrapper
// ---------------------------------------------------------------------------

export const ObjectMeta = z
  .looseObject({
    name: z.string().max(253).optional(),
    generateName: z.string().max(253).optional(),
    namespace: z.string().max(63).optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    generation: z.number().int().optional(),
    creationTimestamp: z.union([z.string(), z.date()]).optional(),
    deletionTimestamp: z.union([z.string(), z.date()]).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    finalizers: z.array(z.string()).optional(),
    ownerReferences: z.array(z.looseObject({})).optional(),
  })
  .describe("Standard object metadata.");
export type ObjectMeta = z.infer<typeof ObjectMeta>;

/** Schema of a whole object of a kind: apiVersion, kind, metadata, spec, status. */
export function kubeObject<K extends string, Spec extends z.ZodType, Status extends z.ZodType>(
  kind: K,
  spec: Spec,
  status: Status,
) {
  return z.object({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal(kind),
    metadata: ObjectMeta,
    spec,
    status: status.optional(),
  });
}

// ---------------------------------------------------------------------------
// Kind descriptors
// ---------------------------------------------------------------------------

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
  format?: string;
}

/** A pake.dev kind: how the API server names it (usable with the client as is) and its schema. */
export interface KindDescriptor<
  Spec extends z.ZodType = z.ZodType,
  Status extends z.ZodType = z.ZodType,
> extends ResourceKind {
  listKind: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  description: string;
  printerColumns: PrinterColumn[];
  spec: Spec;
  status: Status;
  /** CEL rules on the whole object (self.metadata.name is available). */
  rootRules: CelValidation[];
  /** Maximum length of metadata.name, enforced by the CRD schema (default: 253). */
  maxNameLength?: number;
}

export const AGE_COLUMN: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "Time since the object was created.",
};

/**
 * Longest object name for kinds whose Job names are derived from the object's
 * name plus a suffix (the CronJob controller's limit, for the same reason).
 */
export const MAX_NAME_FOR_JOBS = 52;
