// Sending notifications to the receivers of the incident policy: a generic
// JSON webhook, a Slack incoming webhook, an Alertmanager (API v2). One
// attempt per due delivery; delivery.ts records the outcome and backs off.
//
// Receiver URLs are secrets (a Slack webhook URL is its own credential):
// they come from the policy or from a Secret key in the operator's
// namespace, and never appear in an outcome, a log line or an Event. Failure
// messages are short and fixed ("HTTP 503", "timeout after 10s",
// "connection refused").
//
// Payloads (README, "Notifications"): the same Incident gives the same
// Alertmanager labels for every event, so Alertmanager sees one alert that
// fires and then ends; webhook and Slack requests carry the delivery's
// idempotency key in an Idempotency-Key header.
import type { IncidentPolicy, Receiver } from "../../config/incident-policy.ts";
import type { NotificationDelivery } from "../../crds/incident.ts";
import { parseDuration } from "../../lib/duration.ts";
import { SecretKind } from "../../lib/kinds.ts";
import { isNotFound, statusCodeOf } from "../../runtime/errors.ts";
import type { KubeClient, KubeObject } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import { formatTime } from "../../runtime/normalize.ts";
import type { DeliveryOutcome, NotificationSender } from "./delivery.ts";
import { targetAt } from "./lifecycle.ts";
import type { IncidentObject } from "./source.ts";

/** How long an Alertmanager alert keeps firing unless a later notification renews or ends it. */
export const ALERT_FIRING_WINDOW_MS = 24 * 3_600_000;
export const ALERT_NAME = "PakeIncident";

/** What every payload is built from. */
export interface NotificationInput {
  incident: IncidentObject;
  delivery: NotificationDelivery;
  /** Who is responsible at the delivery's escalation level. */
  target: string;
  now: number;
}

export interface WebhookPayload {
  idempotencyKey: string;
  event: NotificationDelivery["event"];
  level: number;
  target: string;
  incident: {
    namespace: string;
    name: string;
    uid: string;
    severity: string;
    title: string;
    description: string | null;
    phase: string | null;
    source: { kind: string; name: string } | null;
    responseDeadline: string | null;
    escalationLevel: number;
    openedAt: string | null;
    resolvedAt: string | null;
    occurrences: number;
  };
}

export interface SlackPayload {
  text: string;
}

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

const orNull = <T>(value: T | undefined): T | null => value ?? null;

/** The generic webhook's JSON body: every field present, null when not known. */
export function webhookPayload(input: NotificationInput): WebhookPayload {
  const { incident, delivery } = input;
  const status = incident.status ?? {};
  return {
    idempotencyKey: delivery.key,
    event: delivery.event,
    level: delivery.level,
    target: input.target,
    incident: {
      namespace: incident.metadata.namespace ?? "",
      name: incident.metadata.name ?? "",
      uid: incident.metadata.uid ?? "",
      severity: incident.spec.severity,
      title: incident.spec.title,
      description: orNull(incident.spec.description),
      phase: orNull(status.phase),
      source: incident.spec.source ? { ...incident.spec.source } : null,
      responseDeadline: orNull(status.responseDeadline),
      escalationLevel: status.escalationLevel ?? 0,
      openedAt: orNull(status.openedAt),
      resolvedAt: orNull(status.resolvedAt),
      occurrences: status.occurrences ?? 1,
    },
  };
}

/** Slack treats &, < and > as control characters in text. */
const slackEscape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function slackTail(input: NotificationInput): string {
  const status = input.incident.status ?? {};
  if (input.delivery.event === "Resolved") {
    return `resolved at ${status.resolvedAt ?? formatTime(input.now)}`;
  }
  const deadline = status.responseDeadline ?? "unknown";
  if (input.delivery.event === "Escalated") return `${input.target}, deadline ${deadline} passed`;
  return `${input.target}, respond by ${deadline}`;
}

