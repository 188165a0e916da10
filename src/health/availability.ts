// Availability over 1h / 24h / 7d / 30d from compact probe counts.
//
// Representation (status.availabilityBuckets, see src/crds/healthcheck.ts):
// one series of equal-width buckets, hourly by default, oldest first:
//   { bucketSeconds: 3600, startTime, probes: [n…], successes: [n…] }
// Bucket i covers [startTime + i·w, startTime + (i+1)·w); startTime is
// aligned to a multiple of w. The series never holds more than
// MAX_AVAILABILITY_BUCKETS (720 = 30 days of hours) buckets: recording into a
// new bucket drops the oldest ones. Size bound: 2 × 720 integers, about
// 6 KiB of JSON at a 30 s interval (at most 120 probes an hour) and under
// 8 KiB at the 1 s minimum interval.
//
// A window's availability sums the buckets it covers; the oldest bucket,
// which the window covers only in part, is weighted by the covered fraction
// (the usual sliding-window estimate). So "last hour" at 12:15 is the 12:00
// bucket plus three quarters of the 11:00 bucket. undefined when the window
// holds no probe.
import {
  MAX_AVAILABILITY_BUCKETS,
  type Availability,
  type AvailabilityBuckets,
} from "../crds/healthcheck.ts";

export const DEFAULT_BUCKET_SECONDS = 3600;

export const WINDOWS = {
  last1h: 3600,
  last24h: 24 * 3600,
  last7d: 7 * 24 * 3600,
  last30d: 30 * 24 * 3600,
} as const satisfies Record<keyof Availability, number>;

export function emptyBuckets(
  now: number,
  bucketSeconds = DEFAULT_BUCKET_SECONDS,
): AvailabilityBuckets {
  const w = bucketSeconds * 1000;
  return {
    bucketSeconds,
    startTime: new Date(Math.floor(now / w) * w).toISOString(),
    probes: [],
    successes: [],
  };
}

/** The series with one more probe recorded at `now` (a new object; the input is not changed). */
export function recordProbe(
  buckets: AvailabilityBuckets,
  now: number,
  ok: boolean,
  capacity = MAX_AVAILABILITY_BUCKETS,
): AvailabilityBuckets {
  const w = buckets.bucketSeconds * 1000;
  let start = Date.parse(buckets.startTime);
  const probes = [...buckets.probes];
  const successes = [...buckets.successes];
  // A clock that went backwards counts into the oldest bucket.
  let index = Math.max(0, Math.floor((now - start) / w));
  if (index >= probes.length + capacity) {
    // Idle for longer than the series spans: start afresh.
    probes.length = 0;
    successes.length = 0;
    start = Math.floor(now / w) * w;
    index = 0;
  }
  while (probes.length <= index) {
    probes.push(0);
    successes.push(0);
  }
  probes[index] = (probes[index] ?? 0) + 1;
  if (ok) successes[index] = (successes[index] ?? 0) + 1;
  const drop = Math.max(0, probes.length - capacity);
  return {
    bucketSeconds: buckets.bucketSeconds,
    startTime: new Date(start + drop * w).toISOString(),
    probes: probes.slice(drop),
    successes: successes.slice(drop),
  };
}

/** Percentage of successful probes in the `seconds` before `now`, to 0.01 %. */
export function availabilityOver(
  buckets: AvailabilityBuckets,
  now: number,
  seconds: number,
): number | undefined {
  const w = buckets.bucketSeconds * 1000;
  const start = Date.parse(buckets.startTime);
  const from = now - seconds * 1000;
  let probes = 0;
  let successes = 0;
  buckets.probes.forEach((n, i) => {
    const lo = start + i * w;
    const hi = lo + w;
    if (hi <= from || lo > now) return;
    // The part of the bucket inside the window; a bucket that contains `now`
    // counts fully (its probes all happened before now).
    const fraction = lo >= from ? 1 : (Math.min(hi, now) - from) / (Math.min(hi, now) - lo);
    probes += n * fraction;
    successes += (buckets.successes[i] ?? 0) * fraction;
  });
  if (probes <= 0) return undefined;
  return Math.round((successes / probes) * 10000) / 100;
}

/** Availability over the four windows of status.availability (windows without probes left out). */
export function availability(buckets: AvailabilityBuckets, now: number): Availability {
  const out: Availability = {};
  for (const [key, seconds] of Object.entries(WINDOWS) as [keyof Availability, number][]) {
    const value = availabilityOver(buckets, now, seconds);
    if (value !== undefined) out[key] = value;
  }
  return out;
}
