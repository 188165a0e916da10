// GFS retention tables. Every expectation is worked out by hand from the wall
// clock in the zone (Europe/Berlin: CET = UTC+1, CEST = UTC+2; in 2026 the
// clocks change on Sunday 29 March and Sunday 25 October); the comments give
// the local time and its day/ISO week/month.
import { describe, expect, it } from "vitest";
import { DurationError } from "../../../src/lib/duration.ts";
import {
  explainRetention,
  type RetentionBackup,
  type RetentionRules,
} from "../../../src/schedule/index.ts";

/** [id, UTC time, result (default Succeeded)] */
type Row = [string, string, ("Succeeded" | "Failed")?];
/** [id, kept, reasons], newest first */
type Want = [string, boolean, string[]];

interface Case {
  name: string;
  zone?: string;
  now?: string;
  rules: RetentionRules;
  /** Oldest first: the code must sort newest first itself. */
  backups: Row[];
  want: Want[];
}

const BERLIN = "Europe/Berlin";

function run(c: Case): Want[] {
  const backups: RetentionBackup[] = c.backups.map(([id, time, result]) => ({
    id,
    time: new Date(time),
    result: result ?? "Succeeded",
  }));
  const out = explainRetention(backups, c.rules, {
    timeZone: c.zone ?? BERLIN,
    now: new Date(c.now ?? "2027-06-01T00:00:00Z"),
  });
  return out.map((d) => [d.id, d.kept, d.reasons]);
}

describe("Given daily retention in Europe/Berlin across the DST changes", () => {
  it.each<Case>([
    {
      name: "spring forward (29 March): days are Berlin days, not UTC days",
      rules: { keepDaily: 3 },
      backups: [
        ["d", "2026-03-28T22:30:00Z"], // 28 Mar 23:30 CET
        ["c", "2026-03-28T23:30:00Z"], // 29 Mar 00:30 CET
        ["b", "2026-03-29T21:30:00Z"], // 29 Mar 23:30 CEST
        ["a", "2026-03-29T22:30:00Z"], // 30 Mar 00:30 CEST
      ],
      want: [
        ["a", true, ["daily 2026-03-30", "newest"]],
        ["b", true, ["daily 2026-03-29"]],
        ["c", false, []],
        ["d", true, ["daily 2026-03-28"]],
      ],
    },
    {
      name: "fall back (25 October): the 25-hour day is one day, the repeated hour included",
      rules: { keepDaily: 3 },
      backups: [
        ["f", "2026-10-23T21:59:59Z"], // 23 Oct 23:59:59 CEST
        ["e", "2026-10-24T22:30:00Z"], // 25 Oct 00:30 CEST
        ["d", "2026-10-25T00:30:00Z"], // 25 Oct 02:30 CEST (first)
        ["c", "2026-10-25T01:30:00Z"], // 25 Oct 02:30 CET (repeated)
        ["b", "2026-10-25T22:59:59Z"], // 25 Oct 23:59:59 CET
        ["a", "2026-10-25T23:00:00Z"], // 26 Oct 00:00 CET
      ],
      want: [
        ["a", true, ["daily 2026-10-26", "newest"]],
        ["b", true, ["daily 2026-10-25"]],
        ["c", false, []],
        ["d", false, []],
        ["e", false, []],
        ["f", true, ["daily 2026-10-23"]],
      ],
    },
  ])("When $name, then it keeps the newest of each day", (c) => {
    expect(run(c)).toEqual(c.want);
  });
});

describe("Given weekly retention (ISO weeks, Monday start)", () => {
  it.each<Case>([
    {
      name: "the Sunday/Monday boundary is midnight in Berlin (22:00 UTC in CEST)",
      rules: { keepWeekly: 2 },
      backups: [
        ["d", "2026-03-20T10:00:00Z"], // Fri 20 Mar: W12
        ["c", "2026-03-25T10:00:00Z"], // Wed 25 Mar: W13
        ["b", "2026-03-29T21:59:59Z"], // Sun 29 Mar 23:59:59 CEST: W13
        ["a", "2026-03-29T22:00:00Z"], // Mon 30 Mar 00:00 CEST: W14
      ],
      want: [
        ["a", true, ["weekly 2026-W14", "newest"]],
        ["b", true, ["weekly 2026-W13"]],
        ["c", false, []],
        ["d", false, []],
      ],
    },
    {
      name: "2026 has a week 53 that ends on Sunday 3 January 2027",
      rules: { keepWeekly: 4, keepMonthly: 3 },
      backups: [
        ["o", "2026-12-27T12:00:00Z"], // Sun 27 Dec 13:00: 2026-W52, 2026-12
        ["n", "2026-12-31T22:30:00Z"], // Thu 31 Dec 23:30: 2026-W53, 2026-12
        ["m", "2026-12-31T23:30:00Z"], // Fri 1 Jan 2027 00:30: 2026-W53, 2027-01
        ["l", "2027-01-03T22:59:59Z"], // Sun 3 Jan 23:59:59: 2026-W53, 2027-01
        ["k", "2027-01-03T23:00:00Z"], // Mon 4 Jan 00:00: 2027-W01, 2027-01
      ],
      want: [
        ["k", true, ["weekly 2027-W01", "monthly 2027-01", "newest"]],
        ["l", true, ["weekly 2026-W53"]],
        ["m", false, []],
        ["n", true, ["monthly 2026-12"]],
        ["o", true, ["weekly 2026-W52"]],
      ],
    },
    {
      name: "Monday 29 December 2025 belongs to week 1 of ISO year 2026",
      zone: "UTC",
      rules: { keepWeekly: 2 },
      backups: [
        ["b", "2025-12-28T10:00:00Z"], // Sun: 2025-W52
        ["a", "2025-12-29T10:00:00Z"], // Mon: 2026-W01
      ],
      want: [
        ["a", true, ["weekly 2026-W01", "newest"]],
        ["b", true, ["weekly 2025-W52"]],
      ],
    },
  ])("When $name, then it keeps the newest of each week", (c) => {
    expect(run(c)).toEqual(c.want);
  });
});

