// Leader election on a coordination.k8s.io/v1 Lease, the way client-go does
// it (client-node has none):
//
// - A candidate reads the Lease every retry period. It takes the Lease when
//   there is none, when it is released (empty holderIdentity), or when it is
//   expired. Expiry is measured with the LOCAL clock from the moment this
//   process last saw the record change (observedAt + leaseDurationSeconds),
//   never by comparing the holder's renewTime with our clock, so clock skew
//   between nodes does not matter. Durations are measured on the monotonic
//   clock (performance.now), so a step of the wall clock (NTP) neither
//   expires a held lease early nor keeps a dead one alive; the wall clock
//   only stamps acquireTime and renewTime.
// - Writes carry the resourceVersion read before them (optimistic
//   concurrency); a 409 Conflict means another candidate won the race.
// - The leader renews every retry period. When no renewal succeeds within the
//   renew deadline (measured from the start of the renewal attempt, retrying
//   every retry period, as client-go does), or the Lease turns out to be held
//   by someone else, leadership is lost. The elector
//   reports that through `onStoppedLeading("lost")`; the manager then exits
//   the process non-zero (see manager.ts) so nothing keeps acting as leader.
// - On graceful shutdown the leader releases the Lease (empty holderIdentity,
//   leaseDurationSeconds 1) so that a peer takes over at its next retry
//   instead of waiting for the lease to expire. A shutdown that could not stop
//   its work stops without releasing (stop({ release: false })): the peer
//   waits for the lease to expire, by which time this process has exited.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import {
  ApiException,
  CoordinationV1Api,
  V1MicroTime,
  type KubeConfig,
  type V1Lease,
} from "@kubernetes/client-node";
import { Counter, Gauge } from "prom-client";
import { realClock, type Clock } from "./clock.ts";
import { log as rootLog, type Logger } from "./log.ts";
import { registry } from "./metrics.ts";

