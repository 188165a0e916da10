// What a HealthCheck author may make the operator do on their behalf. The
// operator probes with its own network position and its own cluster access,
// so a check in a tenant's namespace must not reach further than the operator
// allows: by default HTTP GET and HEAD only, kubernetes targets in the check's
// own namespace only, and no node figures (system scope Nodes or All). Each
// wider power is an operator flag (src/cli/operator-config.ts).
//
// The validator (controllers/healthcheck/validate.ts) turns a refusal into
// SpecValid=False naming the field; the probes refuse again (defence in
// depth), from the grants the controller puts on each resolved target
// (withTenantPolicy): a target without them gets the defaults.
import type { ProbeTarget } from "./types.ts";

/** The methods an http target may name (the CRD's enum). */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

export interface TenantPolicy {
  /** Methods an http target may use (--healthcheck-http-methods). */
  httpMethods: readonly string[];
  /** kubernetes targets may name another namespace (--healthcheck-cross-namespace). */
  crossNamespace: boolean;
  /** system targets may use scope Nodes or All (--healthcheck-node-scope). */
  nodeScope: boolean;
}

export const DEFAULT_TENANT_POLICY: TenantPolicy = {
  httpMethods: ["GET", "HEAD"],
  crossNamespace: false,
  nodeScope: false,
};

/** Why the method is refused, or undefined when the operator allows it. */
export function methodRefusal(
  method: string,
  allowed: readonly string[] = DEFAULT_TENANT_POLICY.httpMethods,
): string | undefined {
  if (allowed.includes(method)) return undefined;
  return `method ${method} is not allowed by the operator (allowed: ${allowed.join(", ")}); the operator flag --healthcheck-http-methods allows more`;
}

/** Why a body is refused: a GET or HEAD would still deliver it, so the method policy would not hold. */
export function bodyRefusal(method: string, body: string | undefined): string | undefined {
  if (body === undefined || body === "" || (method !== "GET" && method !== "HEAD"))
    return undefined;
  return "GET and HEAD requests carry no body; set a method that does (allowed by the operator flag --healthcheck-http-methods)";
}

/** Why the http probe refuses the request (method, then body), or undefined. */
export function httpRequestRefusal(target: {
  method?: string;
  body?: string;
  allowedMethods?: readonly string[];
}): string | undefined {
  const method = target.method ?? "GET";
  return methodRefusal(method, target.allowedMethods) ?? bodyRefusal(method, target.body);
}

/** Why reading `namespace` is refused to a check in `checkNamespace`, or undefined. */
export function namespaceRefusal(
  namespace: string,
  checkNamespace: string | undefined,
  crossNamespace = false,
): string | undefined {
  if (crossNamespace || namespace === checkNamespace) return undefined;
  return `namespace ${namespace} is not the HealthCheck's own (${checkNamespace ?? "unknown"}); the operator flag --healthcheck-cross-namespace allows other namespaces`;
}

/** Why a system scope is refused, or undefined. */
export function nodeScopeRefusal(scope: string, nodeScope = false): string | undefined {
  if (nodeScope || scope === "Host") return undefined;
  return `scope ${scope} reads the cluster's node figures, which the operator allows only with the operator flag --healthcheck-node-scope`;
}

/** The resolved target with the operator's grants for a check in `checkNamespace`. */
export function withTenantPolicy(
  target: ProbeTarget,
  policy: TenantPolicy,
  checkNamespace: string,
): ProbeTarget {
  switch (target.type) {
    case "http":
      return { ...target, allowedMethods: policy.httpMethods };
    case "kubernetes":
      return { ...target, checkNamespace, crossNamespace: policy.crossNamespace };
    case "system":
      return { ...target, nodeScope: policy.nodeScope };
    default:
      return target;
  }
}
