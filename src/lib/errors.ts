// Messages of thrown values, for logs, Events and status. (Kubernetes API
// error classification, isNotFound and friends, is in runtime/errors.ts.)

/** The error's message, with its code when the message does not already name it. */
export function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const msg = err.message || err.name;
  if (err instanceof AggregateError && err.errors.length > 0 && !msg) {
    return errorMessage(err.errors[0]);
  }
  if (typeof code === "string" && !msg.includes(code)) return `${msg} (${code})`;
  return msg;
}
