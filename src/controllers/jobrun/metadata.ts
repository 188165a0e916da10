// Labels and annotations on the Jobs of a run: the owner label finds an
// owner's Jobs, the managed-by label finds every Job and Pod of the operator
// (the test pod runner selects on it), and the annotations record what
// started the run so a record can be written from the Job alone.
import type { KubeObject } from "../../runtime/kube.ts";
import { TRIGGERS, type RunMeta, type RunRequest, type Trigger } from "./types.ts";

/** Label on every Job and Pod the operator creates. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "pake-operator";
/** Annotations recording what started a run. */
export const TRIGGER_ANNOTATION = "pake.dev/trigger";
export const SCHEDULED_TIME_ANNOTATION = "pake.dev/scheduled-time";
export const RUN_NOW_TOKEN_ANNOTATION = "pake.dev/run-now-token";

/** The Job's annotations for one run. */
export function runAnnotations(run: RunRequest): Record<string, string> {
  return {
    [TRIGGER_ANNOTATION]: run.trigger,
    ...(run.slot ? { [SCHEDULED_TIME_ANNOTATION]: run.slot.toISOString() } : {}),
    ...(run.token !== undefined ? { [RUN_NOW_TOKEN_ANNOTATION]: run.token } : {}),
  };
}

const isTrigger = (value: string | undefined): value is Trigger =>
  TRIGGERS.includes(value as Trigger);

/** What a Job's annotations say about its run. */
export function runMetaOf(job: KubeObject): RunMeta {
  const a = job.metadata.annotations ?? {};
  const trigger = a[TRIGGER_ANNOTATION];
  return {
    ...(isTrigger(trigger) ? { trigger } : {}),
    ...(a[SCHEDULED_TIME_ANNOTATION] ? { scheduledTime: a[SCHEDULED_TIME_ANNOTATION] } : {}),
    ...(a[RUN_NOW_TOKEN_ANNOTATION] !== undefined ? { token: a[RUN_NOW_TOKEN_ANNOTATION] } : {}),
  };
}
