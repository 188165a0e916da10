// Converts zod 4 schemas to Kubernetes structural OpenAPI v3 schemas
// (apiextensions.k8s.io/v1 openAPIV3Schema).
//
// zod's own JSON Schema generator does the walking (io: "input", so fields
// with defaults are optional and carry `default`); this module then rewrites
// the result into the structural subset the API server accepts and fails
// loudly on anything it cannot express, instead of emitting a schema the API
// server would reject or silently prune.
import { z } from "zod";

/** A node of an openAPIV3Schema. */
export interface JSONSchemaProps {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  format?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  "x-kubernetes-validations"?: {
    rule: string;
    message: string;
    fieldPath?: string;
    reason?: string;
  }[];
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
}

/** Keywords copied as they are (after the rewrites below). */
const PASS_THROUGH = new Set<string>([
  "type",
  "description",
  "format",
  "default",
  "enum",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "required",
  "x-kubernetes-validations",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-int-or-string",
]);

/** Keywords handled structurally or dropped on purpose. */
const HANDLED = new Set<string>([
  "properties",
  "items",
  "additionalProperties",
  "const",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "$schema",
  "title",
  "examples",
]);

type Json = Record<string, unknown>;

/** Output key order: scalars first, then rules, then children (readable, deterministic). */
const KEY_ORDER = [
  "type",
  "format",
  "description",
  "default",
  "enum",
  "minimum",
  "exclusiveMinimum",
  "maximum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-map-type",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-validations",
  "required",
  "properties",
  "items",
  "additionalProperties",
];

function ordered(node: Json): Json {
  const out: Json = {};
  for (const key of KEY_ORDER) if (key in node) out[key] = node[key];
  return out;
}

export class StructuralSchemaError extends Error {
  constructor(path: string, problem: string) {
    super(`${path || "<root>"}: ${problem}`);
    this.name = "StructuralSchemaError";
  }
}

function isJson(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function copyPassThrough(node: Json, out: Json, path: string): void {
  for (const [key, value] of Object.entries(node)) {
    if (PASS_THROUGH.has(key)) {
      out[key] = value;
    } else if (!HANDLED.has(key)) {
      throw new StructuralSchemaError(
        path,
        `keyword "${key}" is not allowed in a structural schema`,
      );
    }
  }
}

/** zod's JSON Schema uses ±MAX_SAFE_INTEGER for z.int(); those bounds say nothing. */
function dropSafeIntegerBounds(out: Json): void {
  if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
  if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
}

/** Exclusive bounds in both the boolean (OpenAPI 3.0) and numeric (2020-12) forms. */
function convertExclusiveBounds(node: Json, out: Json): void {
  if (typeof node.exclusiveMinimum === "number") {
    out.minimum = node.exclusiveMinimum;
    out.exclusiveMinimum = true;
  } else if (node.exclusiveMinimum === true) out.exclusiveMinimum = true;
  if (typeof node.exclusiveMaximum === "number") {
    out.maximum = node.exclusiveMaximum;
    out.exclusiveMaximum = true;
  } else if (node.exclusiveMaximum === true) out.exclusiveMaximum = true;
}

const isEmpty = (v: unknown): boolean => isJson(v) && Object.keys(v).length === 0;

function convertChildren(node: Json, out: Json, path: string): void {
  if (isJson(node.properties) && !isEmpty(node.properties)) {
    const props: Record<string, Json> = {};
    for (const [name, child] of Object.entries(node.properties)) {
      props[name] = convertNode(child, `${path}.${name}`);
    }
    out.properties = props;
  }
  if (node.items !== undefined) {
    if (!isJson(node.items)) throw new StructuralSchemaError(path, "tuple items are not allowed");
    out.items = convertNode(node.items, `${path}[*]`);
  }
  // additionalProperties: false is the zod default for strict objects; the API
  // server prunes unknown fields anyway and forbids it next to properties.
  // A loose object ({} = anything) is free-form: only allowed with
  // x-kubernetes-preserve-unknown-fields, which checkTyped enforces.
  if (isJson(node.additionalProperties) && !isEmpty(node.additionalProperties)) {
    if (out.properties !== undefined) {
      throw new StructuralSchemaError(path, "properties and additionalProperties are exclusive");
    }
    out.additionalProperties = convertNode(node.additionalProperties, `${path}[*]`);
  }
}

function checkTyped(out: Json, path: string): void {
  if (out["x-kubernetes-int-or-string"] === true) return;
  if (typeof out.type !== "string") {
    throw new StructuralSchemaError(path, "every node needs a type (unions are not structural)");
  }
  const freeForm = out.properties === undefined && out.additionalProperties === undefined;
  if (out.type === "object" && freeForm && out["x-kubernetes-preserve-unknown-fields"] !== true) {
    throw new StructuralSchemaError(
      path,
      "an object needs properties, additionalProperties or x-kubernetes-preserve-unknown-fields",
    );
  }
  if (out.type === "array" && out.items === undefined) {
    throw new StructuralSchemaError(path, "an array needs items");
  }
}

function convertNode(node: unknown, path: string): Json {
  if (!isJson(node)) throw new StructuralSchemaError(path, "schema node is not an object");
  for (const key of ["anyOf", "oneOf", "allOf", "not", "$ref", "nullable"]) {
    if (key in node) throw new StructuralSchemaError(path, `"${key}" is not supported`);
  }
  const out: Json = {};
  copyPassThrough(node, out, path);
  if ("const" in node) out.enum = [node.const];
  // z.iso.datetime() adds a long regex next to format: date-time; the API
  // server validates the format itself.
  if (out.format === "date-time") delete out.pattern;
  dropSafeIntegerBounds(out);
  convertExclusiveBounds(node, out);
  convertChildren(node, out, path);
  checkTyped(out, path);
  return ordered(out);
}

/** Converts a zod schema to a structural schema node; throws StructuralSchemaError. */
export function toStructuralSchema(schema: z.ZodType, path = ""): JSONSchemaProps {
  const json = z.toJSONSchema(schema, {
    io: "input",
    target: "openapi-3.0",
    unrepresentable: "throw",
    reused: "inline",
    cycles: "throw",
  });
  return convertNode(json, path);
}

/** Calls visit for every node of a structural schema, depth first, with its path. */
export function walkSchema(
  node: JSONSchemaProps,
  visit: (node: JSONSchemaProps, path: string) => void,
  path = "",
): void {
  visit(node, path);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    walkSchema(child, visit, `${path}.${name}`);
  }
  if (node.items) walkSchema(node.items, visit, `${path}[*]`);
  if (node.additionalProperties) walkSchema(node.additionalProperties, visit, `${path}{*}`);
}
