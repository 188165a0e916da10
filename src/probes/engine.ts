// The probe engine: runs every HealthCheck's probe on its interval.
//
// - One timer for the whole engine, armed for the earliest due check of a
//   min-heap (not a timer per check). Rescheduling and removal bump a check's
//   generation; heap entries of an old generation are skipped when popped.
// - First probes are spread by a deterministic jitter from the check's key
//   (FNV-1a), so that many checks created together do not probe together;
//   later probes keep that phase (fixed rate, overruns skipped).
// - A global concurrency limit: due checks beyond it wait in a FIFO queue.
// - A per-probe timeout aborts the probe's AbortSignal; the probes cancel
//   their work on it (request aborted, socket destroyed, query cancelled,
//   client disconnected). The engine reports the timeout at once.
// - Connections per check (pg Pool, ioredis client, keep-alive agents) live in
//   a resource pool reused across probes; it is closed when the check is
//   removed or when its connection configuration (the resolved target, or
//   `connectionVersion`) changes.
// - Each result goes through the pure health reducer (src/health/check.ts);
//   the report says whether status should be written now.
import type { HealthCheckStatus, HealthState } from "../crds/healthcheck.ts";
import {
  markWritten,
  memoryFromStatus,
  observe,
  type HealthMemory,
  type HealthPolicy,
  type HealthStatusFields,
  type Observation,
} from "../health/check.ts";
import { MAX_TIMER_DELAY_MS, realClock, type Clock, type Timer } from "../runtime/clock.ts";
import { log as rootLog, type Logger } from "../runtime/log.ts";
import type { Runnable } from "../runtime/runnable.ts";
import { TimerHeap } from "./heap.ts";
import {
  forgetCheck,
  probeEngineMetrics,
  setStateGauge,
  type ProbeEngineMetrics,
} from "./metrics.ts";
import { CheckResourcePool } from "./pool.ts";
import { defaultProbes, runProbe, type ProbeRegistry } from "./registry.ts";
import type { ProbeResult, ProbeTarget } from "./types.ts";
import { errorMessage } from "../lib/errors.ts";
import { redactText } from "../lib/redact.ts";
import { sha256Hex } from "../lib/hash.ts";

export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_MAX_START_SPREAD_MS = 30_000;

/** One HealthCheck as the engine sees it. */
export interface CheckDefinition {
  /** Unique key, "namespace/name". */
  key: string;
  namespace: string;
  name: string;
  target: ProbeTarget;
  intervalMs: number;
  timeoutMs: number;
  suspend?: boolean;
  policy?: HealthPolicy;
  /**
   * Changes when the connection configuration changes in a way the resolved
   * target does not show (e.g. the referenced Secrets' resourceVersions).
   */
  connectionVersion?: string;
  /** The object's current status: seeds the health memory when the engine first sees the check. */
  status?: HealthCheckStatus;
}

export interface CheckReport extends Observation {
  key: string;
  namespace: string;
  name: string;
  result: ProbeResult;
  /** Call after the status patch succeeded: later write decisions compare with it. */
  markWritten(): void;
}

export interface ProbeEngineOptions {
  /** Receives every probe's report; not awaited (a slow status write does not hold a probe slot). */
  onReport: (report: CheckReport) => void | Promise<void>;
  concurrency?: number;
  /** First probes are spread over min(interval, this). Default 30 s. */
  maxStartSpreadMs?: number;
  clock?: Clock;
  probes?: ProbeRegistry;
  metrics?: ProbeEngineMetrics;
  logger?: Logger;
}

interface Entry {
  def: CheckDefinition;
  fingerprint: string;
  pool: CheckResourcePool;
  memory: HealthMemory;
  generation: number;
  due?: number;
  queued: boolean;
  running?: { controller: AbortController; done: Promise<void> };
  removed: boolean;
  lastObservation?: Observation;
}

interface HeapEntry {
  due: number;
  seq: number;
  key: string;
  generation: number;
}

