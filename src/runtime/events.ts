// Kubernetes Events with de-duplication, like client-go's EventCorrelator:
// the same (involved object, type, reason, message) recorded again within
// `windowMs` increments `count` and moves `lastTimestamp` on the existing
// core/v1 Event instead of creating another one, so `kubectl describe` shows
// "x12 over 5m" rather than twelve lines.
//
// Event names are deterministic-ish: <object>.<hash of the key><start time>,
// so a retry of the same create collides (409) and turns into an increment.
//
// SECURITY: messages are stored in the cluster in clear text and shown to
// anyone who can read Events. Callers must never put secret values (passwords,
// tokens, connection strings, Secret data) in a reason or message; name the
// Secret and key instead.
import { hostname } from "node:os";
import { realClock, type Clock } from "./clock.ts";
import { errorMessage } from "../lib/errors.ts";
import { fnv1a } from "../lib/hash.ts";
import { EventKind } from "../lib/kinds.ts";
import { isAlreadyExists, isNotFound } from "./errors.ts";
import type { KubeClient, KubeObject } from "./kube.ts";
import { log as rootLog, type Logger } from "./log.ts";
import { formatTime } from "./normalize.ts";

export type EventType = "Normal" | "Warning";

export interface EventInput {
  type: EventType;
  /** CamelCase, e.g. "ReconcileError", "BackupCompleted". */
  reason: string;
  /** Human-readable; never a secret value. */
  message: string;
  action?: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** Reporting component, e.g. "pake-operator". */
  component: string;
  /** Reporting instance; default the host name. */
  instance?: string;
  clock?: Clock;
  /** Repeats within this window aggregate. Default 10 min. */
  windowMs?: number;
  logger?: Logger;
}

interface SeriesState {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastSeen: number;
}

const MAX_MESSAGE = 1024;
const MAX_ENTRIES = 4096;

/** The de-duplication key of an event. */
export function eventKey(obj: KubeObject, input: EventInput): string {
  const m = obj.metadata;
  const who = m.uid ?? `${obj.kind ?? ""}/${m.namespace ?? ""}/${m.name ?? ""}`;
  return [who, input.type, input.reason, input.message].join("\u0000");
}

/**
 * <object name>.<key hash><start seconds in hex>, within the 253-character
 * limit. A cut name loses the dots and dashes it ends in: before the suffix's
 * "." they would make an invalid DNS subdomain ("..", "-.").
 */
export function eventName(objName: string, key: string, startMs: number): string {
  const suffix = `.${fnv1a(key)}${Math.floor(startMs / 1000).toString(16)}`;
  return `${objName.slice(0, 253 - suffix.length).replace(/[.-]+$/, "")}${suffix}`;
}

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly instance: string;
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly log: Logger;
  private readonly series = new Map<string, SeriesState>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.client = opts.client;
    this.component = opts.component;
    this.instance = opts.instance ?? hostname();
    this.clock = opts.clock ?? realClock;
    this.windowMs = opts.windowMs ?? 10 * 60_000;
    this.log = (opts.logger ?? rootLog).child({ component: "events" });
  }

  normal(obj: KubeObject, reason: string, message: string): Promise<void> {
    return this.record(obj, { type: "Normal", reason, message });
  }

  warning(obj: KubeObject, reason: string, message: string): Promise<void> {
    return this.record(obj, { type: "Warning", reason, message });
  }

  /** Records the event; never throws (failures are logged). Same-key calls run in order. */
  record(obj: KubeObject, input: EventInput): Promise<void> {
    const event = { ...input, message: truncate(input.message) };
    const key = eventKey(obj, event);
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.write(obj, event, key));
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  private async write(obj: KubeObject, input: EventInput, key: string): Promise<void> {
    try {
      const now = this.clock.now();
      const state = this.series.get(key);
      if (state && now - state.lastSeen <= this.windowMs && (await this.increment(state, now)))
        return;
      await this.create(obj, input, key, now);
    } catch (err) {
      this.log.warn({ reason: input.reason, err: errorMessage(err) }, "Could not record Event");
    }
  }

  /** Bumps count and lastTimestamp; false when the Event is gone (TTL expired, deleted). */
  private async increment(state: SeriesState, now: number): Promise<boolean> {
    state.count++;
    state.lastSeen = now;
    const patch = { count: state.count, lastTimestamp: formatTime(now) };
    try {
      await this.client.patch(EventKind, state, patch);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async create(
    obj: KubeObject,
    input: EventInput,
    key: string,
    now: number,
  ): Promise<void> {
    this.prune(now);
    const m = obj.metadata;
    const namespace = m.namespace ?? "default";
    const name = eventName(m.name ?? "object", key, now);
    const state: SeriesState = {
      name,
      namespace,
      count: 1,
      firstTimestamp: formatTime(now),
      lastSeen: now,
    };
    const body = {
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
      },
      type: input.type,
      reason: input.reason,
      message: input.message,
      action: input.action,
      count: 1,
      firstTimestamp: state.firstTimestamp,
      lastTimestamp: state.firstTimestamp,
      source: { component: this.component, host: this.instance },
      reportingComponent: this.component,
      reportingInstance: this.instance,
    };
    try {
      await this.client.create(EventKind, body);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await this.client.get<KubeObject & { count?: number }>(EventKind, state);
      state.count = existing.count ?? 1;
      this.series.set(key, state);
      await this.increment(state, now);
      return;
    }
    this.series.set(key, state);
  }

  private prune(now: number): void {
    if (this.series.size < MAX_ENTRIES) return;
    for (const [k, s] of this.series) if (now - s.lastSeen > this.windowMs) this.series.delete(k);
  }
}

function truncate(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE - 1)}…`;
}
