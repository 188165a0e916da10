// Pure: capacityCheck samples carried from one run to the next. A successful
// capacityCheck run's result carries data.sample ({ time, volumes, databases });
// the controller keeps the newest MAX_CAPACITY_SAMPLES in
// status.capacitySamples and the Job builder passes them to the next run as
// previousSamples (growth per day, days until full).
import {
  CapacitySample,
  MAX_CAPACITY_SAMPLES,
  type RunRecord,
  type TaskType,
} from "../../crds/maintenancetask.ts";

const MAX_VOLUMES = 32;
const MAX_DATABASES = 64;

const isByteCount = (k: string, v: unknown): v is number =>
  k.length > 0 && k.length <= 253 && typeof v === "number" && Number.isFinite(v) && v >= 0;

function byteCounts(value: unknown, max: number): Record<string, number> | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const entries: [string, number][] = Object.entries(value as Record<string, unknown>)
    .filter((e): e is [string, number] => isByteCount(e[0], e[1]))
    .slice(0, max)
    .map(([k, v]) => [k, Math.min(Math.round(v), Number.MAX_SAFE_INTEGER)]);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** The sample in a runner result's data.sample, bounded to what status accepts; else undefined. */
export function sampleFromData(data: unknown): CapacitySample | undefined {
  if (data === null || typeof data !== "object") return undefined;
  const raw = (data as { sample?: unknown }).sample;
  if (raw === null || typeof raw !== "object") return undefined;
  const s = raw as { time?: unknown; volumes?: unknown; databases?: unknown };
  const volumes = byteCounts(s.volumes, MAX_VOLUMES);
  const databases = byteCounts(s.databases, MAX_DATABASES);
  const parsed = CapacitySample.safeParse({
    time: s.time,
    ...(volumes ? { volumes } : {}),
    ...(databases ? { databases } : {}),
  });
  return parsed.success ? parsed.data : undefined;
}

/**
 * The sample a finished run contributes: only a Succeeded run of a
 * capacityCheck task whose result carries data.sample.
 */
export function capacitySampleOf(
  type: TaskType | undefined,
  record: Pick<RunRecord, "result">,
  runner: { task?: unknown; data?: unknown } | undefined,
): CapacitySample | undefined {
  if (type !== "capacityCheck" || record.result !== "Succeeded") return undefined;
  if (runner?.task !== undefined && runner.task !== "capacityCheck") return undefined;
  return sampleFromData(runner?.data);
}

/** Existing and new samples, one per time (the newer write wins), oldest first, the newest `max` kept. */
export function mergeCapacitySamples(
  existing: readonly CapacitySample[] | undefined,
  fresh: readonly CapacitySample[],
  max = MAX_CAPACITY_SAMPLES,
): CapacitySample[] {
  const byTime = new Map<number, CapacitySample>();
  for (const s of [...(existing ?? []), ...fresh]) {
    const t = Date.parse(s.time);
    if (!Number.isNaN(t)) byTime.set(t, s);
  }
  return [...byTime.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, s]) => s)
    .slice(-max);
}
