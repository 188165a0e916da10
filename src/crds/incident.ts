// Incident (inc): something that needs a human, with a severity-driven
// response deadline, escalation and de-duplication by source. See DESIGN.md §1.
import { z } from "zod";
import {
  AGE_COLUMN,
  API_GROUP,
  API_VERSION,
  CATEGORY,
  conditions,
  kubeObject,
  observedGeneration,
  text,
  timestamp,
  withRules,
} from "./common.ts";
import type { KindDescriptor } from "./common.ts";
import { CommonConditionType, CommonReason } from "./conditions.ts";
import { INCIDENT_SEVERITIES } from "./healthcheck.ts";

export const IncidentSeverity = z.enum(INCIDENT_SEVERITIES);
export type IncidentSeverity = z.infer<typeof IncidentSeverity>;

/** The operations guide's severity policy. */
export const SEVERITY_POLICY: Record<
  IncidentSeverity,
  { responseSeconds: number; respondent: string }
> = {
  critical: { responseSeconds: 0, respondent: "on-call" },
  high: { responseSeconds: 3600, respondent: "team lead" },
  medium: { responseSeconds: 4 * 3600, respondent: "regular team" },
  low: { responseSeconds: 24 * 3600, respondent: "next business day" },
};

export const IncidentSource = z
  .strictObject({
    kind: z
      .enum(["HealthCheck", "MaintenanceTask", "BackupPolicy", "External"])
      .describe("Kind of the object that raised the Incident; External for other systems."),
    name: z.string().min(1).max(253).describe("Name of the source (same namespace)."),
  })
  .describe("What raised the Incident; one open Incident per source.");
export type IncidentSource = z.infer<typeof IncidentSource>;

export const IncidentSpec = withRules(
  z
    .strictObject({
      severity: IncidentSeverity.describe(
        "critical: respond immediately (on-call); high: within 1 h (team lead); " +
          "medium: within 4 h; low: within 24 h (next business day).",
      ),
      title: z.string().min(1).max(256).describe("One-line summary."),
      description: text(16384, "What happened, as known when raised.").optional(),
      source: withRules(IncidentSource, [
        {
          rule: "self == oldSelf",
          message: "source is immutable",
        },
      ]).optional(),
      assignee: text(253, "Person or team handling the Incident.").optional(),
      acknowledged: z
        .boolean()
        .default(false)
        .describe("Set by a human to acknowledge: stops escalation."),
      resolved: z
        .boolean()
        .default(false)
        .describe(
          "Set by a human (or autoResolve) to resolve. Final: a new failure opens a new Incident.",
        ),
      notes: text(16384, "Human-written notes: cause, actions, resolution.").optional(),
    })
    .describe("Desired state of an Incident: the human-written part."),
  [
    {
      rule: "!has(oldSelf.resolved) || !oldSelf.resolved || self.resolved",
      message: "a resolved Incident cannot be reopened; a new failure opens a new Incident",
      fieldPath: ".resolved",
    },
    {
      rule: "has(self.source) == has(oldSelf.source)",
      message: "source cannot be added or removed after creation",
      fieldPath: ".source",
    },
  ],
);
export type IncidentSpec = z.infer<typeof IncidentSpec>;
export type IncidentSpecInput = z.input<typeof IncidentSpec>;

export const INCIDENT_PHASES = ["Open", "Acknowledged", "Resolved", "Closed"] as const;

/**
 * Condition types an Incident carries. Only the common ones today: the
 * Incident controller validates the spec (SpecValid, and Ready=False with
 * reason InvalidSpec while it is wrong). The response lifecycle (issue 10)
 * adds its own types here.
 */
export const IncidentCondition = {
  Ready: CommonConditionType.Ready,
  SpecValid: CommonConditionType.SpecValid,
} as const;

/** Reasons of the Incident's conditions (CamelCase, stable). */
export const IncidentReason = {
  /** SpecValid=True. */
  Valid: CommonReason.Valid,
  /** SpecValid=False and Ready=False: the message names the field. */
  InvalidSpec: CommonReason.InvalidSpec,
  /** Ready=Unknown: the spec was fixed after an InvalidSpec and nothing else is known yet. */
  Pending: CommonReason.Pending,
} as const;

/**
 * Labels a source puts on the Incidents it opens. The open Incident of a
 * source is found by SourceUid (never from memory), so they are part of the
 * API: `kubectl get inc -l pake.dev/source-uid=<uid>`.
 */