describe("Given month ends", () => {
  it.each<Case>([
    {
      name: "31 January → 1 February and 28 February → 1 March (2026, no leap day) in Berlin",
      rules: { keepDaily: 2, keepMonthly: 3 },
      backups: [
        ["t", "2026-01-31T22:30:00Z"], // 31 Jan 23:30 CET
        ["s", "2026-01-31T23:30:00Z"], // 1 Feb 00:30 CET
        ["r", "2026-02-01T10:00:00Z"], // 1 Feb 11:00 CET
        ["q", "2026-02-28T22:59:59Z"], // 28 Feb 23:59:59 CET
        ["p", "2026-02-28T23:00:00Z"], // 1 Mar 00:00 CET
      ],
      want: [
        ["p", true, ["daily 2026-03-01", "monthly 2026-03", "newest"]],
        ["q", true, ["daily 2026-02-28", "monthly 2026-02"]],
        ["r", false, []],
        ["s", false, []],
        ["t", true, ["monthly 2026-01"]],
      ],
    },
    {
      name: "31 May → 1 June in summer time (midnight is 22:00 UTC)",
      rules: { keepMonthly: 2 },
      backups: [
        ["c", "2026-05-01T10:00:00Z"], // 1 May 12:00 CEST
        ["b", "2026-05-31T21:59:59Z"], // 31 May 23:59:59 CEST
        ["a", "2026-05-31T22:00:00Z"], // 1 Jun 00:00 CEST
      ],
      want: [
        ["a", true, ["monthly 2026-06", "newest"]],
        ["b", true, ["monthly 2026-05"]],
        ["c", false, []],
      ],
    },
    {
      name: "the leap day 29 February 2028",
      zone: "UTC",
      rules: { keepDaily: 2, keepMonthly: 2 },
      backups: [
        ["c", "2028-02-28T12:00:00Z"],
        ["b", "2028-02-29T12:00:00Z"],
        ["a", "2028-03-01T00:00:00Z"],
      ],
      want: [
        ["a", true, ["daily 2028-03-01", "monthly 2028-03", "newest"]],
        ["b", true, ["daily 2028-02-29", "monthly 2028-02"]],
        ["c", false, []],
      ],
    },
  ])("When $name, then days and months split at local midnight", (c) => {
    expect(run(c)).toEqual(c.want);
  });
});

describe("Given gaps, failures and keepLast", () => {
  it.each<Case>([
    {
      name: "days without backups do not consume the daily count",
      rules: { keepDaily: 3 },
      backups: [
        ["e", "2026-11-01T01:00:00Z"],
        ["d", "2026-11-03T01:00:00Z"],
        ["c", "2026-11-07T01:00:00Z"],
        ["b", "2026-11-07T13:00:00Z"],
        ["a", "2026-11-10T01:00:00Z"],
      ],
      want: [
        ["a", true, ["daily 2026-11-10", "newest"]],
        ["b", true, ["daily 2026-11-07"]],
        ["c", false, []],
        ["d", true, ["daily 2026-11-03"]],
        ["e", false, []],
      ],
    },
    {
      name: "failed backups count for no rule, are never kept, and are never the newest",
      rules: { keepLast: 1, keepDaily: 2 },
      backups: [
        ["s3", "2026-11-26T01:00:00Z"],
        ["s2", "2026-11-27T01:00:00Z"],
        ["f2", "2026-11-28T01:00:00Z", "Failed"],
        ["s1", "2026-11-29T01:00:00Z"],
        ["f3", "2026-11-29T05:00:00Z", "Failed"],
        ["f1", "2026-11-30T01:00:00Z", "Failed"],
      ],
      want: [
        ["f1", false, ["failed"]],
        ["f3", false, ["failed"]],
        ["s1", true, ["last", "daily 2026-11-29", "newest"]],
        ["f2", false, ["failed"]],
        ["s2", true, ["daily 2026-11-27"]],
        ["s3", false, []],
      ],
    },
    {
      name: "keepLast and keepDaily apply independently (a backup may have both reasons)",
      rules: { keepLast: 3, keepDaily: 2 },
      backups: [
        ["e", "2026-11-28T01:00:00Z"],
        ["d", "2026-11-29T01:00:00Z"],
        ["c", "2026-11-29T13:00:00Z"],
        ["b", "2026-11-30T01:00:00Z"],
        ["a", "2026-11-30T13:00:00Z"],
      ],
      want: [
        ["a", true, ["last", "daily 2026-11-30", "newest"]],
        ["b", true, ["last"]],
        ["c", true, ["last", "daily 2026-11-29"]],
        ["d", false, []],
        ["e", false, []],
      ],
    },
  ])("When $name, then only successful backups are kept", (c) => {
    expect(run(c)).toEqual(c.want);
  });
});