/** A Slack incoming-webhook message: one line of plain text. */
export function slackPayload(input: NotificationInput): SlackPayload {
  const { incident, delivery } = input;
  const event =
    delivery.event === "Escalated" ? `Escalated to level ${delivery.level}` : delivery.event;
  const where = `${incident.metadata.namespace ?? ""}/${incident.metadata.name ?? ""}`;
  const title = incident.spec.title.replace(/\s+/g, " ");
  const line = `[${incident.spec.severity.toUpperCase()}] ${event}: ${title} (${where}) — ${slackTail(input)}`;
  return { text: slackEscape(line) };
}

/** Labels identify the alert: the same for every event of one Incident. */
function alertLabels(incident: IncidentObject): Record<string, string> {
  const source = incident.spec.source;
  return {
    alertname: ALERT_NAME,
    namespace: incident.metadata.namespace ?? "",
    incident: incident.metadata.name ?? "",
    severity: incident.spec.severity,
    ...(source ? { source_kind: source.kind, source_name: source.name } : {}),
  };
}

/**
 * One alert for Alertmanager's POST /api/v2/alerts. A firing alert ends a
 * day from now unless renewed (without endsAt, Alertmanager would resolve it
 * after its resolve_timeout, 5 minutes by default); a resolution ends it at
 * resolvedAt.
 */
export function alertmanagerPayload(input: NotificationInput): AlertmanagerAlert[] {
  const { incident, delivery, now } = input;
  const status = incident.status ?? {};
  const endsAt =
    delivery.event === "Resolved"
      ? (status.resolvedAt ?? formatTime(now))
      : formatTime(now + ALERT_FIRING_WINDOW_MS);
  const annotations: Record<string, string> = {
    summary: incident.spec.title,
    escalation_target: input.target,
    ...(incident.spec.description ? { description: incident.spec.description } : {}),
    ...(status.responseDeadline ? { response_deadline: status.responseDeadline } : {}),
  };
  return [
    {
      labels: alertLabels(incident),
      annotations,
      startsAt: status.openedAt ?? incident.metadata.creationTimestamp ?? formatTime(now),
      endsAt,
    },
  ];
}

/** A failure whose message is safe to record: no URL, no Secret value. */
class DeliveryError extends Error {
  override readonly name = "DeliveryError";
}

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

export interface NotificationSenderDeps {
  client: KubeClient;
  /** The operator's namespace: where receivers' Secrets are. */
  namespace: string;
  policy: IncidentPolicy;
  /** For tests; default the global fetch. */
  fetch?: typeof fetch;
}

async function readSecretKey(deps: NotificationSenderDeps, ref: { name: string; key: string }) {
  const missing = `Secret ${ref.name} key ${ref.key} not found`;
  let secret: SecretObject;
  try {
    secret = await deps.client.get<SecretObject>(SecretKind, {
      namespace: deps.namespace,
      name: ref.name,
    });
  } catch (err) {
    if (isNotFound(err)) throw new DeliveryError(missing);
    throw new DeliveryError(
      `Secret ${ref.name} could not be read (HTTP ${statusCodeOf(err) ?? "error"})`,
    );
  }
  const encoded = secret.data?.[ref.key];
  if (encoded === undefined) throw new DeliveryError(missing);
  return Buffer.from(encoded, "base64").toString("utf8").trim();
}

/** The receiver's URL, from the policy or its Secret; checked to be http(s). */
async function receiverUrl(deps: NotificationSenderDeps, receiver: Receiver): Promise<URL> {
  const ref = receiver.urlSecretKeyRef;
  const text = ref ? await readSecretKey(deps, ref) : (receiver.url ?? "");
  const where = ref ? `Secret ${ref.name} key ${ref.key}` : `receiver ${receiver.name}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DeliveryError(`${where} does not hold a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new DeliveryError(`${where} does not hold an http(s) URL`);
  }
  return url;
}

/** Alertmanager's alerts endpoint under its base URL. */
export function alertsEndpoint(base: URL): URL {
  const url = new URL(base);
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = path.endsWith("/api/v2/alerts") ? path : `${path}/api/v2/alerts`;
  return url;
}

