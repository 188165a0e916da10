// The shapes a Job run is made of, generic over the kind that owns the Jobs
// (MaintenanceTask today, BackupPolicy next): the Job and Pod as the operator
// reads them, what starts a run, and the record a finished run leaves in the
// owner's status. The owner's CRD declares the same record with zod; these
// interfaces are structurally the same, so jobrun never imports a kind.
import type { KubeObject } from "../../runtime/kube.ts";

export { JobKind, PodKind } from "../../lib/kinds.ts";

/** The owner of a run's Jobs, as an owner reference names it. */
export interface JobOwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** What started a run. */
export type Trigger = "Schedule" | "RunNow" | "Once";
export const TRIGGERS: readonly Trigger[] = ["Schedule", "RunNow", "Once"];

/** One run to start: its Job name is deterministic (per slot, per token, once). */
export interface RunRequest {
  job: string;
  trigger: Trigger;
  /** Scheduled slot (Schedule runs). */
  slot?: Date | undefined;
  /** The run-now token (RunNow runs). */
  token?: string | undefined;
}

/** Job condition types set by the Kubernetes Job controller. */
export const JobConditionType = { Complete: "Complete", Failed: "Failed" } as const;

/** Reasons of a Job's Failed condition that the Job controller sets and jobrun reads. */
export const JobFailedReason = {
  /** activeDeadlineSeconds passed: the run timed out. */
  DeadlineExceeded: "DeadlineExceeded",
  /** Every retry (backoffLimit) failed. */
  BackoffLimitExceeded: "BackoffLimitExceeded",
} as const;

export interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface JobObject extends KubeObject {
  spec?: { activeDeadlineSeconds?: number; [key: string]: unknown };
  status?: {
    startTime?: string;
    completionTime?: string;
    active?: number;
    succeeded?: number;
    failed?: number;
    conditions?: JobCondition[];
  };
}

export interface ContainerState {
  terminated?: { exitCode?: number; reason?: string; message?: string; finishedAt?: string };
}

export interface PodObject extends KubeObject {
  status?: {
    phase?: string;
    containerStatuses?: { name: string; state?: ContainerState; lastState?: ContainerState }[];
  };
}

export type RunResult = "Running" | "Succeeded" | "Failed" | "TimedOut" | "Cancelled";

/**
 * The record of a run in the owner's status. A kind that needs more (a
 * backup's size and checksum) keeps its own record and fills it from the
 * run's payload (see FinishedRun).
 */
export interface RunRecord {
  job: string;
  trigger?: Trigger | undefined;
  scheduledTime?: string | undefined;
  startTime?: string | undefined;
  endTime?: string | undefined;
  result: RunResult;
  summary?: string | undefined;
  details?: Record<string, string> | undefined;
}

/** A run whose Job has not finished. */
export interface ActiveRun {
  job: string;
  scheduledTime?: string | undefined;
  startTime: string;
  trigger?: Trigger | undefined;
}

/** What the Job's annotations say about the run. */
export interface RunMeta {
  trigger?: Trigger;
  scheduledTime?: string;
  token?: string;
}

/** The runner's JSON result, from the container's termination message (≤ 4 KiB). */
export interface RunnerResult {
  task?: string;
  result?: string;
  summary?: string;
  details?: Record<string, unknown>;
  error?: string;
  data?: unknown;
  /** The worst finding of the run ("critical" asks for a response: an Incident). */
  severity?: string;
}

/** A finished run: its record, and what the owning kind reads from the runner's result. */
export interface FinishedRun<P> {
  record: RunRecord;
  payload?: P | undefined;
}

/** Reads the owner's own payload (e.g. a capacity sample, a backup manifest) from a run. */
export type PayloadReader<P> = (
  record: RunRecord,
  runner: RunnerResult | undefined,
) => P | undefined;
