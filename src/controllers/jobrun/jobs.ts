// The API side of Job runs: list an owner's Jobs and a Job's newest pod
// (fresh from the API server, not a cache: a Job created a moment ago must be
// seen), create a Job (AlreadyExists counts as success: the name is
// deterministic, so it is the same run), delete a Job (NotFound counts as
// success).
import { isAlreadyExists, isNotFound } from "../../runtime/errors.ts";
import type { KubeClient } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Job } from "./job-builder.ts";
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
 * Creates the Job of a run. If a Job of this name exists, an earlier
 * reconcile created it (and maybe crashed before writing status): same name,
 * same run, so the existing Job is returned (created: false).
 */
export async function createRunJob(
  api: JobRunClient,
  manifest: Job,
): Promise<{ job: JobObject; created: boolean }> {
  try {
    return { job: await api.client.create<JobObject>(JobKind, manifest), created: true };
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const job = await api.client.get<JobObject>(JobKind, {
      namespace: manifest.metadata.namespace,
      name: manifest.metadata.name!,
    });
    api.log.info({ job: manifest.metadata.name }, "Found Job already created");
    return { job, created: false };
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
