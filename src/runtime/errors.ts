// Kubernetes API errors, recognised the same way whether they come from the
// project's JSON client (`KubeApiError`) or from client-node's generated APIs
// (`ApiException`, which carries `code`), or from a watch (`statusCode`).

/** The `Status` object the API server returns with an error. */
export interface KubeStatus {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: Record<string, unknown>;
}

export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string;
  readonly status: KubeStatus | undefined;

  constructor(statusCode: number, status: KubeStatus | undefined, fallbackMessage = "") {
    super(status?.message ?? (fallbackMessage || `Kubernetes API error ${statusCode}`));
    this.name = "KubeApiError";
    this.statusCode = statusCode;
    this.reason = status?.reason ?? "";
    this.status = status;
  }
}

/** The HTTP status code of a Kubernetes API error, if it is one. */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === "number") return e.statusCode;
  if (typeof e.code === "number") return e.code;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => statusCodeOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusCodeOf(err) === 409;
/** 410 Gone: a watch or list continuation from a resourceVersion the server no longer has. */
export const isGone = (err: unknown): boolean => statusCodeOf(err) === 410;
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof KubeApiError ? err.reason === "AlreadyExists" : statusCodeOf(err) === 409;