/** 32-bit FNV-1a of a string, as a fraction in [0, 1). */
export function jitterFraction(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 2 ** 32;
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v) && v.constructor !== Object)
      return undefined;
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
      );
    }
    return v;
  });
}

/** Hash of what the check's connections depend on (class instances such as KubeConfig excluded). */
export function connectionFingerprint(
  def: Pick<CheckDefinition, "target" | "connectionVersion">,
): string {
  return sha256Hex(`${stableJson(def.target)}\0${def.connectionVersion ?? ""}`);
}

class ProbeTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = "TimeoutError";
  }
}

export class ProbeEngine implements Runnable {
  readonly name = "probe-engine";
  readonly needsLeaderElection = true;

  private readonly entries = new Map<string, Entry>();
  private readonly heap = new TimerHeap<HeapEntry>();
  private readonly ready: string[] = [];
  private readonly clock: Clock;
  private readonly probes: ProbeRegistry;
  private readonly metrics: ProbeEngineMetrics;
  private readonly log: Logger;
  private readonly concurrency: number;
  private readonly maxStartSpreadMs: number;
  private readonly onReport: ProbeEngineOptions["onReport"];
  private timer?: { handle: Timer; at: number };
  private running = 0;
  private seq = 0;
  private started = false;
  private stopped = false;

  constructor(options: ProbeEngineOptions) {
    this.onReport = options.onReport;
    this.clock = options.clock ?? realClock;
    this.probes = options.probes ?? defaultProbes;
    this.metrics = options.metrics ?? probeEngineMetrics();
    this.log = (options.logger ?? rootLog).child({ component: "probe-engine" });
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.maxStartSpreadMs = options.maxStartSpreadMs ?? DEFAULT_MAX_START_SPREAD_MS;
  }

