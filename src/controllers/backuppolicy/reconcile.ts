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
//      with verify.schedule instead (verify-schedule.ts): the slot due →
//      a verify Job of the newest successful backup (none yet: an Event);
//   6. return the status (lastBackup, backups[], lastVerification, schedule,
//      conditions), the Events and the re-queue; after the status write,
//      the recorded Jobs are marked (so a re-read Job is not recorded twice),
//      Incidents opened or resolved from what this write recorded and, when
//      a crash skipped that, from the written status and its incidentRef
//      (incidents.ts), the metrics set and old Jobs pruned.
import {
  BACKUP_NOW_ANNOTATION,
  backupPolicyDescriptor,
  type BackupPolicySpec,
  type BackupPolicyStatus,
  type Verification,
} from "../../crds/backuppolicy.ts";
import { parseDuration } from "../../lib/duration.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import type { KubeObject } from "../../runtime/kube.ts";
import {
  DEFAULT_WATCHDOG_GRACE_MS,
  activeRuns,
  collectFinished,
  openRunSession,
  markRecorded,
  markedJobs,
  planConfirmedRuns,
  recordedJobNames,
  unmarkedInStatus,
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
import { crashPoint, CrashPoint } from "./crash-points.ts";
import { reportIncidents } from "./incidents.ts";
import { buildBackupJob, POLICY_LABEL, type BackupOwner } from "./job-builder.ts";
import { recordPolicyMetrics } from "./metrics.ts";
import { missingReference } from "./references.ts";
import { statusMutator, type FinishedBackup, type Status } from "./status.ts";
import {
  planSessionVerifySlots,
  startVerifySlots,
  verifySlotRuns,
  type VerifySlots,
} from "./verify-schedule.ts";
import {
  VERIFY_LABEL,
  backupToVerify,
  buildVerifyJob,
  verificationOf,
  verifiesAfterBackup,
  verifyJobName,
} from "./verification.ts";

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

/** The backup Jobs the policy's status names. */
function backupJobsInStatus(status: BackupPolicyStatus | undefined): (string | undefined)[] {
  return [status?.lastBackup, ...(status?.backups ?? [])].map((b) => b?.job);
}

function recordedVerifications(r: PolicyReconcile): Set<string> {
  const last = r.policy.status?.lastVerification;
  const names = markedJobs(r.verifications);
  if (last === undefined) return new Set(names);
  // The Job status names; a status written before it named one: the backup's Job.
  return new Set([...names, last.job ?? verifyJobName(r.owner.name, last.backupId)]);
}

function planFor(
  policy: BackupPolicyObject,
  spec: BackupPolicySpec,
  session: Session,
): Promise<SchedulePlan> {
  return planConfirmedRuns(session, policy, {
    spec: { ...spec, concurrencyPolicy: "Forbid" },
    runNowAnnotation: BACKUP_NOW_ANNOTATION,
    kind: backupPolicyDescriptor,
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

/**
 * verify.schedule: starts the verify Job of the slot due, on the newest
 * successful backup in `next` (the status this reconcile writes).
 */
async function ensureScheduledVerification(
  r: PolicyReconcile,
  plan: SchedulePlan | undefined,
  next: Status,
): Promise<VerifySlots> {
  if (plan === undefined) return { runs: [], events: [] };
  const slots = verifySlotRuns(plan, backupToVerify(next));
  await startVerifySlots(r.verifications, r.owner, slots.runs, r.options.runnerImage);
  return slots;
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

/** What the status write left: the status the metrics read and the Incident follows. */
interface Written {
  /** The status as the kit wrote it (the last application of the mutator). */
  status: Status;
}

function afterStatus(r: PolicyReconcile, written: Written, finished: FinishedBackup[]) {
  return async (): Promise<void> => {
    if (finished.length > 0) crashPoint(CrashPoint.BackupRecorded);
    // Finished Jobs status records that lack the mark (a crash came before
    // it) are marked too, or a newer backup moving them out of status would
    // get them recorded again (jobrun/recorded.ts).
    const inStatus = backupJobsInStatus(r.policy.status);
    await markRecorded(r.backups, unmarkedInStatus(r.backups, inStatus));
    await markRecorded(r.verifications);
    const m = r.policy.metadata;
    await reportIncidents(r.ctx, {
      source: { kind: "BackupPolicy", namespace: m.namespace, name: m.name!, uid: m.uid! },
      policy: r.owner.spec.incident,
      backups: finished.map((f) => f.attempt),
      verifications: verificationsOf(r.verifications),
      status: written.status,
    });
    recordPolicyMetrics(r.owner, written.status);
    await pruneFinished(r.backups, KEEP_JOBS);
    await pruneFinished(r.verifications, KEEP_JOBS);
  };
}

function requeueOf(
  r: PolicyReconcile,
  plan: SchedulePlan,
  verifyPlan: SchedulePlan | undefined,
): number | undefined {
  const times = watchdogTimes(r.owner.spec, r.options);
  const suspended = r.owner.spec.suspend;
  const next = suspended ? undefined : plan.next;
  const nextVerify = suspended ? undefined : verifyPlan?.next;
  const nowMs = r.ctx.clock.now();
  const waits = [
    wakeAfter(r.backups, { ...times.backup, next, nowMs }),
    wakeAfter(r.verifications, { ...times.verify, next: nextVerify, nowMs }),
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
  await collectFinished(
    r.backups,
    recordedJobNames(r.backups, backupJobsInStatus(policy.status)),
    backupRunOf,
  );
  if (r.backups.finished.length > 0) crashPoint(CrashPoint.BackupFinished);
  await collectFinished(r.verifications, recordedVerifications(r), verificationOf);
  await runWatchdog(r.backups, times.backup);
  await runWatchdog(r.verifications, times.verify);
  const planned = await planFor(policy, spec, r.backups);
  const plan = r.blocked ? heldPlan(planned) : planned;
  const verifyPlanned = planSessionVerifySlots(r.verifications, policy, spec);
  const verifyPlan = verifyPlanned && r.blocked ? heldPlan(verifyPlanned) : verifyPlanned;
  for (const run of plan.start) {
    const job = buildBackupJob(owner, run, { image: options.runnerImage, now: r.backups.now });
    await startRun(r.backups, job, run.trigger);
    crashPoint(CrashPoint.BackupJobCreated);
  }
  const finished = finishedBackups(r.backups);
  const apply = statusMutator({
    spec,
    plan,
    verifyPlan,
    finished,
    verifications: verificationsOf(r.verifications),
    active: activeRuns(r.backups),
    verifying: activeRuns(r.verifications),
    blocked: r.blocked,
    now: r.backups.now,
  });
  // The status the kit will write, for the verification target and the metrics.
  const next: Status = structuredClone(policy.status ?? {});
  apply(next, policy);
  const written: Written = { status: next };
  // On a 409 the kit re-applies it to a fresh read: that one is what it wrote.
  const mutate: typeof apply = (status, obj) => {
    apply(status, obj);
    written.status = status;
  };
  await ensureVerification(r, next);
  const verifySlots = await ensureScheduledVerification(r, verifyPlan, next);
  const requeueAfter = requeueOf(r, plan, verifyPlan);
  return {
    status: mutate,
    events: [
      ...plan.events,
      ...verifySlots.events,
      ...recordEvents(r.backups),
      ...recordEvents(r.verifications),
      ...blockedEvents(policy.status, r.blocked),
    ],
    ...(requeueAfter !== undefined ? { requeueAfter } : {}),
    afterStatus: afterStatus(r, written, finished),
  };
}