export const IncidentLabel = {
  /** Kind of the source, e.g. HealthCheck. */
  SourceKind: "pake.dev/source-kind",
  /** uid of the source: the de-duplication key (one open Incident per source). */
  SourceUid: "pake.dev/source-uid",
  /** Name of the source; left out when the name is not a valid label value. */
  SourceName: "pake.dev/source-name",
} as const;

/** Event reasons recorded on an Incident. */
export const IncidentEventReason = {
  /** Warning: a source opened the Incident. */
  Opened: "Opened",
  /** Normal: the Incident was resolved (today: by its source, autoResolve). */
  Resolved: "Resolved",
} as const;

/** Event reasons recorded on the source (e.g. the HealthCheck) of an Incident. */
export const IncidentSourceEventReason = {
  /** Warning: the source opened an Incident; the message names it. */
  IncidentOpened: "IncidentOpened",
  /** Normal: the source resolved its Incident; the message names it. */
  IncidentResolved: "IncidentResolved",
} as const;

export const TimelineEntry = z
  .strictObject({
    time: timestamp("When it happened."),
    type: z
      .enum([
        "Opened",
        "Occurred",
        "Acknowledged",
        "Escalated",
        "Notified",
        "NotificationFailed",
        "Resolved",
        "Closed",
        "Note",
      ])
      .describe("What happened."),
    message: text(1024, "Details.").optional(),
    actor: text(253, "Who did it (user or controller).").optional(),
  })
  .describe("One entry of the Incident's timeline.");
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const MAX_TIMELINE = 50;

export const IncidentStatus = z
  .strictObject({
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    phase: z.enum(INCIDENT_PHASES).optional().describe("Lifecycle phase."),
    responseDeadline: timestamp("Acknowledge by then, or the Incident escalates.").optional(),
    escalationLevel: z
      .int()
      .min(0)
      .max(10)
      .optional()
      .describe("0 until the deadline passes unacknowledged; raised at each escalation."),
    breached: z.boolean().optional().describe("The response deadline passed unacknowledged."),
    occurrences: z
      .int()
      .min(1)
      .optional()
      .describe("Times the source reported the problem while this Incident was open."),
    firstSeen: timestamp("First occurrence.").optional(),
    lastSeen: timestamp("Latest occurrence.").optional(),
    acknowledgedAt: timestamp("When the Incident was acknowledged.").optional(),
    resolvedAt: timestamp("When the Incident was resolved.").optional(),
    closedAt: timestamp("When the Incident was closed.").optional(),
    timeToAcknowledgeSeconds: z.int().min(0).optional().describe("Seconds from open to ack."),
    timeToResolveSeconds: z.int().min(0).optional().describe("Seconds from open to resolution."),
    lastNotificationTime: timestamp("When a notification was last delivered.").optional(),
    timeline: z
      .array(TimelineEntry)
      .max(MAX_TIMELINE)
      .optional()
      .describe(
        `What happened, oldest first (at most ${MAX_TIMELINE}; older entries are dropped).`,
      ),
  })
  .describe("Observed state of an Incident.");
export type IncidentStatus = z.infer<typeof IncidentStatus>;

export const IncidentSchema = kubeObject("Incident", IncidentSpec, IncidentStatus);
export type Incident = z.infer<typeof IncidentSchema>;

export const incidentDescriptor: KindDescriptor<typeof IncidentSpec, typeof IncidentStatus> = {
  group: API_GROUP,
  version: API_VERSION,
  kind: "Incident",
  listKind: "IncidentList",
  plural: "incidents",
  singular: "incident",
  shortNames: ["inc"],
  categories: [CATEGORY],
  description:
    "Incident records a problem that needs a human: severity, response deadline, escalation, " +
    "acknowledgement and resolution, de-duplicated by source.",
  printerColumns: [
    { name: "Severity", type: "string", jsonPath: ".spec.severity", description: "Severity." },
    { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Lifecycle phase." },
    {
      name: "Source",
      type: "string",
      jsonPath: ".spec.source.name",
      description: "Object that raised the Incident.",
    },
    AGE_COLUMN,
    {
      name: "Deadline",
      type: "string",
      jsonPath: ".status.responseDeadline",
      description: "Response deadline (a timestamp).",
    },
    { name: "Title", type: "string", jsonPath: ".spec.title", description: "Title.", priority: 1 },
    {
      name: "Assignee",
      type: "string",
      jsonPath: ".spec.assignee",
      description: "Assignee.",
      priority: 1,
    },
  ],
  spec: IncidentSpec,
  status: IncidentStatus,
  rootRules: [],
};
