// The manager runs the operator process: the HTTP server, runnables that run
// on every replica, and leader-only runnables (controllers) that start once
// this replica holds the leader Lease.
//
// Shutdown (SIGTERM/SIGINT, or shutdown()):
//   1. /readyz turns 503;
//   2. runnables stop in reverse start order, sharing one deadline
//      (--graceful-shutdown-timeout); a runnable that overruns is abandoned;
//   3. the leader Lease is released so a peer takes over at once; but when a
//      runnable was abandoned or failed to stop, it may still be acting as
//      leader until the process exits, so the Lease is left to expire;
//   4. the HTTP server closes; the process exits 0.
// A second signal during shutdown exits 1 at once.
//
// Losing leadership (a renewal that cannot succeed within the renew deadline,
// or another holder found on the Lease) exits the process with code 1 at
// once, without a graceful stop: another replica may already be leading, so
// finishing in-flight work would risk two writers. The Deployment restarts the
// process, which then campaigns again from a clean state (controller-runtime
// does the same).
//
// Leadership changes are logged and recorded as Events (reason
// LeaderElection) on the Lease, like client-go's "became leader".
import type { KubeConfig } from "@kubernetes/client-node";
import { realClock, type Clock } from "./clock.ts";
import type { RequestAuthorizer } from "./auth.ts";
import type { ManagerConfig } from "./config.ts";
import { EventRecorder } from "./events.ts";
import { HttpServer } from "./http-server.ts";
import { KubeClient, type KubeObject } from "./kube.ts";
import {
  defaultIdentity,
  kubeLeaseStore,
  LeaderElector,
  type LeaseStore,
  type StoppedReason,
} from "./leader-election.ts";
import { log as rootLog, type Logger } from "./log.ts";
import { collectProcessMetrics } from "./metrics.ts";
import type { Runnable } from "./runnable.ts";

export interface ManagerOptions {
  config: ManagerConfig;
  /** Used for the Lease when leader election is on and no leaseStore is given. */
  kubeConfig?: KubeConfig;
  leaseStore?: LeaseStore;
  /** Leader election identity; default hostname_pid_random. */
  identity?: string;
  logger?: Logger;
  clock?: Clock;
  /** Ends the process; default process.exit. Tests inject their own. */
  exit?: (code: number) => void;
  /** Records leadership Events on the Lease; default one built from kubeConfig (none without). */
  events?: EventRecorder;
  /** Guards the HTTP server's protected paths (/metrics…); none: they are open. */
  authorizer?: RequestAuthorizer;
}

/** How long shutdown waits for the "released" Event before moving on. */
const EVENT_WAIT_MS = 2000;

type State = "new" | "starting" | "running" | "stopping" | "stopped";