/** The part of a Lease's spec that leader election reads and writes. */
export interface LeaseRecord {
  /** Empty string when the lease is released. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** RFC 3339 with microseconds, as the API server stores MicroTime. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** Thrown by a LeaseStore when a create or update lost an optimistic-concurrency race (HTTP 409). */
export class LeaseConflictError extends Error {
  override readonly name = "LeaseConflictError";
}

/** Where the Lease lives. `kubeLeaseStore` is the real one; tests may use an in-memory one. */
export interface LeaseStore {
  /** "namespace/name", for logs and metric labels. */
  readonly key: string;
  get(): Promise<StoredLease | undefined>;
  /** Throws LeaseConflictError when the Lease already exists. */
  create(record: LeaseRecord): Promise<StoredLease>;
  /** Throws LeaseConflictError when resourceVersion is stale. */
  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
}

/** What this process last saw of the Lease, and when (local monotonic clock). */
export interface Observation {
  record: LeaseRecord;
  observedAt: number;
}

export type Decision =
  | { action: "create" }
  | { action: "renew" }
  | { action: "acquire"; reason: "released" | "expired" }
  | { action: "wait"; holder: string; expiresAt: number };

export interface DecideInput {
  current: LeaseRecord | undefined;
  /** Observation already updated for `current` (see `observe`). */
  observation: Observation | undefined;
  identity: string;
  /** Monotonic time, on the clock of `observation.observedAt`. */
  now: number;
}

/** Pure decision: what a candidate should do with the Lease it just read. */
export function decide(input: DecideInput): Decision {
  const { current, observation, identity, now } = input;
  if (!current) return { action: "create" };
  if (current.holderIdentity === identity) return { action: "renew" };
  if (current.holderIdentity === "") return { action: "acquire", reason: "released" };
  const expiresAt = leaseExpiresAt(observation ?? { record: current, observedAt: now });
  if (expiresAt <= now) return { action: "acquire", reason: "expired" };
  return { action: "wait", holder: current.holderIdentity, expiresAt };
}

/** Local time at which an observed lease expires unless it changes again. */
export function leaseExpiresAt(observation: Observation): number {
  return observation.observedAt + observation.record.leaseDurationSeconds * 1000;
}

/** Keeps the old observation while the record is unchanged; otherwise restarts the expiry clock. */
export function observe(
  previous: Observation | undefined,
  current: LeaseRecord,
  now: number,
): Observation {
  if (previous && sameRecord(previous.record, current)) return previous;
  return { record: current, observedAt: now };
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/** RFC 3339 with microseconds, as metav1.MicroTime expects. */
export function microTime(ms: number): string {
  return new V1MicroTime(ms).toISOString();
}

interface NextRecordInput {
  current: LeaseRecord | undefined;
  identity: string;
  leaseDurationSeconds: number;
  now: number;
  /** True when we already hold the lease (keep acquireTime and transitions). */
  renewing: boolean;
}

/** The record a candidate writes when it creates, takes over or renews the Lease. */
export function nextRecord(input: NextRecordInput): LeaseRecord {
  const { current, identity, leaseDurationSeconds, now, renewing } = input;
  const stamp = microTime(now);
  if (renewing && current) {
    return { ...current, holderIdentity: identity, leaseDurationSeconds, renewTime: stamp };
  }
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: stamp,
    renewTime: stamp,
    leaseTransitions: current ? current.leaseTransitions + 1 : 0,
  };
}

/** The record a leader writes on graceful shutdown so a peer can take over at once. */
export function releasedRecord(current: LeaseRecord, now: number): LeaseRecord {
  const stamp = microTime(now);
  return {
    ...current,
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: stamp,
    renewTime: stamp,
  };
}

/** hostname_pid_random: unique per process even when two share a host and pid namespace. */
export function defaultIdentity(): string {
  return `${hostname()}_${process.pid}_${randomBytes(4).toString("hex")}`;
}

// --- metrics ---------------------------------------------------------------

const isLeaderGauge = new Gauge({
  name: "pake_leader_is_leader",
  help: "1 while this process holds the leader lease, else 0.",
  labelNames: ["lease"],
  registers: [registry],
});

const transitionsCounter = new Counter({
  name: "pake_leader_transitions_total",
  help:
    "Changes of this process's leadership: acquired, lost (renewal failed), released (shutdown) " +
    "or abandoned (shutdown left the lease to expire).",
  labelNames: ["lease", "transition"],
  registers: [registry],
});

// --- the elector ---------------------------------------------------------------

/** "lost": renewal failed; "released": stop() released the Lease; "abandoned": stop() left it to expire. */
export type StoppedReason = "lost" | "released" | "abandoned";

export interface LeaderElectorOptions {
  store: LeaseStore;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Timers and the wall clock; durations use its monotonic() (performance.now on the real clock). */
  clock?: Clock;
  logger?: Logger;
  /** Called (not awaited) when this process becomes leader. */
  onStartedLeading: () => void | Promise<void>;
  /** Called when leadership ends: "lost" when renewal failed, else on stop() (see StoppedReason). */
  onStoppedLeading?: (reason: StoppedReason) => void;
  /** Called when a different holder is observed. */
  onNewLeader?: (identity: string) => void;
  /** Extra random delay added to each candidate retry, as a fraction of the retry period. Default 0.2. */
  jitter?: number;
}

type AttemptResult = "ok" | "held-by-other" | "error";

export class LeaderElector {
  private readonly opts: LeaderElectorOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private observation: Observation | undefined;
  private lastKnown: StoredLease | undefined;
  private leader = false;
  private lastReportedHolder: string | undefined;
  private running: Promise<StoppedReason | "stopped"> | undefined;

  constructor(opts: LeaderElectorOptions) {
    validateTimings(opts);
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.logger = (opts.logger ?? rootLog).child({
      lease: opts.store.key,
      identity: opts.identity,
    });
    isLeaderGauge.set({ lease: opts.store.key }, 0);
  }

