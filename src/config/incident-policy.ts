// The operator-level incident policy (`--incident-policy FILE`, Helm value
// `incidents.policy`): how fast each severity must be acknowledged, who is
// notified at each escalation level, when resolved Incidents are closed and
// deleted, the business hours low-severity notifications are held to, and the
// notification receivers with their routes.
//
// Defaults are the operations guide's classification: critical within 15 min
// (on-call), high 1 h (team lead), medium 4 h (regular team), low 24 h (next
// business day, notifications in business hours). A file overrides any part;
// what it leaves out keeps the default. Parsed and checked once at start-up:
// every problem is reported with its path, and the operator does not start.
import { z } from "zod";
import { parse as parseYaml } from "yaml";
import { INCIDENT_SEVERITIES } from "../crds/healthcheck.ts";
import { AGE_PATTERN, DURATION_PATTERN, parseDuration } from "../lib/duration.ts";
import { ProblemsError } from "../lib/problems.ts";
import { validateTimeZone } from "../schedule/zone.ts";

export type Severity = (typeof INCIDENT_SEVERITIES)[number];

const durationText = z
  .string()
  .regex(DURATION_PATTERN, 'a duration such as "15m", "1h" or "1h30m"');
const ageText = z.string().regex(AGE_PATTERN, 'an age such as "7d", "90d" or "36h"');
const name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "a lower-case DNS label")
  .max(63);

export const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
const clock = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'a time such as "09:00"');

const SeverityPolicy = z.strictObject({
  /** Acknowledge within this, or the Incident is breached and escalates. */
  acknowledgeWithin: durationText,
  /** After the first escalation, escalate again this often until the last level. */
  escalateEvery: durationText.optional(),
  /** Who is notified: [0] when opened, [1] at the first escalation, and so on. */
  escalation: z.array(z.string().min(1).max(63)).min(1).max(10),
  /** Notifications are held to business hours (deadlines are not). */
  businessHoursOnly: z.boolean().default(false),
});

const SecretKeyRef = z.strictObject({
  name,
  key: z
    .string()
    .regex(/^[-._a-zA-Z0-9]+$/, "a Secret key")
    .max(253),
});

const Receiver = z
  .strictObject({
    name,
    type: z.enum(["webhook", "slack", "alertmanager"]),
    /** A URL that is not a secret (e.g. an in-cluster Alertmanager). */
    url: z.url().optional(),
    /** A key of a Secret in the operator's namespace holding the URL (webhook and Slack URLs are secrets). */
    urlSecretKeyRef: SecretKeyRef.optional(),
    // At most 5m: a receiver that has not answered by then will not, and
    // AbortSignal.timeout cannot count beyond 2^31-1 ms anyway.
    timeout: durationText.refine((t) => parseDuration(t) <= 300_000, "at most 5m").default("10s"),
  })
  .refine((r) => (r.url === undefined) !== (r.urlSecretKeyRef === undefined), {
    message: "set exactly one of url and urlSecretKeyRef",
  });
export type Receiver = z.infer<typeof Receiver>;

const Route = z.strictObject({
  receivers: z.array(name).min(1),
  /** Severities this route takes; default all. */
  severities: z.array(z.enum(INCIDENT_SEVERITIES)).min(1).optional(),
  /** Escalation levels this route takes (0 = when opened); default all. */
  levels: z.array(z.int().min(0).max(9)).min(1).optional(),
});
export type Route = z.infer<typeof Route>;

const SeverityPolicies = z.strictObject(
  Object.fromEntries(INCIDENT_SEVERITIES.map((s) => [s, SeverityPolicy.optional()])) as Record<
    Severity,
    z.ZodOptional<typeof SeverityPolicy>
  >,
);

