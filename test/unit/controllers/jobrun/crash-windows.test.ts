// Issue 11: what jobrun reads after a crash between two of its writes.
// - A run whose Job vanished past its watchdog deadline was deleted by the
//   watchdog before a crash: recorded TimedOut (WatchdogTimeout), not JobVanished.
// - A finished Job status names but that lacks the pake.dev/recorded mark
//   (the crash came before the marking) is to be marked; a marked Job counts
//   as recorded even when status no longer names it.
import { describe, expect, it } from "vitest";
import {
  RECORDED_ANNOTATION,
  recordedJobNames,
  unmarkedInStatus,
  vanishedRuns,
  type JobObject,
  type RunSession,
} from "../../../../src/controllers/jobrun/index.ts";

const active = [{ job: "x", startTime: "2026-01-01T00:00:00Z" }];
const limits = { timeoutMs: 60_000, graceMs: 30_000 };

describe("Given an active run with a 60 s timeout and 30 s grace whose Job is gone", () => {
  it.each([
    ["before its watchdog deadline", "2026-01-01T00:01:29Z", "Failed", "JobVanished"],
    ["at its watchdog deadline", "2026-01-01T00:01:30Z", "TimedOut", "WatchdogTimeout"],
    ["long after it", "2026-01-01T03:00:00Z", "TimedOut", "WatchdogTimeout"],
  ])("When it is found %s, then it is recorded %s (%s)", (_when, now, result, reason) => {
    const [record] = vanishedRuns({
      active,
      existing: new Set(),
      recorded: new Set(),
      now: new Date(now),
      watchdog: limits,
    });
    expect(record).toMatchObject({ job: "x", result, details: { reason } });
  });
});

const finishedJob = (name: string, marked: boolean): JobObject => ({
  metadata: {
    name,
    ...(marked ? { annotations: { [RECORDED_ANNOTATION]: "true" } } : {}),
  },
  status: {
    conditions: [{ type: "Complete", status: "True", lastTransitionTime: "2026-01-01T00:01:00Z" }],
  },
});

// Only the listed Jobs are read; the rest of the session is not used here.
const sessionOf = (jobs: JobObject[]) => ({ jobs }) as unknown as RunSession<never>;

describe("Given finished Jobs, some marked recorded", () => {
  const session = sessionOf([
    finishedJob("old-marked", true),
    finishedJob("named-unmarked", false),
    finishedJob("new", false),
  ]);

  it("When status names only one unmarked Job, then that one is to be marked", () => {
    expect(unmarkedInStatus(session, ["named-unmarked", undefined])).toEqual(["named-unmarked"]);
  });

  it("When status no longer names a marked Job, then it still counts as recorded", () => {
    expect([...recordedJobNames(session, ["named-unmarked"])].sort()).toEqual([
      "named-unmarked",
      "old-marked",
    ]);
  });
});
