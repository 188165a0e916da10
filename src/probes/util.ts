// Small helpers shared by the probes.
import { performance } from "node:perf_hooks";
import type { Metric, MetricKind, ProbeResult } from "./types.ts";

/** A monotonic stopwatch in milliseconds, rounded to 0.1 ms. */
export function stopwatch(): () => number {
  const start = performance.now();
  return () => Math.round((performance.now() - start) * 10) / 10;
}

export function metric(name: string, value: number, unit: string, kind?: MetricKind): Metric {
  return kind ? { name, value, unit, kind } : { name, value, unit };
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Why the signal was aborted, as a message ("timed out after 500 ms"). */
export function abortMessage(signal: AbortSignal, timeoutMs: number): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== "TimeoutError" && reason.name !== "AbortError") {
    return reason.message;
  }
  return `timed out after ${timeoutMs} ms`;
}

export function failed(
  message: string,
  latencyMs: number,
  metrics: Metric[] = [],
  notes?: string[],
): ProbeResult {
  return notes
    ? { ok: false, latencyMs, message, metrics, notes }
    : { ok: false, latencyMs, message, metrics };
}

/**
 * Settles with `work`, or rejects as soon as the signal aborts. `onLate` gets
 * the value when work resolves after the abort (to release a connection).
 */
export function abortable<T>(
  work: Promise<T>,
  signal: AbortSignal,
  onLate?: (value: T) => void,
): Promise<T> {
  if (signal.aborted) {
    work.then(
      (v) => onLate?.(v),
      () => undefined,
    );
    return Promise.reject(signalError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const onAbort = (): void => {
      done = true;
      reject(signalError(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        if (done) onLate?.(v);
        else resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        if (!done) reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function signalError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("aborted");
}