describe("Given maxAge and the newest-kept rule", () => {
  it.each<Case>([
    {
      name: "maxAge with a rule: what no rule keeps survives up to and including 36h",
      zone: "UTC",
      now: "2026-12-01T12:00:00Z",
      rules: { keepDaily: 1, maxAge: "36h" },
      backups: [
        ["d", "2026-11-29T23:59:59Z"], // 36h 1s old
        ["c", "2026-11-30T00:00:00Z"], // exactly 36h old
        ["b", "2026-11-30T06:00:00Z"], // 30h old
        ["a", "2026-12-01T06:00:00Z"], // 6h old
      ],
      want: [
        ["a", true, ["daily 2026-12-01", "newest", "maxAge"]],
        ["b", true, ["maxAge"]],
        ["c", true, ["maxAge"]],
        ["d", false, []],
      ],
    },
    {
      name: "maxAge alone (2w); a failed backup within the age is still deleted",
      zone: "UTC",
      now: "2026-12-01T00:00:00Z",
      rules: { maxAge: "2w" },
      backups: [
        ["d", "2026-11-16T23:59:59Z"], // 14d 1s old
        ["c", "2026-11-17T00:00:00Z"], // exactly 14d old
        ["f", "2026-11-25T00:00:00Z", "Failed"],
        ["a", "2026-11-30T00:00:00Z"],
      ],
      want: [
        ["a", true, ["newest", "maxAge"]],
        ["f", false, ["failed"]],
        ["c", true, ["maxAge"]],
        ["d", false, []],
      ],
    },
    {
      name: "every backup older than maxAge: the newest one is still kept",
      zone: "UTC",
      now: "2026-12-01T00:00:00Z",
      rules: { maxAge: "1d" },
      backups: [
        ["b", "2026-11-19T01:00:00Z"],
        ["a", "2026-11-20T01:00:00Z"],
      ],
      want: [
        ["a", true, ["newest"]],
        ["b", false, []],
      ],
    },
    {
      name: "no rule at all: everything but the newest is deleted at once",
      rules: {},
      backups: [
        ["c", "2027-05-29T01:00:00Z"],
        ["b", "2027-05-30T01:00:00Z"],
        ["a", "2027-05-31T01:00:00Z"],
      ],
      want: [
        ["a", true, ["newest"]],
        ["b", false, []],
        ["c", false, []],
      ],
    },
    {
      name: "only failed backups: nothing is kept",
      rules: { keepLast: 5 },
      backups: [
        ["b", "2027-05-30T01:00:00Z", "Failed"],
        ["a", "2027-05-31T01:00:00Z", "Failed"],
      ],
      want: [
        ["a", false, ["failed"]],
        ["b", false, ["failed"]],
      ],
    },
    {
      name: "no backups",
      rules: { keepLast: 3, keepDaily: 7, maxAge: "30d" },
      backups: [],
      want: [],
    },
  ])("When $name, then it decides as expected", (c) => {
    expect(run(c)).toEqual(c.want);
  });
});

describe("Given the decisions' shape", () => {
  it("When backups are decided, then each keeps its id, time and result, and nothing else", () => {
    const time = new Date("2026-11-30T01:00:00Z");
    const extra = { id: "20261130T010000Z", time, result: "Succeeded" as const, path: "/x" };
    expect(explainRetention([extra], { keepLast: 1 }, { timeZone: "UTC", now: time })).toEqual([
      {
        id: "20261130T010000Z",
        time,
        result: "Succeeded",
        kept: true,
        reasons: ["last", "newest"],
      },
    ]);
  });

  it.each([
    { rules: {}, zone: "Mars/Base", error: RangeError },
    { rules: { keepDaily: -1 }, zone: "UTC", error: RangeError },
    { rules: { keepLast: 1.5 }, zone: "UTC", error: RangeError },
    { rules: { maxAge: "a week" }, zone: "UTC", error: DurationError },
  ])("When given $rules in $zone, then it throws", ({ rules, zone, error }) => {
    const backups: RetentionBackup[] = [
      { id: "a", time: new Date("2026-11-30T01:00:00Z"), result: "Succeeded" },
    ];
    expect(() => explainRetention(backups, rules, { timeZone: zone, now: new Date() })).toThrow(
      error,
    );
  });
});
