// Structured JSON logs (pino), Kubernetes style: capitalised past-tense
// messages with the object in structured fields, e.g.
//   log.info({ controller: "healthcheck", namespace, name }, "Created Incident")
// Fields that may carry credentials (lib/redact.ts) are redacted at the root
// logger, so no child logger can leak them.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { LOG_REDACT_PATHS, REDACTED } from "../lib/redact.ts";

export type { Logger };

export function createLogger(options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const settings: LoggerOptions = {
    level: process.env.LOG_LEVEL ?? "info",
    base: { component: "pake-operator" },
    redact: { paths: [...LOG_REDACT_PATHS], censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    ...options,
  };
  return destination ? pino(settings, destination) : pino(settings);
}

/** The process-wide root logger; controllers take children of it. */
export const log: Logger = createLogger();
