// The API side of Job runs: list an owner's Jobs and a Job's newest pod
// (fresh from the API server, not a cache: a Job created a moment ago must be
// seen), create a Job (AlreadyExists counts as success when the Job is the
// owner's: the name is deterministic, so it is the same run), delete a Job
// (NotFound counts as success).
//
// A Job of the run's name that is not the owner's (its controller is another
// uid, or none) is not "already started". When it is a run of a former owner
// of the same name (our owner label says so: the owner was deleted and
// recreated, its Job orphaned or not yet collected) it is deleted and the
// reconcile is retried (a 409, so nothing of it is written); any other Job is
// left alone and the reconcile fails, naming it.
import { isAlreadyExists, isConflict, isNotFound, KubeApiError } from "../../runtime/errors.ts";
import type { KubeClient, ObjectRef } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Job } from "./job-builder.ts";
import { ensureRunnerIdentity, runsAsRunner } from "./runner-identity.ts";
import { JobKind, PodKind, type JobObject, type PodObject } from "./types.ts";

/** What the API side needs from a reconcile. */
export interface JobRunClient {
  client: KubeClient;
  log: Logger;
}

/** The owner of a set of Jobs, as found by label and controller reference. */
export interface JobOwner {
  namespace: string;
  name: string;
  uid: string;
  /** Label whose value is the owner's name. */
  label: string;
}

/** The owner's Jobs: labelled with its name and controlled by its uid (a namesake's are not). */
export async function listOwnedJobs(api: JobRunClient, owner: JobOwner): Promise<JobObject[]> {
  const list = await api.client.list<JobObject>(JobKind, {
    namespace: owner.namespace,
    labelSelector: `${owner.label}=${owner.name}`,
  });
  return list.items.filter((j) =>
    (j.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === owner.uid),
  );
}

/** The Job's newest pod that has terminated (it carries the result), else its newest pod. */
export async function newestPod(api: JobRunClient, job: JobObject): Promise<PodObject | undefined> {
  const pods = await api.client.list<PodObject>(PodKind, {
    namespace: job.metadata.namespace,
    labelSelector: `job-name=${job.metadata.name}`,
  });
  const sorted = pods.items.sort((a, b) =>
    String(b.metadata.creationTimestamp ?? "").localeCompare(
      String(a.metadata.creationTimestamp ?? ""),
    ),
  );
  return (
    sorted.find((p) => p.status?.containerStatuses?.some((s) => s.state?.terminated)) ?? sorted[0]
  );
}

/**
 * Thrown when a run's Job name is held by a former owner's Job that is being
 * deleted: a conflict (409), so the reconcile is retried in about a second
 * without writing status, and the run starts once the name is free.
 */
export class JobNameHeldError extends KubeApiError {
  constructor(job: string) {
    super(409, {
      reason: "Conflict",
      code: 409,
      message: `Job ${job} is taken by a former owner's Job of the same name, being deleted`,
    });
    this.name = "JobNameHeldError";
  }
}

const controllerUid = (job: JobObject): string | undefined =>
  (job.metadata.ownerReferences ?? []).find((r) => r.controller === true)?.uid;

/** A run of an owner of this name that is not this owner: a deleted namesake's. */
function isFormerOwnersRun(job: JobObject, owner: JobOwner): boolean {
  return job.metadata.labels?.[owner.label] === owner.name && controllerUid(job) !== owner.uid;
}

/**
 * Creates the Job of a run. If the owner's Job of this name exists, an
 * earlier reconcile created it (and maybe crashed before writing status):
 * same name, same run, so the existing Job is returned (created: false). A
 * Job of the name that is not the owner's: see the top of this file.
 */
export async function createRunJob(
  api: JobRunClient,
  manifest: Job,
  owner: JobOwner,
): Promise<{ job: JobObject; created: boolean }> {
  // The runners' ServiceAccount must exist before its pod is admitted.
  if (runsAsRunner(manifest)) await ensureRunnerIdentity(api, manifest.metadata.namespace!);
  try {
    return { job: await api.client.create<JobObject>(JobKind, manifest), created: true };
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  const name = manifest.metadata.name!;
  const job = await getJob(api, { namespace: manifest.metadata.namespace, name });
  if (job !== undefined && controllerUid(job) === owner.uid) {
    api.log.info({ job: name }, "Found Job already created");
    return { job, created: false };
  }
  if (job === undefined || isFormerOwnersRun(job, owner)) {
    await deleteFormerOwnersJob(api, job);
    throw new JobNameHeldError(name);
  }
  throw new Error(
    `Job ${name} exists and is not a run of ${owner.name} (no ${owner.label} label of that ` +
      "name): delete or rename it so the run can start",
  );
}

async function getJob(api: JobRunClient, ref: ObjectRef): Promise<JobObject | undefined> {
  try {
    return await api.client.get<JobObject>(JobKind, ref);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Deletes a former owner's Job (only that very Job: uid precondition), once. */
async function deleteFormerOwnersJob(api: JobRunClient, job: JobObject | undefined): Promise<void> {
  if (job === undefined || job.metadata.deletionTimestamp) return;
  const { namespace, name, uid } = job.metadata;
  try {
    await api.client.delete(
      JobKind,
      { namespace: namespace!, name: name! },
      { propagationPolicy: "Background", preconditions: { uid } },
    );
    api.log.info(
      { job: name, formerOwnerUid: controllerUid(job) ?? "none" },
      "Deleted Job of a former owner of the same name; the run starts at the retry",
    );
  } catch (err) {
    // Gone, or replaced meanwhile (the precondition failed): the retry looks again.
    if (!isNotFound(err) && !isConflict(err)) throw err;
  }
}

/** Deletes a Job and its pods (in the background); a Job already gone is fine. */
export async function deleteRunJob(
  api: JobRunClient,
  job: { namespace: string; name: string },
): Promise<void> {
  try {
    await api.client.delete(JobKind, job, { propagationPolicy: "Background" });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
