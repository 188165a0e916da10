import { describe, expect, it } from "vitest";
import {
  decide,
  decideConcurrency,
  explainSchedule,
  isDnsLabel,
  onceJobName,
  resolveSchedule,
  runNowJobName,
  scheduledJobName,
} from "../../../src/schedule/index.ts";

const at = (s: string) => new Date(s);
const CREATED = at("2024-01-01T00:00:00Z");

describe("Given a schedule and the time of the last run", () => {
  it.each([
    {
      name: "nothing due yet after creation",
      cron: "0 * * * *",
      now: "2024-01-01T00:30:00Z",
      last: undefined,
      want: { action: "wait", reason: "NotDue", next: "2024-01-01T01:00:00Z" },
    },
    {
      name: "the slot just passed",
      cron: "0 * * * *",
      now: "2024-01-01T01:00:05Z",
      last: undefined,
      want: {
        action: "run",
        reason: "Due",
        slot: "2024-01-01T01:00:00Z",
        next: "2024-01-01T02:00:00Z",
      },
    },
    {
      name: "the slot already ran",
      cron: "0 * * * *",
      now: "2024-01-01T01:30:00Z",
      last: "2024-01-01T01:00:00Z",
      want: { action: "wait", reason: "NotDue", next: "2024-01-01T02:00:00Z" },
    },
    {
      name: "an outage of several slots: one run of the latest",
      cron: "0 * * * *",
      now: "2024-01-01T05:20:00Z",
      last: "2024-01-01T01:00:00Z",
      want: {
        action: "run",
        reason: "CatchingUp",
        slot: "2024-01-01T05:00:00Z",
        missedCount: 3,
        next: "2024-01-01T06:00:00Z",
      },
    },
  ])("$name", ({ cron, now, last, want }) => {
    const d = decide({
      cron,
      timeZone: "UTC",
      now: at(now),
      lastScheduleTime: last === undefined ? undefined : at(last),
      creationTime: CREATED,
    });
    expect({
      action: d.action,
      reason: d.reason,
      slot: d.slot?.toISOString(),
      missedCount: d.missedCount,
      next: d.next.toISOString(),
    }).toEqual({
      slot: undefined,
      missedCount: undefined,
      ...want,
      ...(want.slot ? { slot: at(want.slot).toISOString() } : {}),
      next: at(want.next).toISOString(),
    });
  });

  it("after a years-long outage runs the latest slot once, without iterating over every missed slot", () => {
    const started = performance.now();
    const d = decide({
      cron: "* * * * *",
      timeZone: "Europe/Berlin",
      now: at("2031-06-15T10:07:30Z"),
      lastScheduleTime: at("2021-01-01T00:00:00Z"),
      creationTime: CREATED,
    });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(d.action).toBe("run");
    expect(d.slot?.toISOString()).toBe("2031-06-15T10:07:00.000Z");
    expect(d.next.toISOString()).toBe("2031-06-15T10:08:00.000Z");
    expect(d.missedCountCapped).toBe(true);
    expect(d.message).toContain("at least 100 earlier missed run(s) skipped");
  });

  it.each([
    { name: "within the deadline: run", now: "2024-01-01T02:00:59Z", action: "run" },
    { name: "exactly at the deadline: run", now: "2024-01-01T02:01:00Z", action: "run" },
    { name: "past the deadline: missed, not run", now: "2024-01-01T02:01:01Z", action: "missed" },
  ])("startingDeadlineSeconds 60, $name", ({ now, action }) => {
    const d = decide({
      cron: "0 * * * *",
      timeZone: "UTC",
      now: at(now),
      lastScheduleTime: at("2024-01-01T01:00:00Z"),
      creationTime: CREATED,
      startingDeadlineSeconds: 60,
    });
    expect(d.action).toBe(action);
    expect(d.slot?.toISOString()).toBe("2024-01-01T02:00:00.000Z");
    if (action === "missed") expect(d.reason).toBe("MissedStartingDeadline");
  });

  it("a missed slot recorded as lastScheduleTime is not reported again", () => {
    const d = decide({
      cron: "0 * * * *",
      timeZone: "UTC",
      now: at("2024-01-01T02:30:00Z"),
      lastScheduleTime: at("2024-01-01T02:00:00Z"),
      creationTime: CREATED,
      startingDeadlineSeconds: 60,
    });
    expect(d.action).toBe("wait");
  });

  it("suspended: waits, and still reports the next time", () => {
    const d = decide({
      cron: "0 * * * *",
      timeZone: "UTC",
      now: at("2024-01-01T05:20:00Z"),
      creationTime: CREATED,
      suspend: true,
    });
    expect(d).toMatchObject({ action: "wait", reason: "Suspended" });
    expect(d.next.toISOString()).toBe("2024-01-01T06:00:00.000Z");
  });

  it("a slot before the object's creation never runs", () => {
    const d = decide({
      cron: "0 * * * *",
      timeZone: "UTC",
      now: at("2024-01-01T05:20:00Z"),
      creationTime: at("2024-01-01T05:10:00Z"),
    });
    expect(d.action).toBe("wait");
  });

  it("respects the time zone: Berlin 02:00 daily is due at 01:00Z in winter", () => {
    const d = decide({
      cron: "0 2 * * *",
      timeZone: "Europe/Berlin",
      now: at("2024-01-10T01:00:30Z"),
      lastScheduleTime: at("2024-01-09T01:00:00Z"),
      creationTime: CREATED,
    });
    expect(d.action).toBe("run");
    expect(d.slot?.toISOString()).toBe("2024-01-10T01:00:00.000Z");
  });
});

