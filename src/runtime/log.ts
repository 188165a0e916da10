// Structured JSON logs (pino), Kubernetes style: capitalised past-tense
// messages with the object in structured fields, e.g.
//   log.info({ controller: "healthcheck", namespace, name }, "Created Incident")
// Fields that may carry credentials are redacted at the root logger, so no
// child logger can leak them.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";

export type { Logger };

export const redactedPaths = [
  "password",
  "*.password",
  "token",
  "*.token",
  "uri",
  "*.uri",
  "url",
  "*.url",
  "connectionString",
  "*.connectionString",
  "secret",
  "*.secret",
  "data",
  "*.data",
  "stringData",
  "*.stringData",
  "headers.authorization",
  "*.headers.authorization",
];

export function createLogger(options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const settings: LoggerOptions = {
    level: process.env.LOG_LEVEL ?? "info",
    base: { component: "pake-operator" },
    redact: { paths: redactedPaths, censor: "[REDACTED]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    ...options,
  };
  return destination ? pino(settings, destination) : pino(settings);
}

/** The process-wide root logger; controllers take children of it. */
export const log: Logger = createLogger();