/** The policy file as written (everything optional). */
export const IncidentPolicyFile = z.strictObject({
  timeZone: z.string().optional(),
  businessHours: z
    .strictObject({
      days: z.array(z.enum(WEEKDAYS)).min(1).optional(),
      start: clock.optional(),
      end: clock.optional(),
    })
    .optional(),
  closeAfter: ageText.optional(),
  deleteAfter: ageText.optional(),
  severities: SeverityPolicies.optional(),
  receivers: z.array(Receiver).max(32).optional(),
  routes: z.array(Route).max(64).optional(),
  delivery: z
    .strictObject({
      maxAttempts: z.int().min(1).max(50).optional(),
      initialBackoff: durationText.optional(),
      maxBackoff: durationText.optional(),
    })
    .optional(),
});
export type IncidentPolicyFile = z.infer<typeof IncidentPolicyFile>;

/** One severity, resolved to milliseconds. */
export interface SeverityRule {
  acknowledgeWithinMs: number;
  escalateEveryMs: number;
  escalation: string[];
  businessHoursOnly: boolean;
}

export interface BusinessHours {
  timeZone: string;
  days: Weekday[];
  /** Minutes after midnight. */
  startMinute: number;
  endMinute: number;
}

/** The policy the Incident controller applies. */
export interface IncidentPolicy {
  severities: Record<Severity, SeverityRule>;
  businessHours: BusinessHours;
  closeAfterMs: number;
  deleteAfterMs: number;
  receivers: Receiver[];
  routes: Route[];
  delivery: { maxAttempts: number; initialBackoffMs: number; maxBackoffMs: number };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The operations guide's policy, with no receivers. */
export const DEFAULT_INCIDENT_POLICY: IncidentPolicy = {
  severities: {
    critical: {
      acknowledgeWithinMs: 15 * MINUTE,
      escalateEveryMs: 15 * MINUTE,
      escalation: ["on-call", "team lead", "engineering manager"],
      businessHoursOnly: false,
    },
    high: {
      acknowledgeWithinMs: HOUR,
      escalateEveryMs: HOUR,
      escalation: ["team lead", "engineering manager"],
      businessHoursOnly: false,
    },
    medium: {
      acknowledgeWithinMs: 4 * HOUR,
      escalateEveryMs: 4 * HOUR,
      escalation: ["regular team", "team lead"],
      businessHoursOnly: false,
    },
    low: {
      acknowledgeWithinMs: DAY,
      escalateEveryMs: DAY,
      escalation: ["regular team (next business day)", "team lead"],
      businessHoursOnly: true,
    },
  },
  businessHours: {
    timeZone: "UTC",
    days: ["Mon", "Tue", "Wed", "Thu", "Fri"],
    startMinute: 9 * 60,
    endMinute: 17 * 60,
  },
  closeAfterMs: 7 * DAY,
  deleteAfterMs: 90 * DAY,
  receivers: [],
  routes: [],
  delivery: { maxAttempts: 8, initialBackoffMs: 10_000, maxBackoffMs: 10 * MINUTE },
};

export class IncidentPolicyError extends ProblemsError {
  override readonly name = "IncidentPolicyError";
}

const minutesOf = (hhmm: string): number =>
  Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function severityRule(file: z.infer<typeof SeverityPolicy> | undefined, base: SeverityRule) {
  if (file === undefined) return base;
  const acknowledgeWithinMs = parseDuration(file.acknowledgeWithin);
  return {
    acknowledgeWithinMs,
    escalateEveryMs:
      file.escalateEvery === undefined ? acknowledgeWithinMs : parseDuration(file.escalateEvery),
    escalation: file.escalation,
    businessHoursOnly: file.businessHoursOnly,
  };
}

function businessHours(file: IncidentPolicyFile): BusinessHours {
  const base = DEFAULT_INCIDENT_POLICY.businessHours;
  const hours = file.businessHours ?? {};
  return {
    timeZone: file.timeZone ?? base.timeZone,
    days: hours.days ?? base.days,
    startMinute: hours.start === undefined ? base.startMinute : minutesOf(hours.start),
    endMinute: hours.end === undefined ? base.endMinute : minutesOf(hours.end),
  };
}

function resolvePolicy(file: IncidentPolicyFile): IncidentPolicy {
  const base = DEFAULT_INCIDENT_POLICY;
  const severities = Object.fromEntries(
    INCIDENT_SEVERITIES.map((s) => [s, severityRule(file.severities?.[s], base.severities[s])]),
  ) as Record<Severity, SeverityRule>;
  const delivery = file.delivery ?? {};
  const ms = (text: string | undefined, fallback: number): number =>
    text === undefined ? fallback : parseDuration(text);
  return {
    severities,
    businessHours: businessHours(file),
    closeAfterMs: ms(file.closeAfter, base.closeAfterMs),
    deleteAfterMs: ms(file.deleteAfter, base.deleteAfterMs),
    receivers: file.receivers ?? [],
    routes: file.routes ?? [],
    delivery: {
      maxAttempts: delivery.maxAttempts ?? base.delivery.maxAttempts,
      initialBackoffMs: ms(delivery.initialBackoff, base.delivery.initialBackoffMs),
      maxBackoffMs: ms(delivery.maxBackoff, base.delivery.maxBackoffMs),
    },
  };
}

function duplicates(names: string[]): string[] {
  return [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
}

/** What the schema cannot see: references, orderings, the time zone. */
function policyProblems(policy: IncidentPolicy): string[] {
  const problems: string[] = [];
  const zone = validateTimeZone(policy.businessHours.timeZone);
  if (!zone.valid) problems.push(`timeZone: ${zone.error}`);
  const { startMinute, endMinute } = policy.businessHours;
  if (startMinute >= endMinute) problems.push("businessHours: start must be before end");
  if (policy.closeAfterMs > policy.deleteAfterMs) {
    problems.push("deleteAfter: must not be shorter than closeAfter");
  }
  const names = policy.receivers.map((r) => r.name);
  for (const dup of duplicates(names)) problems.push(`receivers: "${dup}" is defined twice`);
  policy.routes.forEach((route, i) => {
    for (const r of route.receivers.filter((n) => !names.includes(n))) {
      problems.push(`routes[${i}].receivers: no receiver named "${r}"`);
    }
  });
  for (const s of INCIDENT_SEVERITIES) {
    const rule = policy.severities[s];
    if (rule.acknowledgeWithinMs <= 0)
      problems.push(`severities.${s}.acknowledgeWithin: must be positive`);
    if (rule.escalateEveryMs <= 0) problems.push(`severities.${s}.escalateEvery: must be positive`);
  }
  const d = policy.delivery;
  if (d.initialBackoffMs <= 0 || d.initialBackoffMs > d.maxBackoffMs) {
    problems.push("delivery.initialBackoff: must be positive and not above delivery.maxBackoff");
  }
  return problems;
}

function zodProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`));
    const where = path.join("").replace(/^\./, "") || "(file)";
    return `${where}: ${issue.message}`;
  });
}

/** The policy from an already parsed document (YAML or JSON); throws IncidentPolicyError. */
export function incidentPolicyFrom(document: unknown): IncidentPolicy {
  const parsed = IncidentPolicyFile.safeParse(document ?? {});
  if (!parsed.success) throw new IncidentPolicyError(zodProblems(parsed.error));
  const policy = resolvePolicy(parsed.data);
  const problems = policyProblems(policy);
  if (problems.length > 0) throw new IncidentPolicyError(problems);
  return policy;
}

/** The policy from a file's text (YAML, of which JSON is a subset); throws IncidentPolicyError. */
export function parseIncidentPolicy(text: string): IncidentPolicy {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    throw new IncidentPolicyError([`not valid YAML: ${(err as Error).message.split("\n")[0]}`]);
  }
  return incidentPolicyFrom(document);
}

/** Receivers a notification at `level` of a `severity` Incident goes to, in policy order. */
export function receiversFor(
  policy: IncidentPolicy,
  severity: Severity,
  level: number,
): Receiver[] {
  const wanted = new Set<string>();
  for (const route of policy.routes) {
    if (route.severities !== undefined && !route.severities.includes(severity)) continue;
    if (route.levels !== undefined && !route.levels.includes(level)) continue;
    for (const r of route.receivers) wanted.add(r);
  }
  return policy.receivers.filter((r) => wanted.has(r.name));
}