  start(): Promise<void> {
    this.started = true;
    this.stopped = false;
    this.arm();
    return Promise.resolve();
  }

  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    this.started = false;
    this.timer?.handle.cancel();
    this.timer = undefined;
    const inflight = [...this.entries.values()].flatMap((e) => (e.running ? [e.running] : []));
    for (const r of inflight) r.controller.abort(new Error("probe engine stopped"));
    await Promise.race([
      Promise.allSettled(inflight.map((r) => r.done)),
      this.clock.sleep(deadlineMs),
    ]);
    await Promise.allSettled([...this.entries.values()].map((e) => e.pool.close()));
    this.entries.clear();
    this.ready.length = 0;
    this.heap.filter(() => false);
  }

  /** Adds a check or updates it (interval, timeout, target, policy, suspend). */
  upsert(def: CheckDefinition): void {
    const existing = this.entries.get(def.key);
    if (!existing) {
      const entry: Entry = {
        def,
        fingerprint: connectionFingerprint(def),
        pool: new CheckResourcePool(),
        memory: memoryFromStatus(def.status),
        generation: 0,
        queued: false,
        removed: false,
      };
      this.entries.set(def.key, entry);
      if (!def.suspend) this.schedule(entry, this.clock.now() + this.initialDelay(def));
      this.log.debug(
        { namespace: def.namespace, name: def.name, target: def.target.type },
        "Added check",
      );
      return;
    }
    this.update(existing, def);
  }

  /** Stops probing the check and closes its connections. */
  async remove(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.removed = true;
    entry.generation++;
    entry.running?.controller.abort(new Error("check removed"));
    await (entry.running?.done ?? Promise.resolve());
    await entry.pool.close();
    forgetCheck(this.metrics, entry.def.namespace, entry.def.name, entry.def.target.type);
    this.log.debug({ namespace: entry.def.namespace, name: entry.def.name }, "Removed check");
  }

  /** Suspends (no more probes; connections kept) or resumes a check. */
  suspend(key: string, suspended = true): void {
    const entry = this.entries.get(key);
    if (entry) this.update(entry, { ...entry.def, suspend: suspended });
  }

  /** Probes the check as soon as a slot is free (e.g. on demand, or after a spec change). */
  runNow(key: string): void {
    const entry = this.entries.get(key);
    if (!entry || entry.def.suspend) return;
    if (entry.running) return;
    this.schedule(entry, this.clock.now());
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** The last observation of a check (status fields and write decision), if it was probed. */
  lastObservation(key: string): Observation | undefined {
    return this.entries.get(key)?.lastObservation;
  }

  /** When the check is next due (undefined when suspended or running). */
  nextDue(key: string): number | undefined {
    return this.entries.get(key)?.due;
  }

  private initialDelay(def: CheckDefinition): number {
    return Math.floor(jitterFraction(def.key) * Math.min(def.intervalMs, this.maxStartSpreadMs));
  }

  private update(entry: Entry, def: CheckDefinition): void {
    const before = entry.def;
    entry.def = def;
    const fingerprint = connectionFingerprint(def);
    if (fingerprint !== entry.fingerprint) {
      entry.fingerprint = fingerprint;
      this.replacePool(entry);
    }
    if (def.suspend) {
      entry.generation++;
      entry.due = undefined;
      return;
    }
    if (entry.running) return; // rescheduled with the new interval when it finishes
    const now = this.clock.now();
    if (before.suspend || entry.due === undefined) {
      this.schedule(entry, now + this.initialDelay(def));
    } else if (def.intervalMs < before.intervalMs) {
      this.schedule(entry, Math.min(entry.due, now + def.intervalMs));
    }
  }

  private replacePool(entry: Entry): void {
    const old = entry.pool;
    entry.pool = new CheckResourcePool();
    const close = (): Promise<void> => old.close();
    void (entry.running?.done ?? Promise.resolve()).then(close, close);
    this.log.debug(
      { namespace: entry.def.namespace, name: entry.def.name },
      "Replaced connections of check",
    );
  }

  private schedule(entry: Entry, due: number): void {
    entry.generation++;
    entry.due = due;
    this.heap.push({ due, seq: this.seq++, key: entry.def.key, generation: entry.generation });
    if (this.heap.size > 4 * this.entries.size + 64) this.heap.filter((h) => this.isCurrent(h));
    this.arm();
  }

  private isCurrent(h: HeapEntry): boolean {
    const entry = this.entries.get(h.key);
    return entry !== undefined && entry.generation === h.generation && entry.due === h.due;
  }

  private arm(): void {
    if (!this.started) return;
    while (this.heap.size > 0 && !this.isCurrent(this.heap.peek()!)) this.heap.pop();
    const top = this.heap.peek();
    if (this.timer && top && this.timer.at === top.due) return;
    this.timer?.handle.cancel();
    this.timer = undefined;
    if (!top) return;
    const handle = this.clock.setTimer(() => this.fire(), top.due - this.clock.now());
    this.timer = { handle, at: top.due };
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (let top = this.heap.peek(); top && top.due <= now; top = this.heap.peek()) {
      this.heap.pop();
      const entry = this.entries.get(top.key);
      if (!entry || !this.isCurrent(top) || entry.queued) continue;
      entry.due = undefined;
      entry.queued = true;
      this.ready.push(top.key);
    }
    this.pump();
    this.arm();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.ready.length > 0 && !this.stopped) {
      const entry = this.entries.get(this.ready.shift()!);
      if (!entry) continue;
      entry.queued = false;
      if (entry.def.suspend || entry.running) continue;
      this.launch(entry);
    }
    this.metrics.queued.set(this.ready.length);
    this.metrics.inflight.set(this.running);
  }

  private launch(entry: Entry): void {
    this.running++;
    const startedAt = this.clock.now();
    const controller = new AbortController();
    const done = this.execute(entry, controller)
      .catch((err: unknown) => {
        this.log.error(
          {
            namespace: entry.def.namespace,
            name: entry.def.name,
            err: redactText(errorMessage(err)),
          },
          "Failed to handle probe result",
        );
      })
      .finally(() => {
        this.running--;
        entry.running = undefined;
        if (!entry.removed && !entry.def.suspend && !this.stopped)
          this.scheduleNext(entry, startedAt);
        this.pump();
      });
    entry.running = { controller, done };
  }

  private scheduleNext(entry: Entry, startedAt: number): void {
    const interval = entry.def.intervalMs;
    const now = this.clock.now();
    let next = startedAt + interval;
    if (next <= now) next += Math.ceil((now - next + 1) / interval) * interval;
    this.schedule(entry, next);
  }

  private async execute(entry: Entry, controller: AbortController): Promise<void> {
    const def = entry.def;
    const result = await this.probeWithTimeout(entry, controller);
    if (entry.removed || this.stopped) return;
    const labels = { namespace: def.namespace, name: def.name, target_type: def.target.type };
    this.metrics.duration.observe(labels, result.latencyMs / 1000);
    if (!result.ok) this.metrics.failures.inc(labels);
    const now = this.clock.now();
    const observation = observe(entry.memory, result, def.policy ?? {}, now);
    entry.memory = observation.memory;
    entry.lastObservation = observation;
    setStateGauge(this.metrics, def.namespace, def.name, observation.status.state);
    this.metrics.score.set(
      { namespace: def.namespace, name: def.name },
      observation.status.healthScore,
    );
    if (observation.transition) this.logTransition(def, observation.transition, observation.status);
    this.deliver(entry, result, observation, now);
  }

  private async probeWithTimeout(entry: Entry, controller: AbortController): Promise<ProbeResult> {
    const { target, timeoutMs } = entry.def;
    const timer = this.clock.setTimer(
      () => controller.abort(new ProbeTimeoutError(timeoutMs)),
      timeoutMs,
    );
    const aborted = new Promise<ProbeResult>((resolve) => {
      const onAbort = (): void => {
        const reason: unknown = controller.signal.reason;
        const why = reason instanceof Error ? reason.message : "aborted";
        resolve({ ok: false, latencyMs: timeoutMs, message: `Probe ${why}`, metrics: [] });
      };
      if (controller.signal.aborted) onAbort();
      else controller.signal.addEventListener("abort", onAbort, { once: true });
    });
    // Libraries arm their own timers from it (connect and command timeouts) or
    // send it to the server (statement_timeout, an int4 of ms): keep it in range.
    const ctx = {
      signal: controller.signal,
      timeoutMs: Math.min(timeoutMs, MAX_TIMER_DELAY_MS),
      pool: entry.pool,
    };
    const probing = runProbe(this.probes, target, ctx).catch((err: unknown): ProbeResult => ({
      ok: false,
      latencyMs: 0,
      message: `Probe failed: ${errorMessage(err)}`,
      metrics: [],
    }));
    try {
      // A probe that honours the signal settles with its own, more precise message.
      const result = await Promise.race([probing, aborted]);
      return controller.signal.aborted
        ? await Promise.race([probing, delay(this.clock, 50).then(() => aborted)])
        : result;
    } finally {
      timer.cancel();
    }
  }

  private deliver(entry: Entry, result: ProbeResult, observation: Observation, now: number): void {
    const def = entry.def;
    const status: HealthStatusFields = observation.status;
    const report: CheckReport = {
      ...observation,
      key: def.key,
      namespace: def.namespace,
      name: def.name,
      result,
      markWritten: () => {
        if (!entry.removed) entry.memory = markWritten(entry.memory, status, now);
      },
    };
    void Promise.resolve()
      .then(() => this.onReport(report))
      .catch((err: unknown) => {
        this.log.error(
          { namespace: def.namespace, name: def.name, err: redactText(errorMessage(err)) },
          "Failed to deliver probe report",
        );
      });
  }

  private logTransition(
    def: CheckDefinition,
    t: { from: HealthState; to: HealthState },
    status: HealthStatusFields,
  ): void {
    this.log.info(
      {
        namespace: def.namespace,
        name: def.name,
        target: def.target.type,
        from: t.from,
        to: t.to,
        message: redactText(status.message),
      },
      "Changed HealthCheck state",
    );
  }
}

function delay(clock: Clock, ms: number): Promise<void> {
  return clock.sleep(ms);
}
