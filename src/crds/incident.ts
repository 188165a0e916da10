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
          "Set by a human (or the source's autoResolve) to resolve; set back to false to reopen. " +
            "Resolution wins over a concurrent acknowledgement.",
        ),
      notes: text(16384, "Human-written notes: cause, actions, resolution.").optional(),
    })
    .describe("Desired state of an Incident: the human-written part."),
  [
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
export type IncidentPhase = (typeof INCIDENT_PHASES)[number];

/**
 * Condition types an Incident carries: the common ones (the kit writes
 * SpecValid, and Ready=False with reason InvalidSpec while the spec is
 * wrong) and Breached, usable with
 * `kubectl wait inc/<name> --for=condition=Breached`.
 */
export const IncidentCondition = {
  Ready: CommonConditionType.Ready,
  SpecValid: CommonConditionType.SpecValid,
  /** True once the response deadline passed unacknowledged (never reset within an episode). */
  Breached: "Breached",
} as const;

/** Reasons of the Incident's conditions (CamelCase, stable). */
export const IncidentReason = {
  /** SpecValid=True. */
  Valid: CommonReason.Valid,
  /** SpecValid=False and Ready=False: the message names the field. */
  InvalidSpec: CommonReason.InvalidSpec,
  /** Ready=Unknown: the spec was fixed after an InvalidSpec and nothing else is known yet. */
  Pending: CommonReason.Pending,
  /** Ready=False: open or acknowledged; someone has to act. */
  Open: "Open",
  /** Ready=True: resolved or closed. */
  Resolved: "Resolved",
  /** Breached=True: the deadline passed before anyone acknowledged. */
  DeadlinePassed: "DeadlinePassed",
  /** Breached=False: acknowledged in time, or the deadline is still ahead. */
  WithinDeadline: "WithinDeadline",
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

/** Annotations of an Incident. */
export const IncidentAnnotation = {
  /**
   * Who made the change that accompanies it (set by `kubectl pake incident
   * ack|resolve` from a SelfSubjectReview, or by the operator for a source's
   * automatic resolution). Trusted only when the same field manager set the
   * changed field; otherwise the field manager's name is the actor.
   */
  Actor: "pake.dev/actor",
} as const;

/** Event reasons recorded on an Incident. */
export const IncidentEventReason = {
  /** Warning: the Incident was opened (by a source or by a person). */
  Opened: "Opened",
  /** Normal: someone acknowledged the Incident. */
  Acknowledged: "Acknowledged",
  /** Warning: the response deadline passed unacknowledged; the level rose. */
  Escalated: "Escalated",
  /** Normal: the Incident was resolved. */
  Resolved: "Resolved",
  /** Warning: a resolved Incident was reopened. */
  Reopened: "Reopened",
  /** Normal: a resolved Incident was closed after the policy's closeAfter. */
  Closed: "Closed",
  /** Warning: a notification could not be delivered within the policy's attempts. */
  NotificationFailed: "NotificationFailed",
} as const;

/** Event reasons recorded on the source (e.g. the HealthCheck) of an Incident. */
export const IncidentSourceEventReason = {
  /** Warning: the source opened an Incident; the message names it. */
  IncidentOpened: "IncidentOpened",
  /** Normal: the source resolved its Incident; the message names it. */
  IncidentResolved: "IncidentResolved",
} as const;

export const TIMELINE_TYPES = [
  "Opened",
  "Occurred",
  "Acknowledged",
  "Escalated",
  "Notified",
  "NotificationFailed",
  "Resolved",
  "Reopened",
  "Closed",
  "Note",
] as const;

export const TimelineEntry = z
  .strictObject({
    time: timestamp("When it happened."),
    type: z
      .enum(TIMELINE_TYPES)
      .describe("What happened (Occurred: the source reported it again)."),
    message: text(1024, "Details.").optional(),
    actor: text(253, "Who did it: a user, a field manager, or pake-operator.").optional(),
  })
  .describe("One entry of the Incident's timeline.");
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const MAX_TIMELINE = 50;

/** Notification events: what a receiver is told. */
export const NOTIFICATION_EVENTS = ["Opened", "Escalated", "Resolved", "Reopened"] as const;

export const NotificationDelivery = z
  .strictObject({
    key: text(
      253,
      "Idempotency key (<incident uid>/<episode>/<event>-<level>/<receiver>), sent with the notification.",
    ),
    receiver: text(63, "Receiver name in the operator's incident policy."),
    event: z.enum(NOTIFICATION_EVENTS).describe("What the notification says."),
    level: z.int().min(0).max(10).describe("Escalation level the notification is for."),
    attempts: z.int().min(0).describe("Delivery attempts made."),
    lastAttemptTime: timestamp("When delivery was last tried.").optional(),
    nextAttemptTime: timestamp(
      "When delivery is tried next (back-off, business hours).",
    ).optional(),
    deliveredAt: timestamp("When the receiver accepted it.").optional(),
    failed: z.boolean().optional().describe("Given up after the policy's maxAttempts."),
    lastError: text(512, "Why the last attempt failed (no secret values).").optional(),
  })
  .describe("Delivery state of one notification to one receiver (at-least-once).");
export type NotificationDelivery = z.infer<typeof NotificationDelivery>;

export const MAX_NOTIFICATIONS = 40;

export const IncidentStatus = z
  .strictObject({
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    phase: z.enum(INCIDENT_PHASES).optional().describe("Lifecycle phase."),
    source: text(
      300,
      'Who raised it: "<Kind>/<name>" of spec.source, or "manual (<field manager>)" for a hand-made Incident.',
    ).optional(),
    openedAt: timestamp(
      "When the current episode opened (creation, or the last reopening).",
    ).optional(),
    responseDeadline: timestamp("Acknowledge by then, or the Incident escalates.").optional(),
    escalationLevel: z
      .int()
      .min(0)
      .max(10)
      .optional()
      .describe("0 until the deadline passes unacknowledged; raised at each escalation."),
    escalationTarget: text(63, "Who is responsible at the current escalation level.").optional(),
    nextEscalationTime: timestamp(
      "When the Incident escalates next unless acknowledged.",
    ).optional(),
    breached: z.boolean().optional().describe("The response deadline passed unacknowledged."),
    occurrences: z
      .int()
      .min(1)
      .optional()
      .describe("Times the source reported the problem while this Incident was open."),
    recordedOccurrences: z
      .int()
      .min(0)
      .optional()
      .describe("Occurrences already in the timeline (the Incident controller's bookkeeping)."),
    firstSeen: timestamp("First occurrence.").optional(),
    lastSeen: timestamp("Latest occurrence.").optional(),
    lastMessage: text(1024, "The source's latest report (redacted).").optional(),
    acknowledgedAt: timestamp("When the Incident was acknowledged.").optional(),
    resolvedAt: timestamp("When the Incident was resolved.").optional(),
    closedAt: timestamp("When the Incident was closed.").optional(),
    timeToAcknowledgeSeconds: z.int().min(0).optional().describe("Seconds from open to ack."),
    timeToResolveSeconds: z.int().min(0).optional().describe("Seconds from open to resolution."),
    lastNotificationTime: timestamp("When a notification was last delivered.").optional(),
    notifications: z
      .array(NotificationDelivery)
      .max(MAX_NOTIFICATIONS)
      .optional()
      .describe("Delivery state per notification and receiver, oldest first (bounded)."),
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
      jsonPath: ".status.source",
      description: "Who raised the Incident: the source object, or manual.",
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