describe("Given hashed-random macros", () => {
  it.each([
    { macro: "@hourly-random", shape: /^\d+ \* \* \* \*$/ },
    { macro: "@daily-random", shape: /^\d+ \d+ \* \* \*$/ },
    { macro: "@midnight-random", shape: /^\d+ [0-2] \* \* \*$/ },
    { macro: "@weekly-random", shape: /^\d+ \d+ \* \* [0-6]$/ },
    { macro: "@monthly-random", shape: /^\d+ \d+ \d+ \* \*$/ },
    { macro: "@yearly-random", shape: /^\d+ \d+ \d+ \d+ \*$/ },
  ])(
    "$macro resolves to a fixed cron of the right shape, stable per namespace/name",
    ({ macro, shape }) => {
      const a = resolveSchedule(macro, { namespace: "prod", name: "log-cleanup" });
      const b = resolveSchedule(macro, { namespace: "prod", name: "log-cleanup" });
      expect(a.error).toBeUndefined();
      expect(a.cron).toMatch(shape);
      expect(b.cron).toBe(a.cron);
    },
  );

  it("the same name in another namespace usually gets another time", () => {
    const crons = new Set(
      ["a", "b", "c", "d", "e"].map(
        (ns) => resolveSchedule("@daily-random", { namespace: ns, name: "x" }).cron,
      ),
    );
    expect(crons.size).toBeGreaterThan(1);
  });

  it("spreads 500 tasks over the hours of a day and caps day-of-month at 27", () => {
    const hours = new Array<number>(24).fill(0);
    let maxDom = 0;
    for (let i = 0; i < 500; i++) {
      const owner = { namespace: "ns", name: `task-${i}` };
      const [, hour] = resolveSchedule("@daily-random", owner).cron.split(" ");
      hours[Number(hour)]!++;
      const [, , dom] = resolveSchedule("@monthly-random", owner).cron.split(" ");
      maxDom = Math.max(maxDom, Number(dom));
    }
    expect(Math.min(...hours)).toBeGreaterThan(5);
    expect(Math.max(...hours)).toBeLessThan(45);
    expect(maxDom).toBeLessThanOrEqual(27);
    expect(maxDom).toBeGreaterThan(20);
  });

  it.each([
    { expr: "@daily", cron: "0 0 * * *" },
    { expr: "0  2 * * *", cron: "0 2 * * *" },
    { expr: "0 */6 * * *", cron: "0 */6 * * *" },
  ])("resolves $expr to $cron", ({ expr, cron }) => {
    expect(resolveSchedule(expr, { namespace: "n", name: "t" }).cron).toBe(cron);
  });

  it("reports an invalid schedule with the user's text", () => {
    const r = resolveSchedule("@hourly-randomly", { namespace: "n", name: "t" });
    expect(r.cron).toBe("");
    expect(r.error).toBe(
      'invalid schedule "@hourly-randomly": unknown macro "@hourly-randomly" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or a -random form)',
    );
  });
});

