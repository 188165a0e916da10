// Incidents raised by HealthChecks.
//
// One open Incident per check, like a pager's dedup key: the open one is
// found from the API (label pake.dev/source-uid = the check's uid, not
// resolved), never from memory, so a restarted operator finds what its
// predecessor opened. A new one gets a deterministic name per episode
// (<check>-<hash of uid and the time the check turned Critical>), and
// AlreadyExists counts as success, so two writers cannot open two.
// Repeats (the check turning Critical again while the Incident is open)
// raise occurrences; while Critical, lastSeen is refreshed with the check's
// periodic status write. With autoResolve, a Healthy check resolves it
// (spec.resolved, status phase Resolved, resolvedAt, timeToResolveSeconds).
import {
  MAX_TIMELINE,
  SEVERITY_POLICY,
  incidentDescriptor,
  type Incident,
  type IncidentSeverity,
  type IncidentStatus,
  type TimelineEntry,
} from "../../crds/index.ts";
import { fnv1a, type EventRecorder } from "../../runtime/events.ts";
import { isAlreadyExists } from "../../runtime/errors.ts";
import { apiVersionOf, type KubeClient, type KubeObject } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import { formatTime } from "../../runtime/normalize.ts";
import { updateStatus } from "../../runtime/status.ts";
import { healthCheckDescriptor } from "../../crds/index.ts";
import { redact, type HealthCheckObject as HealthCheck } from "./status.ts";

export const LABEL_SOURCE_KIND = "pake.dev/source-kind";
export const LABEL_SOURCE_UID = "pake.dev/source-uid";
export const LABEL_SOURCE_NAME = "pake.dev/source-name";
const ACTOR = "pake-operator";

type IncidentObject = Incident & KubeObject;

export interface IncidentDeps {
  client: KubeClient;
  events: EventRecorder;
  log: Logger;
}

export interface OpenInput {
  check: HealthCheck;
  severity: IncidentSeverity;
  message: string;
  /** When the check turned Critical (names the episode). */
  since: string;
  now: number;
  /** True when the check just turned Critical (a new occurrence); false for a refresh. */
  occurrence: boolean;
}

/** Deterministic name of the Incident for one Critical episode of a check. */
export function incidentName(check: HealthCheck, since: string): string {
  const suffix = `-${fnv1a(`${check.metadata.uid ?? ""}/${since}`)}`;
  return `${(check.metadata.name ?? "check").slice(0, 253 - suffix.length)}${suffix}`;
}

const checkKey = (check: HealthCheck): string =>
  `${check.metadata.namespace ?? ""}/${check.metadata.name ?? ""}`;

function labelValue(text: string): string | undefined {
  return /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/.test(text) ? text : undefined;
}

export function newIncident(input: OpenInput): IncidentObject {
  const { check } = input;
  const name = check.metadata.name ?? "";
  const labels: Record<string, string> = {
    [LABEL_SOURCE_KIND]: "HealthCheck",
    [LABEL_SOURCE_UID]: check.metadata.uid ?? "",
  };
  const nameLabel = labelValue(name);
  if (nameLabel) labels[LABEL_SOURCE_NAME] = nameLabel;
  return {
    apiVersion: "pake.dev/v1alpha1",
    kind: "Incident",
    metadata: {
      name: incidentName(check, input.since),
      namespace: check.metadata.namespace,
      labels,
      ownerReferences: [
        {
          apiVersion: apiVersionOf(healthCheckDescriptor),
          kind: "HealthCheck",
          name,
          uid: check.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: false,
        },
      ],
    },
    spec: {
      severity: input.severity,
      title: `HealthCheck ${name} is Critical`,
      description: redact(`${check.status?.target ?? name}: ${input.message}`).slice(0, 16384),
      source: { kind: "HealthCheck", name },
      acknowledged: false,
      resolved: false,
    },
  };
}

function withTimeline(status: IncidentStatus, entry: TimelineEntry): TimelineEntry[] {
  return [...(status.timeline ?? []), entry].slice(-MAX_TIMELINE);
}

/** Initial status of a created Incident (idempotent: an already initialised status is kept). */
export function initialStatus(
  status: IncidentStatus,
  input: OpenInput,
  severity: IncidentSeverity,
): IncidentStatus {
  if (status.phase) return status;
  const at = formatTime(input.now);
  const deadline = formatTime(input.now + SEVERITY_POLICY[severity].responseSeconds * 1000);
  return {
    ...status,
    phase: "Open",
    occurrences: 1,
    firstSeen: at,
    lastSeen: at,
    responseDeadline: deadline,
    escalationLevel: 0,
    breached: false,
    timeline: withTimeline(status, {
      time: at,
      type: "Opened",
      message: redact(input.message).slice(0, 1024),
      actor: ACTOR,
    }),
  };
}

