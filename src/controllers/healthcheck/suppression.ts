// Maintenance-aware suppression: a MaintenanceTask or a BackupPolicy lists
// HealthChecks of its namespace in spec.suppressIncidentsFor; while a run of
// it is active (a task's run; a policy's backup or verification), and at the
// latest until the run's start plus its timeout, those checks open no
// Incident when Critical (nor repeat an open one: an Incident opened before
// the run stays open, and is still resolved when the check recovers).
//
// The level-triggered truth is the owner's status (status.active: the runs
// whose Job has not finished; a BackupPolicy's status.verifying likewise),
// read from the process-wide informers' caches: no API call per probe. When
// an owner's active runs change, the named checks are probed again at once
// (affectedChecks), so a suppression starts and ends with the run, not a probe
// interval later.
import type { ActiveRun } from "../../crds/maintenancetask.ts";
import { parseDuration } from "../../lib/duration.ts";
import type { Informer } from "../../runtime/informer.ts";
import type { KubeObject } from "../../runtime/kube.ts";

/** The CRDs' default timeouts (the API server fills them in; a cache entry always has them). */
const DEFAULT_RUN_TIMEOUT = "1h";
const DEFAULT_VERIFY_TIMEOUT = "30m";

/** Longest a report waits for the MaintenanceTask cache's first list. */
const SYNC_WAIT_MS = 10_000;

/** A MaintenanceTask or BackupPolicy as the HealthCheck module reads it from an informer's cache. */
export interface SuppressingTask extends KubeObject {
  spec?: { suppressIncidentsFor?: string[]; timeout?: string; verify?: { timeout?: string } };
  status?: { active?: ActiveRun[]; verifying?: ActiveRun[] };
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

function parsedTimeout(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined; // the CRD rejects such a timeout; no bound, no suppression
  }
}

/** The owner's unfinished runs, each with the timeout that bounds it. */
function windowsOf(task: SuppressingTask): { run: ActiveRun; timeout: string }[] {
  const runTimeout = task.spec?.timeout ?? DEFAULT_RUN_TIMEOUT;
  const verifyTimeout = task.spec?.verify?.timeout ?? DEFAULT_VERIFY_TIMEOUT;
  return [
    ...(task.status?.active ?? []).map((run) => ({ run, timeout: runTimeout })),
    ...(task.status?.verifying ?? []).map((run) => ({ run, timeout: verifyTimeout })),
  ];
}

function runsOf(task: SuppressingTask, now: number): Suppression[] {
  const name = task.metadata.name ?? "";
  const kind = task.kind ?? "MaintenanceTask";
  return windowsOf(task).flatMap(({ run, timeout }) => {
    const ms = parsedTimeout(timeout);
    if (ms === undefined) return [];
    const start = Date.parse(run.startTime);
    const until = start + ms;
    if (!(until > now)) return [];
    const text = `${kind} ${name} (Job ${run.job})`;
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

const activeOf = (task: SuppressingTask | undefined): ActiveRun[] => [
  ...(task?.status?.active ?? []),
  ...(task?.status?.verifying ?? []),
];
const namesOf = (task: SuppressingTask | undefined): string[] =>
  task?.spec?.suppressIncidentsFor ?? [];

/** What decides a task's suppressions: its runs, its timeout and the checks it names. */
const suppressionKey = (task: SuppressingTask | undefined): string =>
  JSON.stringify([
    activeOf(task)
      .map((r) => `${r.job}@${r.startTime}`)
      .sort(),
    task?.spec?.timeout,
    task?.spec?.verify?.timeout,
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

/** Suppression lookups on the shared MaintenanceTask and BackupPolicy informers' caches. */
export class MaintenanceSuppressions {
  private readonly informers: Informer<SuppressingTask>[];
  private readonly now: () => number;
  private readonly syncWaitMs: number;

  constructor(
    informers: Informer<SuppressingTask>[],
    now: () => number,
    syncWaitMs = SYNC_WAIT_MS,
  ) {
    this.informers = informers;
    this.now = now;
    this.syncWaitMs = syncWaitMs;
  }

  private async synced(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.syncWaitMs);
    });
    await Promise.race([Promise.all(this.informers.map((i) => i.waitForSync())), timeout]);
    clearTimeout(timer);
  }

  /**
   * The run suppressing the check now. Waits for the cache's first list (an
   * empty cache suppresses nothing), but not for ever: a cache that cannot
   * list its kind must not stop the check's reports.
   */
  async find(check: KubeObject): Promise<Suppression | undefined> {
    if (!this.informers.every((i) => i.hasSynced())) await this.synced();
    const namespace = check.metadata.namespace;
    return suppressingRun(
      this.informers.flatMap((i) => i.list(namespace)),
      { namespace, name: check.metadata.name ?? "" },
      this.now(),
    );
  }
}
