// Redaction, one scheme for every output: status, Events, the /health API,
// task results and log lines. Credentials come in two shapes:
// - inside free text: user:password@ in a URL, password=… / token: … pairs,
//   whatever a client library put into an error message (redactText);
// - as structured log fields named like a credential (LOG_REDACT_PATHS, for
//   pino's redact option, which replaces the value).
// Both replace what they hide with REDACTED.

export const REDACTED = "[REDACTED]";

// The userinfo runs to the LAST "@" before the path: a password may hold an
// unencoded "@" (postgres://u:p@ss@host), and stopping at the first one would
// leave the rest of it in the text.
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^\s/]*@/gi;
const SECRET_PAIR = /(password|passwd|pwd|token|secret)(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi;

/** Removes credentials from free text: userinfo in URLs and password=… style pairs. */
export function redactText(text: string): string {
  return text.replace(URL_USERINFO, `$1${REDACTED}@`).replace(SECRET_PAIR, `$1$2${REDACTED}`);
}

/** Log fields that may carry credentials, at the root and one level down (pino paths). */
export const LOG_REDACT_PATHS: readonly string[] = [
  "password",
  "token",
  "uri",
  "url",
  "connectionString",
  "secret",
  "data",
  "stringData",
  "headers.authorization",
].flatMap((path) => [path, `*.${path}`]);
