// The source side of the Incident lifecycle: the API a kind that detects
// problems (HealthCheck today; MaintenanceTask and BackupPolicy in issue 10)
// calls to open, repeat and resolve the Incident of one of its objects. It
// knows nothing of the source kind: the source passes what it knows
// (severity, title, description, message), already redacted.
//
// One open Incident per source, like a pager's dedup key: the open one is
// found from the API (label pake.dev/source-uid = the source's uid, not
// resolved), never from memory, so a restarted operator finds what its
// predecessor opened. A new one gets a deterministic name per episode
// (<source name>-<hash of uid and episode start>), and AlreadyExists counts
// as success, so two writers cannot open two. Repeats raise occurrences (on
// a new occurrence) and lastSeen (on every report). Resolving sets
// spec.resolved on every open Incident of the source.
//
// Who owns which Incident field (docs/architecture.md, "Incident fields"):
//
//   The source (through this API) owns
//     spec on create: severity, title, description, source {kind, name},
//       acknowledged=false, resolved=false
//     metadata: the deterministic name, labels pake.dev/source-kind,
//       pake.dev/source-uid, pake.dev/source-name. No owner reference:
//       Incidents are records and outlive their source.
//     status: occurrences, firstSeen, lastSeen, lastMessage
//     spec.resolved=true when the source recovers (autoResolve), with the
//       pake.dev/actor annotation naming the source, in one patch
//   The Incident controller (reconcile.ts, lifecycle.ts) owns everything
//     else in status: phase, openedAt, responseDeadline, escalation,
//     breached, acknowledgedAt, resolvedAt, closedAt, the times to
//     acknowledge and resolve, timeline, notifications, conditions; and the
//     Events on the Incident.
//   People own spec.acknowledged, spec.resolved (by hand), assignee, notes.
import {
  API_GROUP_VERSION,
  IncidentAnnotation,
  IncidentLabel,
  IncidentSourceEventReason,
  incidentDescriptor,
  type Incident,
  type IncidentSeverity,
  type IncidentSource,
  type IncidentStatus,
} from "../../crds/index.ts";
import { isAlreadyExists } from "../../runtime/errors.ts";
import { fnv1a } from "../../lib/hash.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import type { KubeClient, KubeObject } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import { formatTime } from "../../runtime/normalize.ts";
import { updateStatus } from "../../runtime/status.ts";

export type IncidentObject = Incident & KubeObject;

/** The object that raised an Incident: a PAKE kind in the Incident's namespace. */
export interface IncidentSourceRef {
  kind: Exclude<IncidentSource["kind"], "External">;
  namespace?: string;
  name: string;
  uid: string;
}

/** A source's report of its problem: opens an Incident, or repeats the open one. */
export interface OpenIncidentRequest {
  source: IncidentSourceRef;
  severity: IncidentSeverity;
  /** One line, e.g. "HealthCheck db is Critical" (spec.title). */
  title: string;
  /** What happened, as known when opened (spec.description); redacted by the source. */
  description: string;
  /** This report (timeline and Events); redacted by the source. */
  message: string;
  /** When the failure episode began: names the Incident, one name per source and episode. */
  episode: string;
  now: number;
  /** True when the source just failed again (a new occurrence); false for a refresh. */
  occurrence: boolean;
}

/** The source recovered: resolves its open Incidents. */
export interface ResolveIncidentRequest {
  source: IncidentSourceRef;
  now: number;
  /** Why, e.g. "HealthCheck db is Healthy again"; redacted by the source. */
  message: string;
}

export interface IncidentSourceDeps {
  client: KubeClient;
  events: EventRecorder;
  log: Logger;
}

const MAX_NAME = 253;
const MAX_TITLE = 256;
const MAX_DESCRIPTION = 16384;
const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;

/**
 * Deterministic name of the Incident for one failure episode of a source. A
 * cut source name loses the dots and dashes it ends in: a "." before the
 * suffix's "-" would make an invalid DNS subdomain (".-").
 */
export function incidentName(source: IncidentSourceRef, episode: string): string {
  const suffix = `-${fnv1a(`${source.uid}/${episode}`)}`;
  return `${source.name.slice(0, MAX_NAME - suffix.length).replace(/[.-]+$/, "")}${suffix}`;
}

/** Label selector of every Incident a source opened. */
export function sourceSelector(source: IncidentSourceRef): string {
  return `${IncidentLabel.SourceUid}=${source.uid}`;
}

function sourceLabels(source: IncidentSourceRef): Record<string, string> {
  const labels: Record<string, string> = {
    [IncidentLabel.SourceKind]: source.kind,
    [IncidentLabel.SourceUid]: source.uid,
  };
  if (LABEL_VALUE.test(source.name)) labels[IncidentLabel.SourceName] = source.name;
  return labels;
}

/** The Incident a source creates (spec and metadata only; status follows). */
export function newIncident(request: OpenIncidentRequest): IncidentObject {
  const { source } = request;
  return {
    apiVersion: API_GROUP_VERSION,
    kind: "Incident",
    metadata: {
      name: incidentName(source, request.episode),
      namespace: source.namespace,
      labels: sourceLabels(source),
    },
    spec: {
      severity: request.severity,
      title: request.title.slice(0, MAX_TITLE),
      description: request.description.slice(0, MAX_DESCRIPTION),
      source: { kind: source.kind, name: source.name },
      acknowledged: false,
      resolved: false,
    },
  };
}

const MAX_MESSAGE = 1024;

