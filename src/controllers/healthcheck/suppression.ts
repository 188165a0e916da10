// Maintenance-aware suppression: a MaintenanceTask lists HealthChecks of its
// namespace in spec.suppressIncidentsFor; while a run of it is active, and at
// the latest until the run's start plus the task's spec.timeout, those checks
// open no Incident when Critical (nor repeat an open one: an Incident opened
// before the run stays open, and is still resolved when the check recovers).
//
// The level-triggered truth is the task's status.active (the runs whose Job
// has not finished, which the MaintenanceTask controller keeps), read from the
// process-wide MaintenanceTask informer's cache: no API call per probe. When
// a task's active runs change, the named checks are probed again at once
// (affectedChecks), so a suppression starts and ends with the run, not a probe
// interval later.
import type { ActiveRun } from "../../crds/maintenancetask.ts";
import { parseDuration } from "../../lib/duration.ts";
import type { Informer } from "../../runtime/informer.ts";
import type { KubeObject } from "../../runtime/kube.ts";

/** The CRD's default spec.timeout (the API server fills it in; a cache entry always has one). */
const DEFAULT_TASK_TIMEOUT = "1h";

/** Longest a report waits for the MaintenanceTask cache's first list. */
const SYNC_WAIT_MS = 10_000;

/** A MaintenanceTask as the HealthCheck module reads it from the informer's cache. */
export interface SuppressingTask extends KubeObject {
  spec?: { suppressIncidentsFor?: string[]; timeout?: string };
  status?: { active?: ActiveRun[] };
}

/** The run that suppresses a check's Incidents. */
export interface Suppression {
  task: string;
  job: string;
  /** When the run started (ms since the epoch). */
  start: number;
  /** The run's start plus the task's timeout (ms since the epoch): the suppression ends then at the latest. */
  until: number;
  /** What the check's status.suppressedBy says. */
  text: string;
}

function timeoutOf(task: SuppressingTask): number | undefined {
  try {
    return parseDuration(task.spec?.timeout ?? DEFAULT_TASK_TIMEOUT);
  } catch {
    return undefined; // the CRD rejects such a timeout; no bound, no suppression
  }
}

function runsOf(task: SuppressingTask, now: number): Suppression[] {
  const timeout = timeoutOf(task);
  if (timeout === undefined) return [];
  const name = task.metadata.name ?? "";
  return (task.status?.active ?? []).flatMap((run) => {
    const start = Date.parse(run.startTime);
    const until = start + timeout;
    if (!(until > now)) return [];
    const text = `MaintenanceTask ${name} (Job ${run.job})`;
    return [{ task: name, job: run.job, start, until, text }];
  });
}

/**
 * The run suppressing the check's Incidents now, if any: of the active runs
 * of tasks in the check's namespace that name it, the oldest (stable while it
 * lasts, so status and Event do not change when a second run starts).
 */
export function suppressingRun(
  tasks: readonly SuppressingTask[],
  check: { namespace?: string | undefined; name: string },
  now: number,
): Suppression | undefined {
  const runs = tasks
    .filter(
      (t) =>
        t.metadata.namespace === check.namespace &&
        (t.spec?.suppressIncidentsFor ?? []).includes(check.name),
    )
    .flatMap((t) => runsOf(t, now));
  return runs.sort((a, b) => a.start - b.start || a.text.localeCompare(b.text))[0];
}

const activeOf = (task: SuppressingTask | undefined): ActiveRun[] => task?.status?.active ?? [];
const namesOf = (task: SuppressingTask | undefined): string[] =>
  task?.spec?.suppressIncidentsFor ?? [];

/** What decides a task's suppressions: its runs, its timeout and the checks it names. */
const suppressionKey = (task: SuppressingTask | undefined): string =>
  JSON.stringify([
    activeOf(task)
      .map((r) => `${r.job}@${r.startTime}`)
      .sort(),
    task?.spec?.timeout,
    namesOf(task),
  ]);

/** Names of the checks whose suppression may differ between two versions of a task (either may be absent). */
export function affectedChecks(
  old: SuppressingTask | undefined,
  next: SuppressingTask | undefined,
): string[] {
  // No run before or after: nothing was or is suppressed.
  if (activeOf(old).length === 0 && activeOf(next).length === 0) return [];
  if (suppressionKey(old) === suppressionKey(next)) return [];
  return [...new Set([...namesOf(old), ...namesOf(next)])];
}

/** Suppression lookups on the shared MaintenanceTask informer's cache. */
export class MaintenanceSuppressions {
  private readonly informer: Informer<SuppressingTask>;
  private readonly now: () => number;
  private readonly syncWaitMs: number;

  constructor(informer: Informer<SuppressingTask>, now: () => number, syncWaitMs = SYNC_WAIT_MS) {
    this.informer = informer;
    this.now = now;
    this.syncWaitMs = syncWaitMs;
  }

  private async synced(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.syncWaitMs);
    });
    await Promise.race([this.informer.waitForSync(), timeout]);
    clearTimeout(timer);
  }

  /**
   * The run suppressing the check now. Waits for the cache's first list (an
   * empty cache suppresses nothing), but not for ever: a cache that cannot
   * list MaintenanceTasks must not stop the check's reports.
   */
  async find(check: KubeObject): Promise<Suppression | undefined> {
    if (!this.informer.hasSynced()) await this.synced();
    const namespace = check.metadata.namespace;
    return suppressingRun(
      this.informer.list(namespace),
      { namespace, name: check.metadata.name ?? "" },
      this.now(),
    );
  }
}