  get identity(): string {
    return this.opts.identity;
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Observation of the Lease as this process last saw it (for diagnostics and tests). */
  lastObservation(): Observation | undefined {
    return this.observation;
  }

  /**
   * Campaigns until leader, then renews until leadership is lost or stop() is
   * called. Resolves "lost" or "stopped"; never rejects.
   */
  run(): Promise<StoppedReason | "stopped"> {
    this.running ??= this.loop();
    return this.running;
  }

  /**
   * Stops campaigning/renewing and, when leader, releases the Lease. With
   * release false (work this process could not stop may still be acting as
   * leader) the Lease is left to expire, so no peer leads before that.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.abort.abort();
    if (this.running) await this.running;
    if (!this.leader) return;
    if (options.release === false) this.abandon();
    else await this.release();
  }

  /** Milliseconds on the monotonic clock (durations only; see Clock.monotonic). */
  private monotonic(): number {
    return this.clock.monotonic ? this.clock.monotonic() : this.clock.now();
  }

  /**
   * One read-decide-write step. Returns "ok" when this process holds the Lease
   * afterwards, "held-by-other" when a valid lease of someone else is in the
   * way, "error" on conflicts and API errors.
   */
  async tryAcquireOrRenew(): Promise<AttemptResult> {
    try {
      return await this.attempt();
    } catch (err) {
      if (err instanceof LeaseConflictError) {
        this.logger.debug("Lost a lease update race (conflict)");
      } else {
        this.logger.warn({ err }, "Failed to acquire or renew the leader lease");
      }
      return "error";
    }
  }

  private async attempt(): Promise<AttemptResult> {
    const stored = await this.store().get();
    const now = this.monotonic();
    if (stored) this.observation = observe(this.observation, stored.record, now);
    this.lastKnown = stored;
    const decision = decide({
      current: stored?.record,
      observation: this.observation,
      identity: this.opts.identity,
      now,
    });
    if (decision.action === "wait") {
      this.reportHolder(decision.holder);
      return "held-by-other";
    }
    const record = nextRecord({
      current: stored?.record,
      identity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
      now: this.clock.now(),
      renewing: decision.action === "renew",
    });
    const written = stored
      ? await this.store().update(record, stored.resourceVersion)
      : await this.store().create(record);
    this.lastKnown = written;
    this.observation = { record: written.record, observedAt: this.monotonic() };
    this.reportHolder(this.opts.identity);
    return "ok";
  }

  private store(): LeaseStore {
    return this.opts.store;
  }

  private reportHolder(holder: string): void {
    if (holder === this.lastReportedHolder) return;
    this.lastReportedHolder = holder;
    if (holder !== this.opts.identity) {
      this.logger.info({ holder }, "Observed a new leader");
      this.opts.onNewLeader?.(holder);
    }
  }

  private async loop(): Promise<StoppedReason | "stopped"> {
    this.logger.info("Started leader election");
    const acquired = await this.campaign();
    if (!acquired) return "stopped";
    this.becomeLeader();
    return this.renewLoop();
  }

  private async campaign(): Promise<boolean> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const result = await this.withTimeout(this.tryAcquireOrRenew(), this.opts.renewDeadlineMs);
      if (result === "ok") {
        this.leader = true;
        return !signal.aborted;
      }
      const jitter = this.opts.jitter ?? 0.2;
      await this.clock.sleep(this.opts.retryPeriodMs * (1 + Math.random() * jitter), signal);
    }
    return false;
  }

  private becomeLeader(): void {
    isLeaderGauge.set({ lease: this.store().key }, 1);
    transitionsCounter.inc({ lease: this.store().key, transition: "acquired" });
    this.logger.info(
      { leaseTransitions: this.lastKnown?.record.leaseTransitions },
      "Acquired the leader lease",
    );
    Promise.resolve()
      .then(() => this.opts.onStartedLeading())
      .catch((err: unknown) => this.logger.error({ err }, "Failed to start leading"));
  }