/** Status of a created Incident (idempotent: an already initialised status is kept). */
export function initialStatus(
  status: IncidentStatus,
  request: OpenIncidentRequest,
): IncidentStatus {
  if (status.firstSeen !== undefined) return status;
  const at = formatTime(request.now);
  const lastMessage = request.message.slice(0, MAX_MESSAGE);
  return {
    ...status,
    occurrences: status.occurrences ?? 1,
    firstSeen: at,
    lastSeen: at,
    lastMessage,
  };
}

/** Status after another report: occurrences on a new occurrence, lastSeen always. */
export function repeatStatus(status: IncidentStatus, request: OpenIncidentRequest): IncidentStatus {
  const lastSeen = formatTime(request.now);
  if (!request.occurrence) return { ...status, lastSeen };
  const occurrences = (status.occurrences ?? 1) + 1;
  return { ...status, occurrences, lastSeen, lastMessage: request.message.slice(0, MAX_MESSAGE) };
}

/** Status after the source resolved the Incident: its message, for the timeline. */
export function resolvedStatus(
  status: IncidentStatus,
  request: Pick<ResolveIncidentRequest, "message">,
): IncidentStatus {
  return { ...status, lastMessage: request.message.slice(0, MAX_MESSAGE) };
}

const sourceKey = (source: IncidentSourceRef): string => `${source.namespace ?? ""}/${source.name}`;

/** The source as an Event's involved object. */
function sourceObject(source: IncidentSourceRef): KubeObject {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: source.kind,
    metadata: { namespace: source.namespace, name: source.name, uid: source.uid },
  };
}

/** The source API: open, repeat and resolve the Incident of a source, from the API server. */
export class IncidentSourceApi {
  private readonly deps: IncidentSourceDeps;

  constructor(deps: IncidentSourceDeps) {
    this.deps = deps;
  }

  /** Open Incidents of a source, from the API (label lookup). */
  async findOpen(source: IncidentSourceRef): Promise<IncidentObject[]> {
    const list = await this.deps.client.list<IncidentObject>(incidentDescriptor, {
      namespace: source.namespace,
      labelSelector: sourceSelector(source),
    });
    return list.items.filter((i) => i.spec?.resolved !== true);
  }

  /** Makes sure one open Incident exists for the source (repeating it if so); returns its name. */
  async open(request: OpenIncidentRequest): Promise<string> {
    const open = await this.findOpen(request.source);
    const oldest = open.sort((a, b) =>
      (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""),
    )[0];
    if (!oldest) return this.create(request);
    await this.writeStatus(oldest, (s) => repeatStatus(s, request));
    return oldest.metadata.name ?? "";
  }

  /** Resolves every open Incident of the source; returns the names resolved. */
  async resolve(request: ResolveIncidentRequest): Promise<string[]> {
    const open = await this.findOpen(request.source);
    for (const incident of open) await this.resolveOne(incident, request);
    return open.map((i) => i.metadata.name ?? "");
  }

  private async resolveOne(
    incident: IncidentObject,
    request: ResolveIncidentRequest,
  ): Promise<void> {
    const { source, message } = request;
    const ref = { namespace: incident.metadata.namespace, name: incident.metadata.name ?? "" };
    // Message first: the controller's Resolved timeline entry reads it.
    await this.writeStatus(incident, (s) => resolvedStatus(s, request));
    await this.deps.client.patch(incidentDescriptor, ref, {
      metadata: { annotations: { [IncidentAnnotation.Actor]: `${source.kind}/${source.name}` } },
      spec: { resolved: true },
    });
    this.deps.log.info(
      { sourceKind: source.kind, source: sourceKey(source), incident: ref.name },
      "Resolved Incident",
    );
    await this.deps.events.normal(
      sourceObject(source),
      IncidentSourceEventReason.IncidentResolved,
      `Resolved Incident ${ref.name}: ${message}`,
    );
  }

  private async create(request: OpenIncidentRequest): Promise<string> {
    const { source } = request;
    const incident = newIncident(request);
    const name = incident.metadata.name ?? "";
    const fields = { sourceKind: source.kind, source: sourceKey(source), incident: name };
    let created: IncidentObject = incident;
    try {
      created = await this.deps.client.create(incidentDescriptor, incident);
      this.deps.log.info({ ...fields, severity: request.severity }, "Created Incident");
      await this.deps.events.warning(
        sourceObject(source),
        IncidentSourceEventReason.IncidentOpened,
        `Opened Incident ${name} (${request.severity}): ${request.message}`,
      );
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      this.deps.log.debug(fields, "Incident already exists");
    }
    await this.writeStatus(created, (s) => initialStatus(s, request));
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

/** What a Job-running kind's Incident step asks of the source API (jobrun/run-incidents.ts). */
export interface RunIncidentStep {
  title: string;
  message: string;
  episode: string;
  occurrence: boolean;
}

/**
 * The open and resolve calls of one source at one severity, for
 * jobrun's followIncidentStep: a run's title and redacted message, and
 * "<Kind> <name> succeeded again" on recovery.
 */
export function runIncidentCalls(
  deps: IncidentSourceDeps & { now: () => number },
  source: IncidentSourceRef,
  severity: IncidentSeverity,
) {
  const api = new IncidentSourceApi(deps);
  return {
    open: (step: RunIncidentStep) =>
      api.open({
        source,
        severity,
        title: step.title,
        description: step.message,
        message: step.message,
        episode: step.episode,
        now: deps.now(),
        occurrence: step.occurrence,
      }),
    resolve: () =>
      api.resolve({
        source,
        now: deps.now(),
        message: `${source.kind} ${source.name} succeeded again`,
      }),
  };
}