describe("Given Job names", () => {
  const slot = at("2024-01-01T02:00:00Z");

  it("names a scheduled Job <task>-<unix minutes>", () => {
    expect(scheduledJobName("log-cleanup", slot)).toBe("log-cleanup-28401240");
  });

  it.each([
    { name: "a long task name", task: "a".repeat(60) },
    { name: "a 253-character task name", task: `${"b".repeat(120)}.${"c".repeat(132)}` },
    { name: "a task name with dots", task: "db.vacuum.nightly" },
  ])("shortens $name to a DNS-1123 label of at most 63 characters", ({ task }) => {
    for (const name of [
      scheduledJobName(task, slot),
      runNowJobName(task, "tok"),
      onceJobName(task),
    ]) {
      expect(name.length).toBeLessThanOrEqual(63);
      expect(isDnsLabel(name)).toBe(true);
    }
    expect(scheduledJobName(task, slot)).toMatch(/-28401240$/);
  });

  it("keeps long names of different tasks apart", () => {
    const a = scheduledJobName(`${"x".repeat(60)}a`, slot);
    const b = scheduledJobName(`${"x".repeat(60)}b`, slot);
    expect(a).not.toBe(b);
  });

  it("names run-now Jobs from the token: same token, same name; new token, new name", () => {
    expect(runNowJobName("t", "2024-01-01T10:00:00Z")).toBe(
      runNowJobName("t", "2024-01-01T10:00:00Z"),
    );
    expect(runNowJobName("t", "a")).not.toBe(runNowJobName("t", "b"));
    expect(runNowJobName("t", "a")).toMatch(/^t-now-[0-9a-f]{10}$/);
  });
});

describe("Given a concurrency policy and active runs", () => {
  const active = [{ job: "t-1" }, { job: "t-2" }];
  it.each([
    { policy: "Forbid", active: [], action: "start", stop: [] },
    { policy: "Forbid", active, action: "skip", stop: [] },
    { policy: undefined, active, action: "skip", stop: [] },
    { policy: "Allow", active, action: "start", stop: [] },
    { policy: "Replace", active: [], action: "start", stop: [] },
    { policy: "Replace", active, action: "replace", stop: ["t-1", "t-2"] },
  ] as const)("$policy with $active.length active: $action", ({ policy, active, action, stop }) => {
    const d = decideConcurrency({ policy, active });
    expect(d.action).toBe(action);
    expect(d.stop).toEqual(stop);
  });
});

describe("Given schedule explain", () => {
  it("returns JSON with the resolved cron, the next times in UTC and wall clock, and the decision", () => {
    const out = explainSchedule({
      schedule: "30 2 * * *",
      timeZone: "Europe/Berlin",
      now: at("2024-03-30T12:00:00Z"),
      lastScheduleTime: at("2024-03-29T01:30:00Z"),
      count: 2,
    });
    expect(JSON.parse(JSON.stringify(out))).toEqual({
      schedule: "30 2 * * *",
      resolvedCron: "30 2 * * *",
      timeZone: "Europe/Berlin",
      now: "2024-03-30T12:00:00.000Z",
      next: [
        { time: "2024-03-31T01:00:00.000Z", local: "2024-03-31 03:00:00 +02:00" },
        { time: "2024-04-01T00:30:00.000Z", local: "2024-04-01 02:30:00 +02:00" },
      ],
      decision: {
        action: "run",
        reason: "Due",
        message: "run scheduled at 2024-03-30T01:30:00.000Z",
        slot: "2024-03-30T01:30:00.000Z",
        next: "2024-03-31T01:00:00.000Z",
      },
    });
  });

  it.each([
    {
      name: "an invalid zone",
      schedule: "@daily",
      timeZone: "Bad/Zone",
      error: "unknown time zone",
    },
    { name: "an invalid schedule", schedule: "61 * * * *", timeZone: "UTC", error: "minute field" },
  ])("reports $name as an error", ({ schedule, timeZone, error }) => {
    const out = explainSchedule({ schedule, timeZone, now: at("2024-01-01T00:00:00Z") });
    expect(out.error).toContain(error);
    expect(out.next).toEqual([]);
  });
});
