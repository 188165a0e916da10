// The mark a finished Job gets once its owner's status holds its outcome
// (pake.dev/recorded=true). Status history is bounded: a newer run moves an
// older one out of it, and the older run's Job is pruned only after that
// status write. A crash in between leaves a finished Job that status no
// longer names; without the mark the next reconcile would record it again (a
// second Event, history entry, Incident occurrence). Marked Jobs are never
// recorded again.
//
// A reconcile: recordedJobNames() for collectFinished; markJobs() of
// unmarkedInStatus() before the status write (a crash skipped their marking: status still names
// them, the write about to happen may not); markRecorded() after the status
// write, before pruning.
import type { RunSession } from "./session.ts";
import { JobKind } from "./types.ts";
import { isNotFound } from "../../runtime/errors.ts";
import { isFinished } from "./results.ts";

/** Set on a Job once its outcome is in the owner's status. */
export const RECORDED_ANNOTATION = "pake.dev/recorded";

/** The owner's Jobs listed with the mark. */
export function markedJobs<P>(session: RunSession<P>): string[] {
  return session.jobs
    .filter((j) => j.metadata.annotations?.[RECORDED_ANNOTATION] === "true")
    .map((j) => j.metadata.name!);
}

/** Jobs already recorded: marked, or named by the owner's status (`inStatus`). */
export function recordedJobNames<P>(
  session: RunSession<P>,
  inStatus: Iterable<string | undefined>,
): Set<string> {
  const names = [...markedJobs(session), ...inStatus];
  return new Set(names.filter((n): n is string => n !== undefined));
}

/** Finished Jobs the owner's status names that lack the mark (a crash came before it). */
export function unmarkedInStatus<P>(
  session: RunSession<P>,
  inStatus: Iterable<string | undefined>,
): string[] {
  const marked = new Set(markedJobs(session));
  const named = new Set(inStatus);
  return session.jobs
    .filter((j) => isFinished(j) && !marked.has(j.metadata.name!) && named.has(j.metadata.name))
    .map((j) => j.metadata.name!);
}

async function mark<P>(session: RunSession<P>, job: string): Promise<void> {
  try {
    await session.api.client.patch(
      JobKind,
      { namespace: session.owner.namespace, name: job },
      { metadata: { annotations: { [RECORDED_ANNOTATION]: "true" } } },
    );
  } catch (err) {
    // A Job deleted meanwhile can be recorded again by nothing.
    if (!isNotFound(err)) throw err;
  }
}

/** Marks these Jobs recorded. */
export async function markJobs<P>(session: RunSession<P>, jobs: Iterable<string>): Promise<void> {
  for (const job of new Set(jobs)) await mark(session, job);
}

/** Marks the Jobs whose runs this reconcile recorded (call after the status write), and `also`. */
export async function markRecorded<P>(
  session: RunSession<P>,
  also: readonly string[] = [],
): Promise<void> {
  await markJobs(session, [...session.finished.map((f) => f.record.job), ...also]);
}
