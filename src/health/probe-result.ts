// What one probe reports: the input of the health state machine. Defined here,
// not in probes/, so that health/ stays pure logic that imports no probe code
// (probes/ re-exports these types for the probes).

/** KPI class of a metric: which default thresholds of the operations guide apply. */
export type MetricKind =
  "responseTime" | "queryTime" | "memory" | "cpu" | "disk" | "errorRate" | "none";

export interface Metric {
  /** Stable name as shown in status.metrics, e.g. queryTimeMs. */
  name: string;
  value: number;
  /** ms, %, bytes, s, count… */
  unit: string;
  /** KPI threshold class; "none" (or absent) means only user thresholds apply. */
  kind?: MetricKind;
}

export interface ProbeResult {
  /** The target answered and the answer was acceptable (status code, body match…). */
  ok: boolean;
  /** Wall time of the whole probe. */
  latencyMs: number;
  /**
   * One stable line for status.message: it names what happened, never a value
   * that changes every probe (values go to metrics), so that the status is
   * written on a change of message and not once per probe.
   */
  message: string;
  metrics: Metric[];
  /** Extra, volatile information (slowest statements, skipped parts) for logs and events. */
  notes?: string[];
}