  private async renewLoop(): Promise<StoppedReason | "stopped"> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      await this.clock.sleep(this.opts.retryPeriodMs, signal);
      if (signal.aborted) break;
      const result = await this.renewWithinDeadline();
      if (result === "ok") continue;
      if (signal.aborted) break;
      this.loseLeadership(result);
      return "lost";
    }
    return "stopped";
  }

  /**
   * Tries to renew every retry period until a try succeeds, another holder is
   * found, or the renew deadline, counted from the first try, passes.
   */
  private async renewWithinDeadline(): Promise<AttemptResult> {
    const signal = this.abort.signal;
    const deadline = this.monotonic() + this.opts.renewDeadlineMs;
    for (;;) {
      const remaining = deadline - this.monotonic();
      const result = await this.withTimeout(this.tryAcquireOrRenew(), Math.max(remaining, 1));
      const left = deadline - this.monotonic();
      if (result !== "error" || signal.aborted || left <= 0) return result;
      await this.clock.sleep(Math.min(this.opts.retryPeriodMs, left), signal);
      if (signal.aborted || this.monotonic() >= deadline) return "error";
    }
  }

  private loseLeadership(cause: AttemptResult): void {
    this.leader = false;
    isLeaderGauge.set({ lease: this.store().key }, 0);
    transitionsCounter.inc({ lease: this.store().key, transition: "lost" });
    this.logger.error(
      { cause, renewDeadlineMs: this.opts.renewDeadlineMs },
      cause === "held-by-other"
        ? "Lost the leader lease to another holder"
        : "Lost the leader lease: renewal did not succeed within the renew deadline",
    );
    this.opts.onStoppedLeading?.("lost");
  }

  private abandon(): void {
    this.leader = false;
    isLeaderGauge.set({ lease: this.store().key }, 0);
    transitionsCounter.inc({ lease: this.store().key, transition: "abandoned" });
    this.logger.warn(
      { leaseDurationMs: this.opts.leaseDurationMs },
      "Did not release the leader lease: work that did not stop may still act; peers wait for it to expire",
    );
    this.opts.onStoppedLeading?.("abandoned");
  }

  private async release(): Promise<void> {
    this.leader = false;
    isLeaderGauge.set({ lease: this.store().key }, 0);
    transitionsCounter.inc({ lease: this.store().key, transition: "released" });
    try {
      const stored = await this.withTimeout(this.store().get(), this.opts.renewDeadlineMs);
      if (stored === "error" || stored?.record.holderIdentity !== this.opts.identity) {
        this.logger.warn("Did not release the leader lease: no longer its holder");
      } else {
        const record = releasedRecord(stored.record, this.clock.now());
        await this.withTimeout(
          this.store().update(record, stored.resourceVersion),
          this.opts.renewDeadlineMs,
        );
        this.logger.info("Released the leader lease");
      }
    } catch (err) {
      this.logger.warn({ err }, "Failed to release the leader lease; peers wait for it to expire");
    }
    this.opts.onStoppedLeading?.("released");
  }

  /** Resolves "error" when the promise does not settle in time (the request is abandoned). */
  private async withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "error"> {
    const timeout = new AbortController();
    const timer = this.clock.sleep(ms, timeout.signal).then(() => "timeout" as const);
    try {
      const winner = await Promise.race([promise, timer]);
      if (winner !== "timeout") return winner;
      this.logger.warn({ timeoutMs: ms }, "Timed out waiting for the API server");
      return "error";
    } finally {
      timeout.abort();
    }
  }
}

function validateTimings(opts: LeaderElectorOptions): void {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = opts;
  if (!(retryPeriodMs > 0)) throw new Error("retry period must be positive");
  if (!(renewDeadlineMs > retryPeriodMs)) {
    throw new Error("renew deadline must be greater than the retry period");
  }
  if (!(leaseDurationMs > renewDeadlineMs)) {
    throw new Error("lease duration must be greater than the renew deadline");
  }
}

// --- the real store ------------------------------------------------------------

function timeString(value: unknown): string | undefined {
  if (value instanceof Date) return microTime(value.getTime());
  return typeof value === "string" ? value : undefined;
}

function fromLease(lease: V1Lease): StoredLease {
  const spec = lease.spec ?? {};
  return {
    record: {
      holderIdentity: spec.holderIdentity ?? "",
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: timeString(spec.acquireTime),
      renewTime: timeString(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
    resourceVersion: lease.metadata?.resourceVersion ?? "",
  };
}

function toSpec(record: LeaseRecord): V1Lease["spec"] {
  const asMicro = (s: string | undefined): V1MicroTime | undefined =>
    s === undefined ? undefined : new V1MicroTime(s);
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: asMicro(record.acquireTime),
    renewTime: asMicro(record.renewTime),
    leaseTransitions: record.leaseTransitions,
  };
}

function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

function rethrowConflict(err: unknown, key: string): never {
  if (isStatus(err, 409)) throw new LeaseConflictError(`conflict writing Lease ${key}`);
  throw err;
}

export interface LeaseRef {
  namespace: string;
  name: string;
}

/** A LeaseStore backed by the API server (CoordinationV1Api); writes use replace with resourceVersion. */
export function kubeLeaseStore(kubeConfig: KubeConfig, ref: LeaseRef): LeaseStore {
  const api = kubeConfig.makeApiClient(CoordinationV1Api);
  const { namespace, name } = ref;
  const key = `${namespace}/${name}`;
  return {
    key,
    async get() {
      try {
        return fromLease(await api.readNamespacedLease({ name, namespace }));
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    },
    async create(record) {
      const body: V1Lease = { metadata: { name, namespace }, spec: toSpec(record) };
      try {
        return fromLease(await api.createNamespacedLease({ namespace, body }));
      } catch (err) {
        return rethrowConflict(err, key);
      }
    },
    async update(record, resourceVersion) {
      const body: V1Lease = {
        metadata: { name, namespace, resourceVersion },
        spec: toSpec(record),
      };
      try {
        return fromLease(await api.replaceNamespacedLease({ name, namespace, body }));
      } catch (err) {
        return rethrowConflict(err, key);
      }
    },
  };
}
