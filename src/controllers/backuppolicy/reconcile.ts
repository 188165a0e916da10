// The BackupPolicy reconcile, run by the kit once the spec is valid. One
// reconcile, on jobrun's Job runs:
//   1. list the policy's Jobs (fresh from the API server);
//   2. read each finished backup Job not yet recorded: its run record and,
//      from the runner's result, the backup it took and the ids retention
//      pruned;
//   3. watchdog: delete Jobs unfinished past timeout + grace;
//   4. plan: the schedule slot due, or a new pake.dev/backup-now token →
//      backup Jobs with deterministic names (AlreadyExists = already
//      started), never two at once (concurrency Forbid);
//   5. verification (verification.ts): read finished verify Jobs; ensure
//      the verify Job of the newest retained backup when it is not verified;
//   6. return the status (lastBackup, backups[], lastVerification, schedule,
//      conditions), the Events and the re-queue; after the status write,
//      the recorded Jobs are marked (so a re-read Job is not recorded twice),
//      Incidents opened or resolved (incidents.ts), the metrics set and old
//      Jobs pruned.
import {
  BACKUP_NOW_ANNOTATION,
  type BackupPolicySpec,
  type BackupPolicyStatus,
  type Verification,
} from "../../crds/backuppolicy.ts";
import { parseDuration } from "../../lib/duration.ts";
import { JobKind } from "../../lib/kinds.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import type { KubeObject } from "../../runtime/kube.ts";
import {
  DEFAULT_WATCHDOG_GRACE_MS,
  activeRuns,
  collectFinished,
  openRunSession,
  planSessionRuns,
  pruneFinished,
  recordEvents,
  runWatchdog,
  startRun,
  wakeAfter,
  blockedEvents,
  heldPlan,
  requeueWhileHeld,
  type Blocked,
  type JobRunOptions,
  type RunSession,
  type SchedulePlan,
} from "../jobrun/index.ts";
import type { KindResult } from "../kit/index.ts";
import { backupRunOf, failedBackup, type BackupRun } from "./backups.ts";
import { reportIncidents } from "./incidents.ts";
import { buildBackupJob, POLICY_LABEL, type BackupOwner } from "./job-builder.ts";
import { recordPolicyMetrics } from "./metrics.ts";
import { missingReference } from "./references.ts";
import { statusMutator, type FinishedBackup, type Status } from "./status.ts";
import {
  VERIFY_LABEL,
  backupToVerify,
  buildVerifyJob,
  verificationOf,
  verifiesAfterBackup,
  verifyJobName,
} from "./verification.ts";

/** Set on a backup Job once its outcome is in the policy's status. */
export const RECORDED_ANNOTATION = "pake.dev/recorded";
/** Finished backup Jobs kept for `kubectl logs` (the backups themselves are in status). */
const KEEP_JOBS = { successful: 3, failed: 3 };

export interface BackupPolicyObject extends KubeObject {
  spec?: unknown;
  status?: BackupPolicyStatus;
}

export type BackupPolicyOptions = JobRunOptions;

type Session = RunSession<BackupRun>;
type VerifySession = RunSession<Verification>;

/** What one reconcile works on. */
interface PolicyReconcile {
  policy: BackupPolicyObject;
  owner: BackupOwner;
  ctx: ReconcileContext;
  options: BackupPolicyOptions;
  backups: Session;
  verifications: VerifySession;
  /** Why runs are held (a referenced Secret or claim is missing). */
  blocked: Blocked | undefined;
}

function markedJobs<P>(session: RunSession<P>): string[] {
  return session.jobs
    .filter((j) => j.metadata.annotations?.[RECORDED_ANNOTATION] === "true")
    .map((j) => j.metadata.name!);
}

function recordedJobs(session: Session, status: BackupPolicyStatus | undefined): Set<string> {
  const inStatus = [status?.lastBackup, ...(status?.backups ?? [])].map((b) => b?.job);
  return new Set([...markedJobs(session), ...inStatus].filter((n): n is string => n !== undefined));
}

function recordedVerifications(r: PolicyReconcile): Set<string> {
  const last = r.policy.status?.lastVerification?.backupId;
  const names = markedJobs(r.verifications);
  return new Set(last === undefined ? names : [...names, verifyJobName(r.owner.name, last)]);
}

function planFor(
  policy: BackupPolicyObject,
  spec: BackupPolicySpec,
  session: Session,
): SchedulePlan {
  return planSessionRuns(session, policy, {
    spec: { ...spec, concurrencyPolicy: "Forbid" },
    runNowAnnotation: BACKUP_NOW_ANNOTATION,
  });
}

/** Every run this reconcile ended, as status records it, oldest first. */
function finishedBackups(session: Session): FinishedBackup[] {
  return session.records
    .map((record) => {
      const run = session.finished.find((f) => f.record === record)?.payload ?? { pruned: [] };
      return { attempt: run.backup ?? failedBackup(record), run };
    })
    .sort((a, b) => (a.attempt.startTime ?? "").localeCompare(b.attempt.startTime ?? ""));
}

async function markRecorded<P>(session: RunSession<P>, ctx: ReconcileContext): Promise<void> {
  for (const f of session.finished) {
    await ctx.client.patch(
      JobKind,
      { namespace: session.owner.namespace, name: f.record.job },
      { metadata: { annotations: { [RECORDED_ANNOTATION]: "true" } } },
    );
  }
}