export class Manager {
  readonly http: HttpServer;
  private readonly opts: ManagerOptions;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly runnables: Runnable[] = [];
  /** Runnables that were started, in start order. */
  private readonly started: Runnable[] = [];
  private readonly elector: LeaderElector | undefined;
  private state: State = "new";
  private shutdownPromise: Promise<number> | undefined;
  private resolveDone!: (code: number) => void;
  private readonly donePromise = new Promise<number>((resolve) => (this.resolveDone = resolve));
  private leaderRunnablesStarted = false;
  private removeSignalHandlers: (() => void) | undefined;
  private readonly events: EventRecorder | undefined;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.logger = opts.logger ?? rootLog;
    this.clock = opts.clock ?? realClock;
    this.events = opts.events ?? defaultEventRecorder(opts, this.logger);
    this.http = new HttpServer({
      bindAddress: opts.config.metricsBindAddress,
      isReady: () => this.isReady(),
      logger: this.logger,
      authorizer: opts.authorizer,
    });
    this.elector = opts.config.leaderElection.enabled ? this.createElector() : undefined;
  }

  private createElector(): LeaderElector {
    const le = this.opts.config.leaderElection;
    const store = this.opts.leaseStore ?? this.defaultLeaseStore();
    return new LeaderElector({
      store,
      identity: this.opts.identity ?? defaultIdentity(),
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      clock: this.clock,
      logger: this.logger,
      onStartedLeading: () => {
        void this.recordLeaseEvent("became leader");
        return this.startLeaderRunnables();
      },
      onStoppedLeading: (reason) => this.onStoppedLeading(reason),
    });
  }

  private defaultLeaseStore(): LeaseStore {
    const le = this.opts.config.leaderElection;
    if (!this.opts.kubeConfig)
      throw new Error("leader election needs a kubeConfig or a leaseStore");
    return kubeLeaseStore(this.opts.kubeConfig, {
      namespace: le.leaseNamespace,
      name: le.leaseName,
    });
  }

  /** Registers a runnable; must be called before start(). */
  add(runnable: Runnable): void {
    if (this.state !== "new") throw new Error(`cannot add runnable ${runnable.name} after start`);
    if (this.runnables.some((r) => r.name === runnable.name)) {
      throw new Error(`a runnable named ${runnable.name} is already registered`);
    }
    this.runnables.push(runnable);
  }

  /** True once started and until shutdown begins. */
  isReady(): boolean {
    return this.state === "running";
  }

  /** True when this replica may run leader-only work (always, with leader election off). */
  isLeader(): boolean {
    if (this.state !== "running") return false;
    return this.elector ? this.elector.isLeader() : true;
  }

  /** The leader election identity, when leader election is on. */
  identity(): string | undefined {
    return this.elector?.identity;
  }

  /** Resolves with the exit code once shutdown has completed. */
  done(): Promise<number> {
    return this.donePromise;
  }

  /**
   * Starts the HTTP server and the runnables that run on every replica, then
   * campaigns for leadership (or starts leader-only runnables at once when
   * leader election is off). Rejects when something fails to start.
   */
  async start(): Promise<void> {
    if (this.state !== "new") throw new Error("manager already started");
    this.state = "starting";
    collectProcessMetrics();
    await this.http.start();
    for (const runnable of this.runnables.filter((r) => !r.needsLeaderElection)) {
      await this.startRunnable(runnable);
    }
    this.state = "running";
    this.logger.info(
      { runnables: this.runnables.length, leaderElection: Boolean(this.elector) },
      "Started manager",
    );
    if (this.elector) void this.elector.run();
    else await this.startLeaderRunnables();
  }

  private async startRunnable(runnable: Runnable): Promise<void> {
    await runnable.start();
    this.started.push(runnable);
    this.logger.info(
      { runnable: runnable.name, needsLeaderElection: runnable.needsLeaderElection },
      "Started runnable",
    );
  }

  private async startLeaderRunnables(): Promise<void> {
    if (this.leaderRunnablesStarted) return;
    this.leaderRunnablesStarted = true;
    try {
      for (const runnable of this.runnables.filter((r) => r.needsLeaderElection)) {
        if (this.state !== "running") return;
        await this.startRunnable(runnable);
      }
    } catch (err) {
      this.logger.error({ err }, "Failed to start a leader-only runnable");
      void this.shutdown("runnable failed to start", 1);
    }
  }

  private onStoppedLeading(reason: StoppedReason): void {
    if (reason !== "lost" || this.state === "stopped") return;
    this.logger.error("Exiting: leadership lost, a peer may already be leading");
    this.state = "stopped";
    this.removeSignalHandlers?.();
    this.resolveDone(1);
    this.exit(1);
  }

  private exit(code: number): void {
    (this.opts.exit ?? ((c: number) => process.exit(c)))(code);
  }

  /** Graceful shutdown; idempotent. Resolves with the exit code. */
  shutdown(reason: string, exitCode = 0): Promise<number> {
    this.shutdownPromise ??= this.doShutdown(reason, exitCode);
    return this.shutdownPromise;
  }

  private async doShutdown(reason: string, exitCode: number): Promise<number> {
    const timeoutMs = this.opts.config.shutdownTimeoutMs;
    const deadline = this.clock.now() + timeoutMs;
    this.logger.info({ reason, timeoutMs }, "Shutting down");
    this.state = "stopping";
    let budget = deadline;
    let allStopped = true;
    for (const runnable of [...this.started].reverse()) {
      const result = await this.stopRunnable(runnable, budget);
      // A runnable abandoned at the deadline used up the budget: the rest get
      // none, even when a timer fired a millisecond before the clock agreed.
      if (result === "timeout") budget = 0;
      if (result !== "stopped") allStopped = false;
    }
    await this.stopElector(allStopped);
    await this.http.stop(Math.max(deadline - this.clock.now(), 1000));
    this.state = "stopped";
    this.logger.info({ exitCode }, "Shut down");
    this.resolveDone(exitCode);
    return exitCode;
  }

  /** Stops leader election; releases the Lease only when every runnable stopped. */
  private async stopElector(allStopped: boolean): Promise<void> {
    if (!this.elector?.isLeader()) {
      await this.elector?.stop();
      return;
    }
    await this.elector.stop({ release: allStopped });
    const what = allStopped ? "released the lease" : "left the lease to expire";
    await this.withinMs(this.recordLeaseEvent(what), EVENT_WAIT_MS);
  }

  private leaseObject(): KubeObject {
    const le = this.opts.config.leaderElection;
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: le.leaseName, namespace: le.leaseNamespace },
    };
  }

  private recordLeaseEvent(what: string): Promise<void> {
    if (!this.events || !this.elector) return Promise.resolve();
    return this.events.normal(
      this.leaseObject(),
      "LeaderElection",
      `${this.elector.identity} ${what}`,
    );
  }

  /** Waits for promise, but no longer than ms. */
  private async withinMs(promise: Promise<unknown>, ms: number): Promise<void> {
    const timeout = new AbortController();
    await Promise.race([promise, this.clock.sleep(ms, timeout.signal)]);
    timeout.abort();
  }

  private async stopRunnable(
    runnable: Runnable,
    deadline: number,
  ): Promise<"stopped" | "timeout" | "failed"> {
    const remaining = Math.max(deadline - this.clock.now(), 0);
    const timeout = new AbortController();
    const timedOut = this.clock.sleep(remaining, timeout.signal).then(() => "timeout" as const);
    try {
      const result = await Promise.race([
        runnable.stop(remaining).then(() => "stopped" as const),
        timedOut,
      ]);
      if (result === "timeout") {
        this.logger.warn(
          { runnable: runnable.name },
          "Abandoned runnable: shutdown deadline passed",
        );
      } else {
        this.logger.info({ runnable: runnable.name }, "Stopped runnable");
      }
      return result;
    } catch (err) {
      this.logger.error({ err, runnable: runnable.name }, "Failed to stop runnable");
      return "failed";
    } finally {
      timeout.abort();
    }
  }

  /**
   * SIGTERM/SIGINT start a graceful shutdown and then exit with its code; a
   * second signal exits 1 at once. `target` is the process (tests pass an
   * EventEmitter). Returns a function that removes the handlers.
   */
  installSignalHandlers(target: NodeJS.EventEmitter = process): () => void {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (this.shutdownPromise) {
        this.logger.warn({ signal }, "Received a second signal, exiting immediately");
        this.exit(1);
        return;
      }
      this.logger.info({ signal }, "Received signal");
      void this.shutdown(signal).then((code) => this.exit(code));
    };
    const onTerm = (): void => onSignal("SIGTERM");
    const onInt = (): void => onSignal("SIGINT");
    target.on("SIGTERM", onTerm);
    target.on("SIGINT", onInt);
    this.removeSignalHandlers = () => {
      target.off("SIGTERM", onTerm);
      target.off("SIGINT", onInt);
    };
    return this.removeSignalHandlers;
  }

  /** Starts, waits for shutdown, and exits the process with its code. */
  async run(): Promise<number> {
    this.installSignalHandlers();
    try {
      await this.start();
    } catch (err) {
      this.logger.error({ err }, "Failed to start manager");
      const code = await this.shutdown("start failed", 1);
      this.exit(code);
      return code;
    }
    return this.done();
  }
}

function defaultEventRecorder(opts: ManagerOptions, logger: Logger): EventRecorder | undefined {
  if (!opts.kubeConfig || !opts.config.leaderElection.enabled) return undefined;
  return new EventRecorder({
    client: new KubeClient(opts.kubeConfig),
    component: "pake-operator",
    logger,
  });
}
