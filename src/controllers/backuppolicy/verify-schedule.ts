// verify.schedule: verification on its own cron schedule, in spec.timeZone,
// with the backups' CronJob semantics (jobrun's planRuns): one Job per slot
// with a deterministic name (AlreadyExists = already started, so a restarted
// operator never verifies a slot twice), at most one catch-up,
// startingDeadlineSeconds of the policy, never two verifications at once,
// no new slot while suspended. Each slot verifies the newest successful
// backup at that time, even one verified before: the operations guide's
// recovery test is a fresh restore each time. A slot that comes before any
// successful backup starts no Job; it is used up like a run and says why
// once (a Warning Event, NothingToVerify), so nothing loops.
import {
  BackupPolicyReason,
  type BackupPolicySpec,
  type BackupPolicyStatus,
} from "../../crds/backuppolicy.ts";
import { formatTime } from "../../runtime/normalize.ts";
import {
  planRuns,
  startRun,
  unfinishedJobs,
  type PlanEvent,
  type RunRequest,
  type RunSession,
  type SchedulePlan,
} from "../jobrun/index.ts";
import type { BackupOwner } from "./job-builder.ts";
import { buildVerifyJob } from "./verification.ts";

/** The cron of scheduled verification; undefined: none (disabled, or after every backup). */
export function verifyScheduleOf(spec: BackupPolicySpec): string | undefined {
  return spec.verify?.enabled ? spec.verify.schedule : undefined;
}

/**
 * The name the verify schedule plans under. Its Jobs are
 * `<policy>-verify-<hash>-<minutes of the slot>`: the dot is not allowed in a
 * Job name, so the name gets a hash of it, and a verify Job can never take
 * the name of a backup Job of a policy called `<policy>-verify`.
 */
export function verifyScheduleName(policy: string): string {
  return `${policy}.verify`;
}

export interface VerifyPlanInput {
  namespace: string;
  policy: string;
  spec: BackupPolicySpec;
  status: BackupPolicyStatus | undefined;
  creationTime: Date;
  now: Date;
  /** Names of the policy's verify Jobs that exist. */
  existing: ReadonlySet<string>;
  /** Names of its unfinished verify Jobs. */
  active: string[];
}

/** The verify slots due in this reconcile; undefined without verify.schedule. */
export function planVerifySlots(input: VerifyPlanInput): SchedulePlan | undefined {
  const schedule = verifyScheduleOf(input.spec);
  if (schedule === undefined) return undefined;
  const { spec } = input;
  return planRuns({
    namespace: input.namespace,
    name: verifyScheduleName(input.policy),
    spec: {
      schedule,
      timeZone: spec.timeZone,
      startingDeadlineSeconds: spec.startingDeadlineSeconds,
      suspend: spec.suspend,
      concurrencyPolicy: "Forbid",
    },
    status: { lastScheduleTime: input.status?.lastVerifyScheduleTime },
    // No run-now for verification: backup-now belongs to the backup plan.
    annotations: undefined,
    runNowAnnotation: "",
    creationTime: input.creationTime,
    now: input.now,
    existing: input.existing,
    active: input.active,
  });
}

/** A verify Job to start: its slot's run and the backup it verifies. */
export interface VerifySlotRun {
  run: RunRequest;
  backupId: string;
}

export interface VerifySlots {
  runs: VerifySlotRun[];
  events: PlanEvent[];
}

/**
 * The runs of a verify plan, each on `backupId` (the newest successful
 * backup). Without one, no run: the plan's "started" Events give way to one
 * NothingToVerify Warning per slot.
 */
export function verifySlotRuns(plan: SchedulePlan, backupId: string | undefined): VerifySlots {
  if (backupId !== undefined) {
    return { runs: plan.start.map((run) => ({ run, backupId })), events: plan.events };
  }
  if (plan.start.length === 0) return { runs: [], events: plan.events };
  const skipped = plan.start.map((run): PlanEvent => ({
    type: "Warning",
    reason: BackupPolicyReason.NothingToVerify,
    message: `verification due at ${run.slot ? formatTime(run.slot) : "now"} skipped: no successful backup to verify yet`,
  }));
  // Only Warnings (a missed or skipped slot) stay: the Normal ones announce a Job.
  return { runs: [], events: [...plan.events.filter((e) => e.type === "Warning"), ...skipped] };
}

/** Plans the verify slots against the Jobs the session listed. */
export function planSessionVerifySlots<P>(
  session: RunSession<P>,
  policy: { metadata: { creationTimestamp?: unknown }; status?: BackupPolicyStatus | undefined },
  spec: BackupPolicySpec,
): SchedulePlan | undefined {
  return planVerifySlots({
    namespace: session.owner.namespace,
    policy: session.owner.name,
    spec,
    status: policy.status,
    creationTime: new Date(String(policy.metadata.creationTimestamp)),
    now: session.now,
    existing: new Set(session.jobs.map((j) => j.metadata.name!)),
    active: unfinishedJobs(session).map((j) => j.metadata.name!),
  });
}

/** Creates the verify Job of each slot run (an existing one of the same name is the same run). */
export async function startVerifySlots<P>(
  session: RunSession<P>,
  owner: BackupOwner,
  runs: VerifySlotRun[],
  image: string,
): Promise<void> {
  for (const { run, backupId } of runs) {
    await startRun(session, buildVerifyJob(owner, backupId, image, run), run.trigger);
  }
}
