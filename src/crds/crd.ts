// Builds an apiextensions.k8s.io/v1 CustomResourceDefinition from a kind
// descriptor. Key order is fixed so the generated YAML is deterministic.
import type { KindDescriptor, PrinterColumn } from "./common.ts";
import { toStructuralSchema } from "./openapi.ts";
import type { JSONSchemaProps } from "./openapi.ts";

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: "Namespaced";
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JSONSchemaProps };
    }[];
  };
}

export interface CrdOptions {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * metadata stays free-form except for the one restriction the API server
 * allows in a CRD schema: the name.
 */
function metadataSchema(descriptor: KindDescriptor): JSONSchemaProps {
  if (descriptor.maxNameLength === undefined) return { type: "object" };
  return {
    type: "object",
    properties: {
      name: {
        type: "string",
        description: `Name of the object; at most ${descriptor.maxNameLength} characters because Job names are derived from it.`,
        maxLength: descriptor.maxNameLength,
      },
    },
  };
}

/** The openAPIV3Schema of a kind: apiVersion, kind, metadata, spec and status. */
export function objectSchema(descriptor: KindDescriptor): JSONSchemaProps {
  const schema: JSONSchemaProps = {
    type: "object",
    description: descriptor.description,
    required: ["spec"],
    properties: {
      apiVersion: {
        type: "string",
        description: "APIVersion defines the versioned schema of this representation of an object.",
      },
      kind: {
        type: "string",
        description:
          "Kind is a string value representing the REST resource this object represents.",
      },
      metadata: metadataSchema(descriptor),
      spec: toStructuralSchema(descriptor.spec, ".spec"),
      status: toStructuralSchema(descriptor.status, ".status"),
    },
  };
  if (descriptor.rootRules.length > 0) {
    schema["x-kubernetes-validations"] = descriptor.rootRules.map((r) => ({ ...r }));
  }
  return schema;
}

function printerColumn(c: PrinterColumn): PrinterColumn {
  const out: PrinterColumn = {
    name: c.name,
    type: c.type,
    jsonPath: c.jsonPath,
    description: c.description,
  };
  if (c.format !== undefined) out.format = c.format;
  if (c.priority !== undefined) out.priority = c.priority;
  return out;
}

export function buildCustomResourceDefinition(
  descriptor: KindDescriptor,
  options: CrdOptions = {},
): CustomResourceDefinition {
  const metadata: CustomResourceDefinition["metadata"] = {
    name: `${descriptor.plural}.${descriptor.group}`,
  };
  if (options.labels && Object.keys(options.labels).length > 0) metadata.labels = options.labels;
  if (options.annotations && Object.keys(options.annotations).length > 0) {
    metadata.annotations = options.annotations;
  }
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata,
    spec: {
      group: descriptor.group,
      names: {
        kind: descriptor.kind,
        listKind: descriptor.listKind,
        plural: descriptor.plural,
        singular: descriptor.singular,
        shortNames: [...descriptor.shortNames],
        categories: [...descriptor.categories],
      },
      scope: "Namespaced",
      versions: [
        {
          name: descriptor.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: descriptor.printerColumns.map(printerColumn),
          schema: { openAPIV3Schema: objectSchema(descriptor) },
        },
      ],
    },
  };
}