/** Status after another report of the problem: occurrences on a new occurrence, lastSeen always. */
export function repeatStatus(status: IncidentStatus, input: OpenInput): IncidentStatus {
  const at = formatTime(input.now);
  if (!input.occurrence) return { ...status, lastSeen: at };
  return {
    ...status,
    occurrences: (status.occurrences ?? 1) + 1,
    lastSeen: at,
    timeline: withTimeline(status, {
      time: at,
      type: "Occurred",
      message: redact(input.message).slice(0, 1024),
      actor: ACTOR,
    }),
  };
}

export function resolvedStatus(
  status: IncidentStatus,
  now: number,
  message: string,
): IncidentStatus {
  if (status.phase === "Resolved" || status.phase === "Closed") return status;
  const at = formatTime(now);
  const opened = status.firstSeen ? Date.parse(status.firstSeen) : now;
  return {
    ...status,
    phase: "Resolved",
    resolvedAt: at,
    timeToResolveSeconds: Math.max(0, Math.round((now - opened) / 1000)),
    timeline: withTimeline(status, { time: at, type: "Resolved", message, actor: ACTOR }),
  };
}

export class IncidentManager {
  private readonly deps: IncidentDeps;

  constructor(deps: IncidentDeps) {
    this.deps = deps;
  }

  /** Open Incidents of a check, from the API (label lookup). */
  async findOpen(check: HealthCheck): Promise<IncidentObject[]> {
    const list = await this.deps.client.list<IncidentObject>(incidentDescriptor, {
      namespace: check.metadata.namespace,
      labelSelector: `${LABEL_SOURCE_UID}=${check.metadata.uid ?? ""}`,
    });
    return list.items.filter((i) => i.spec?.resolved !== true);
  }

  /** Makes sure one open Incident exists for a Critical check; returns its name. */
  async ensureOpen(input: OpenInput): Promise<string> {
    const open = await this.findOpen(input.check);
    const existing = open.sort((a, b) =>
      (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""),
    )[0];
    if (existing) {
      await this.writeStatus(existing, (s) => repeatStatus(s, input));
      return existing.metadata.name ?? "";
    }
    return this.create(input);
  }

  /** Resolves every open Incident of a check; returns the names resolved. */
  async resolve(check: HealthCheck, now: number): Promise<string[]> {
    const open = await this.findOpen(check);
    const message = `HealthCheck ${check.metadata.name ?? ""} is Healthy again`;
    for (const incident of open) {
      const ref = { namespace: incident.metadata.namespace, name: incident.metadata.name ?? "" };
      await this.deps.client.patch(incidentDescriptor, ref, { spec: { resolved: true } });
      await this.writeStatus(incident, (s) => resolvedStatus(s, now, message));
      this.deps.log.info({ hc: checkKey(check), incident: ref.name }, "Resolved Incident");
      await this.deps.events.normal(
        check,
        "IncidentResolved",
        `Resolved Incident ${ref.name}: ${message}`,
      );
      await this.deps.events.normal(incident, "Resolved", message);
    }
    return open.map((i) => i.metadata.name ?? "");
  }

  private async create(input: OpenInput): Promise<string> {
    const incident = newIncident(input);
    const name = incident.metadata.name ?? "";
    let created: IncidentObject = incident;
    try {
      created = await this.deps.client.create(incidentDescriptor, incident);
      this.deps.log.info(
        { hc: checkKey(input.check), incident: name, severity: input.severity },
        "Created Incident",
      );
      await this.deps.events.warning(
        input.check,
        "IncidentOpened",
        `Opened Incident ${name} (${input.severity}): ${redact(input.message)}`,
      );
      await this.deps.events.warning(created, "Opened", redact(input.message));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      this.deps.log.debug({ hc: checkKey(input.check), incident: name }, "Incident already exists");
    }
    await this.writeStatus(created, (s) => initialStatus(s, input, input.severity));
    return name;
  }

  private async writeStatus(
    incident: IncidentObject,
    mutate: (s: IncidentStatus) => IncidentStatus,
  ): Promise<void> {
    await updateStatus<IncidentObject, IncidentStatus>(
      this.deps.client,
      {
        kind: incidentDescriptor,
        namespace: incident.metadata.namespace,
        name: incident.metadata.name ?? "",
      },
      (status) => mutate(status),
    );
  }
}