interface PreparedRequest {
  url: URL;
  body: unknown;
  headers: Record<string, string>;
}

function prepare(receiver: Receiver, url: URL, input: NotificationInput): PreparedRequest {
  const headers: Record<string, string> = { "content-type": "application/json" };
  switch (receiver.type) {
    case "alertmanager":
      return { url: alertsEndpoint(url), body: alertmanagerPayload(input), headers };
    case "slack":
      return {
        url,
        body: slackPayload(input),
        headers: { ...headers, "idempotency-key": input.delivery.key },
      };
    case "webhook":
      return {
        url,
        body: webhookPayload(input),
        headers: { ...headers, "idempotency-key": input.delivery.key },
      };
  }
}

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  UND_ERR_SOCKET: "connection closed by the receiver",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
};

function codeOf(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = cause?.code ?? (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A fixed phrase for a failed request: fetch's own messages may name the URL. */
export function failureMessage(err: unknown, timeout: string): string {
  if (err instanceof DeliveryError) return err.message;
  const name = (err as { name?: unknown } | undefined)?.name;
  if (name === "TimeoutError" || name === "AbortError") return `timeout after ${timeout}`;
  const code = codeOf(err);
  if (code === undefined) return "request failed";
  return (
    NETWORK_ERRORS[code] ??
    (code.includes("CERT") || code.startsWith("ERR_TLS")
      ? `TLS error (${code})`
      : `request failed (${code})`)
  );
}

async function post(deps: NotificationSenderDeps, request: PreparedRequest, timeoutMs: number) {
  const signal = AbortSignal.timeout(timeoutMs);
  const response = await (deps.fetch ?? fetch)(request.url, {
    method: "POST",
    headers: { ...request.headers, "user-agent": "pake-operator" },
    body: JSON.stringify(request.body),
    redirect: "error",
    signal,
  });
  // Read the body so the connection is released; its content does not matter.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new DeliveryError(`HTTP ${response.status}`);
}

interface Attempt {
  incident: IncidentObject;
  delivery: NotificationDelivery;
  now: number;
  log: Logger;
}

function targetOf(policy: IncidentPolicy, incident: IncidentObject, level: number): string {
  return targetAt(policy.severities[incident.spec.severity].escalation, level);
}

async function attempt(deps: NotificationSenderDeps, a: Attempt): Promise<DeliveryOutcome> {
  const { delivery } = a;
  const fields = {
    receiver: delivery.receiver,
    key: delivery.key,
    event: delivery.event,
    level: delivery.level,
  };
  const receiver = deps.policy.receivers.find((r) => r.name === delivery.receiver);
  if (receiver === undefined) {
    const error = `receiver ${delivery.receiver} is not in the incident policy`;
    a.log.warn({ ...fields, error }, "Skipped notification to an unknown receiver");
    return { key: delivery.key, at: a.now, error };
  }
  const target = targetOf(deps.policy, a.incident, delivery.level);
  try {
    const url = await receiverUrl(deps, receiver);
    const input = { incident: a.incident, delivery, target, now: a.now };
    await post(deps, prepare(receiver, url, input), parseDuration(receiver.timeout));
    a.log.info(fields, "Delivered notification");
    return { key: delivery.key, at: a.now };
  } catch (err) {
    const error = failureMessage(err, receiver.timeout);
    a.log.warn(
      { ...fields, attempt: delivery.attempts + 1, error },
      "Failed to deliver notification",
    );
    return { key: delivery.key, at: a.now, error };
  }
}

/** The sender the Incident reconcile uses: one attempt per due delivery, in order. */
export function createNotificationSender(deps: NotificationSenderDeps): NotificationSender {
  return {
    async send(incident, due, opts) {
      const outcomes: DeliveryOutcome[] = [];
      for (const delivery of due) {
        outcomes.push(await attempt(deps, { incident, delivery, now: opts.now, log: opts.log }));
      }
      return outcomes;
    },
  };
}
