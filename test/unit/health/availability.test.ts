import { describe, expect, it } from "vitest";
import {
  availability,
  availabilityOver,
  emptyBuckets,
  recordProbe,
} from "../../../src/health/availability.ts";

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

function probeEvery(
  span: { start: number; end: number; stepMs: number; capacity?: number },
  ok: (t: number) => boolean,
) {
  let b = emptyBuckets(span.start);
  for (let t = span.start; t < span.end; t += span.stepMs) {
    b = recordProbe(b, t, ok(t), span.capacity);
  }
  return b;
}

describe("Given hourly availability buckets", () => {
  it("starts aligned to the hour and counts probes into the current bucket", () => {
    let b = emptyBuckets(T0 + 17 * MIN);
    expect(b.startTime).toBe("2025-01-01T12:00:00.000Z");
    b = recordProbe(b, T0 + 17 * MIN, true);
    b = recordProbe(b, T0 + 18 * MIN, false);
    expect(b).toMatchObject({ bucketSeconds: 3600, probes: [2], successes: [1] });
  });

  it("rolls over into new buckets, filling hours without probes with zeros", () => {
    let b = recordProbe(emptyBuckets(T0), T0, true);
    b = recordProbe(b, T0 + 3 * HOUR + 5 * MIN, true);
    expect(b.probes).toEqual([1, 0, 0, 1]);
    expect(b.successes).toEqual([1, 0, 0, 1]);
  });

  it("never holds more buckets than its capacity, dropping the oldest", () => {
    const b = probeEvery(
      { start: T0, end: T0 + 10 * HOUR, stepMs: 30 * MIN, capacity: 4 },
      () => true,
    );
    expect(b.probes).toEqual([2, 2, 2, 2]);
    expect(b.startTime).toBe(new Date(T0 + 6 * HOUR).toISOString());
  });

  it("stays within 720 buckets (30 days) at a 30 s interval over 40 days", () => {
    let b = emptyBuckets(T0);
    for (let t = T0; t < T0 + 40 * 24 * HOUR; t += 30_000) b = recordProbe(b, t, true);
    expect(b.probes.length).toBe(720);
    expect(JSON.stringify(b).length).toBeLessThan(8 * 1024);
  });

  it("starts afresh after an idle time longer than the series", () => {
    let b = recordProbe(emptyBuckets(T0), T0, false);
    b = recordProbe(b, T0 + 60 * 24 * HOUR, true);
    expect(b.probes).toEqual([1]);
    expect(b.startTime).toBe(new Date(T0 + 60 * 24 * HOUR).toISOString());
  });

  it("counts a probe from a clock that went backwards into the oldest bucket", () => {
    let b = recordProbe(emptyBuckets(T0), T0, true);
    b = recordProbe(b, T0 - HOUR, false);
    expect(b.probes).toEqual([2]);
  });

  it("does not modify its input", () => {
    const a = recordProbe(emptyBuckets(T0), T0, true);
    const copy = structuredClone(a);
    recordProbe(a, T0 + HOUR, false);
    expect(a).toEqual(copy);
  });
});

describe("Given availability windows", () => {
  // Up for 2 days, then down from 23:00 on the second day for one hour, then up.
  const downFrom = T0 + 35 * HOUR;
  const downTo = downFrom + HOUR;
  const b = probeEvery(
    { start: T0, end: T0 + 48 * HOUR, stepMs: MIN },
    (t) => t < downFrom || t >= downTo,
  );
  const now = T0 + 48 * HOUR - 1;

  it.each([
    ["last1h", 100],
    ["last24h", 95.83],
    ["last7d", 97.92],
    ["last30d", 97.92],
  ] as const)("%s is %d %%", (window, expected) => {
    expect(availability(b, now)[window]).toBeCloseTo(expected, 1);
  });

  it("weights the partly covered oldest bucket by the covered fraction", () => {
    // At 12:15 the last hour is the 12:00 bucket (all ok) and 3/4 of the 11:00 bucket (all failed).
    let s = emptyBuckets(T0 - HOUR);
    for (let t = T0 - HOUR; t < T0; t += MIN) s = recordProbe(s, t, false);
    for (let t = T0; t < T0 + 15 * MIN; t += MIN) s = recordProbe(s, t, true);
    expect(availabilityOver(s, T0 + 15 * MIN, 3600)).toBeCloseTo((15 / (15 + 45)) * 100, 5);
  });

  it("leaves out windows without probes", () => {
    expect(availability(emptyBuckets(T0), T0)).toEqual({});
  });
});