function verificationsOf(session: VerifySession): Verification[] {
  return session.finished
    .flatMap((f) => (f.payload ? [f.payload] : []))
    .sort((a, b) => a.time.localeCompare(b.time));
}

/**
 * Starts the verify Job of the newest retained backup when it is not verified
 * yet. `next` is the status this reconcile writes (its backups and
 * verifications included).
 */
async function ensureVerification(r: PolicyReconcile, next: Status): Promise<void> {
  if (r.blocked || !verifiesAfterBackup(r.owner.spec)) return;
  const target = backupToVerify(next);
  const verified = [next.lastVerification, ...verificationsOf(r.verifications)];
  if (target === undefined || verified.some((v) => v?.backupId === target)) return;
  const name = verifyJobName(r.owner.name, target);
  if (r.verifications.jobs.some((j) => j.metadata.name === name)) return;
  await startRun(r.verifications, buildVerifyJob(r.owner, target, r.options.runnerImage), "Once");
}

async function openSessions(
  policy: BackupPolicyObject,
  owner: BackupOwner,
  ctx: ReconcileContext,
): Promise<{ backups: Session; verifications: VerifySession }> {
  const now = new Date(ctx.clock.now());
  const ref = { namespace: owner.namespace, name: owner.name, uid: owner.uid };
  const backups: Session = await openRunSession(ctx, { ...ref, label: POLICY_LABEL }, now);
  const verifications: VerifySession = await openRunSession(
    ctx,
    { ...ref, label: VERIFY_LABEL },
    now,
  );
  return { backups, verifications };
}

function watchdogTimes(spec: BackupPolicySpec, options: BackupPolicyOptions) {
  const graceMs = options.watchdogGraceMs ?? DEFAULT_WATCHDOG_GRACE_MS;
  return {
    backup: { timeoutMs: parseDuration(spec.timeout), graceMs },
    verify: { timeoutMs: parseDuration(spec.verify?.timeout ?? "30m"), graceMs },
  };
}

function afterStatus(r: PolicyReconcile, status: Status, finished: FinishedBackup[]) {
  return async (): Promise<void> => {
    await markRecorded(r.backups, r.ctx);
    await markRecorded(r.verifications, r.ctx);
    const m = r.policy.metadata;
    await reportIncidents(r.ctx, {
      source: { kind: "BackupPolicy", namespace: m.namespace, name: m.name!, uid: m.uid! },
      backups: finished.map((f) => f.attempt),
      verifications: verificationsOf(r.verifications),
    });
    recordPolicyMetrics(r.owner, status);
    await pruneFinished(r.backups, KEEP_JOBS);
    await pruneFinished(r.verifications, KEEP_JOBS);
  };
}

function requeueOf(r: PolicyReconcile, plan: SchedulePlan): number | undefined {
  const times = watchdogTimes(r.owner.spec, r.options);
  const next = r.owner.spec.suspend ? undefined : plan.next;
  const nowMs = r.ctx.clock.now();
  const waits = [
    wakeAfter(r.backups, { ...times.backup, next, nowMs }),
    wakeAfter(r.verifications, { ...times.verify, nowMs }),
  ].filter((w): w is number => w !== undefined);
  return requeueWhileHeld(waits.length > 0 ? Math.min(...waits) : undefined, r.blocked);
}

/** One reconcile of a policy whose spec is valid. */
export async function reconcileBackupPolicy(
  policy: BackupPolicyObject,
  spec: BackupPolicySpec,
  ctx: ReconcileContext,
  options: BackupPolicyOptions,
): Promise<KindResult<Status>> {
  const m = policy.metadata;
  const owner: BackupOwner = { namespace: m.namespace!, name: m.name!, uid: m.uid!, spec };
  const r: PolicyReconcile = {
    policy,
    owner,
    ctx,
    options,
    ...(await openSessions(policy, owner, ctx)),
    blocked: await missingReference(spec, owner.namespace, ctx),
  };
  const times = watchdogTimes(spec, options);
  await collectFinished(r.backups, recordedJobs(r.backups, policy.status), backupRunOf);
  await collectFinished(r.verifications, recordedVerifications(r), verificationOf);
  await runWatchdog(r.backups, times.backup);
  await runWatchdog(r.verifications, times.verify);
  const planned = planFor(policy, spec, r.backups);
  const plan = r.blocked ? heldPlan(planned) : planned;
  for (const run of plan.start) {
    const job = buildBackupJob(owner, run, { image: options.runnerImage, now: r.backups.now });
    await startRun(r.backups, job, run.trigger);
  }
  const finished = finishedBackups(r.backups);
  const mutate = statusMutator({
    spec,
    plan,
    finished,
    verifications: verificationsOf(r.verifications),
    active: activeRuns(r.backups),
    blocked: r.blocked,
    now: r.backups.now,
  });
  // The status the kit will write, for the verification target and the metrics.
  const next: Status = structuredClone(policy.status ?? {});
  mutate(next, policy);
  await ensureVerification(r, next);
  const requeueAfter = requeueOf(r, plan);
  return {
    status: mutate,
    events: [
      ...plan.events,
      ...recordEvents(r.backups),
      ...recordEvents(r.verifications),
      ...blockedEvents(policy.status, r.blocked),
    ],
    ...(requeueAfter !== undefined ? { requeueAfter } : {}),
    afterStatus: afterStatus(r, next, finished),
  };
}
