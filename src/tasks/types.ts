// Shared types of the maintenance task runners. A runner is
// `run(config, ctx) → Promise<TaskResult>`; `pake-operator run <task>` calls
// runTask (dispatch.ts), which validates the config and writes the result to the
// Job's termination message, from where the controller copies it to status
// (status.lastRun: result, summary, details).
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../runtime/log.ts";

/** The task types of MaintenanceTask.spec.task (the CRD's TASK_TYPES). */
export type TaskName =
  | "logCleanup"
  | "cacheCleanup"
  | "databaseVacuum"
  | "capacityCheck"
  | "securityScan"
  | "performanceReport"
  | "databaseRestore"
  | "custom"
  | "backupVerify"
  | "backup";

export interface TaskContext {
  /** Environment to read connections from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** The clock (default: the real one). */
  now?: () => Date;
  /** Kubernetes access (default: in-cluster, else KUBECONFIG / ~/.kube/config). */
  kubeConfig?: KubeConfig;
  /** Namespace of the MaintenanceTask (default env POD_NAMESPACE). */
  namespace?: string;
  /** Aborts a run (the CLI wires SIGTERM). */
  signal?: AbortSignal;
  logger?: Logger;
}

export type RunResult = "Succeeded" | "Failed";

/** Finding severities, lowest first. */
export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * The JSON a runner reports. Serialised it is at most 4096 bytes (the
 * termination-message limit): lists under `data` are cut and the number of
 * dropped entries recorded under `truncated`.
 */
export interface TaskResult {
  task: TaskName;
  result: RunResult;
  /** One line for status.lastRun.summary. */
  summary: string;
  /** Key figures (at most 32 entries) for status.lastRun.details. */
  details: Record<string, string>;
  startTime: string;
  endTime: string;
  durationMs: number;
  /** Why the run failed (secrets redacted). */
  error?: string;
  /** Task-specific structured output (lists may be truncated). */
  data?: Record<string, unknown>;
  /** JSON path of a cut list → how many entries were dropped. */
  truncated?: Record<string, number>;
  /**
   * The worst finding of the run, when it has findings (e.g. capacityCheck's
   * forecast). "critical" asks for a response: the MaintenanceTask opens an
   * Incident even though the run succeeded.
   */
  severity?: Severity;
}

/** What a runner computes; the common wrapper adds timing and fits it to 4 KiB. */
export interface TaskOutcome {
  result?: RunResult;
  summary: string;
  details: Record<string, string | number | boolean>;
  data?: Record<string, unknown>;
  error?: string;
  /** The worst finding (TaskResult.severity). */
  severity?: Severity;
}
