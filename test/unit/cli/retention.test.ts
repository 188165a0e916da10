// `pake-operator retention explain`: flags, the backups list from stdin or a
// file, the JSON it prints, and exit 2 naming the flag or field on bad input.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../../src/cli/commands.ts";
import { createRetentionCommand } from "../../../src/cli/retention.ts";
import { capture } from "./capture.ts";

async function explainWithStdin(args: string[], stdin: string) {
  const ctx = capture();
  const code = await createRetentionCommand(() => Promise.resolve(stdin)).run(
    ["explain", ...args],
    ctx,
  );
  return { code, out: ctx.out, err: ctx.err };
}

// Berlin in November is CET (UTC+1).
const BACKUPS = [
  { time: "2026-11-27T01:00:00Z", result: "Succeeded", id: "oldest" },
  { time: "2026-11-28T01:00:00Z", result: "Succeeded" },
  { time: "2026-11-28T13:00:00Z", result: "Failed" },
  { time: "2026-11-29T23:00:00Z", result: "Succeeded" }, // 30 Nov 00:00 CET
];

describe("Given `pake-operator retention explain`", () => {
  it("When given rules and backups on stdin, then it prints every backup newest first with its reasons", async () => {
    const r = await explainWithStdin(
      [
        "--keep-last",
        "1",
        "--keep-daily=2",
        "--max-age",
        "60h",
        "--time-zone",
        "Europe/Berlin",
        "--now",
        "2026-11-30T12:00:00Z",
      ],
      JSON.stringify(BACKUPS),
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      timeZone: "Europe/Berlin",
      now: "2026-11-30T12:00:00.000Z",
      rules: { keepLast: 1, keepDaily: 2, maxAge: "60h" },
      backups: [
        {
          id: "20261129T230000Z",
          time: "2026-11-29T23:00:00.000Z",
          local: "2026-11-30 00:00:00 +01:00",
          result: "Succeeded",
          kept: true,
          reasons: ["last", "daily 2026-11-30", "newest", "maxAge"],
        },
        {
          id: "20261128T130000Z",
          time: "2026-11-28T13:00:00.000Z",
          local: "2026-11-28 14:00:00 +01:00",
          result: "Failed",
          kept: false,
          reasons: ["failed"],
        },
        {
          // 59h old: within maxAge
          id: "20261128T010000Z",
          time: "2026-11-28T01:00:00.000Z",
          local: "2026-11-28 02:00:00 +01:00",
          result: "Succeeded",
          kept: true,
          reasons: ["daily 2026-11-28", "maxAge"],
        },
        {
          // 83h old, and the two daily slots are taken
          id: "oldest",
          time: "2026-11-27T01:00:00.000Z",
          local: "2026-11-27 02:00:00 +01:00",
          result: "Succeeded",
          kept: false,
          reasons: [],
        },
      ],
    });
  });

  it("When given --backups FILE through the dispatcher, then it reads the file and defaults to UTC", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "retention-")), "backups.json");
    writeFileSync(file, JSON.stringify(BACKUPS.slice(0, 2)));
    const ctx = capture();
    const code = await main(
      [
        "retention",
        "explain",
        "--keep-last",
        "1",
        "--backups",
        file,
        "--now",
        "2026-12-01T00:00:00Z",
      ],
      ctx,
    );
    expect(ctx.err).toBe("");
    expect(code).toBe(0);
    const out = JSON.parse(ctx.out) as { timeZone: string; backups: unknown[] };
    expect(out.timeZone).toBe("UTC");
    expect(out.backups).toEqual([
      {
        id: "20261128T010000Z",
        time: "2026-11-28T01:00:00.000Z",
        local: "2026-11-28 01:00:00 +00:00",
        result: "Succeeded",
        kept: true,
        reasons: ["last", "newest"],
      },
      {
        id: "oldest",
        time: "2026-11-27T01:00:00.000Z",
        local: "2026-11-27 01:00:00 +00:00",
        result: "Succeeded",
        kept: false,
        reasons: [],
      },
    ]);
  });

  it("When asked for help, then it lists the flags", async () => {
    const ctx = capture();
    expect(await main(["help", "retention"], ctx)).toBe(0);
    for (const flag of ["--keep-last", "--keep-daily", "--keep-weekly", "--keep-monthly"]) {
      expect(ctx.out).toContain(flag);
    }
    expect(ctx.out).toContain("--max-age");
    expect(ctx.out).toContain("--backups");
  });

  const ok = JSON.stringify([{ time: "2026-11-30T01:00:00Z", result: "Succeeded" }]);
  it.each([
    {
      args: ["--keep-daily", "x"],
      stdin: ok,
      err: '--keep-daily: not a whole number from 0 to 1000: "x"',
    },
    {
      args: ["--keep-last", "-1"],
      stdin: ok,
      err: '--keep-last: not a whole number from 0 to 1000: "-1"',
    },
    {
      args: ["--keep-weekly", "1001"],
      stdin: ok,
      err: '--keep-weekly: not a whole number from 0 to 1000: "1001"',
    },
    { args: ["--keep-monthly"], stdin: ok, err: "--keep-monthly: missing value" },
    { args: ["--max-age", "7days"], stdin: ok, err: '--max-age: invalid age "7days"' },
    {
      args: ["--time-zone", "Mars/Base"],
      stdin: ok,
      err: '--time-zone: unknown time zone "Mars/Base"',
    },
    { args: ["--now", "yesterday"], stdin: ok, err: '--now: invalid time "yesterday"' },
    { args: ["--bogus", "1"], stdin: ok, err: "unknown flag --bogus" },
    { args: ["extra"], stdin: ok, err: 'unexpected argument "extra"' },
    { args: [], stdin: "not json", err: "stdin: invalid JSON" },
    { args: [], stdin: " \n", err: "stdin: empty: expected a JSON list" },
    { args: [], stdin: '{"time":"2026-11-30T01:00:00Z"}', err: "stdin: must be a JSON list" },
    { args: [], stdin: "[3]", err: "stdin: backups[0]: not an object" },
    {
      args: [],
      stdin:
        '[{"time":"2026-11-30T01:00:00Z","result":"Succeeded"},{"time":"soon","result":"Failed"}]',
      err: 'stdin: backups[1].time: not an RFC 3339 time: "soon"',
    },
    {
      args: [],
      stdin: '[{"result":"Succeeded"}]',
      err: "stdin: backups[0].time: not an RFC 3339 time: undefined",
    },
    {
      args: [],
      stdin: '[{"time":"2026-11-30T01:00:00Z","result":"Partial"}]',
      err: 'stdin: backups[0].result: must be "Succeeded" or "Failed", not "Partial"',
    },
    {
      args: [],
      stdin: '[{"time":"2026-11-30T01:00:00Z","result":"Succeeded","id":5}]',
      err: "stdin: backups[0].id: must be a non-empty string, not 5",
    },
    {
      args: ["--backups", "/nonexistent/backups.json"],
      stdin: ok,
      err: '--backups: cannot read "/nonexistent/backups.json"',
    },
  ])(
    "When given $args and $stdin, then it exits 2 naming the problem",
    async ({ args, stdin, err }) => {
      const r = await explainWithStdin(args, stdin);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`pake-operator retention explain: ${err}`);
      expect(r.err).toContain("Usage: pake-operator retention explain");
      expect(r.out).toBe("");
    },
  );

  it("When the backups file is not valid JSON, then the message names --backups", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "retention-")), "bad.json");
    writeFileSync(file, "[{");
    const r = await explainWithStdin(["--backups", file], ok);
    expect(r.code).toBe(2);
    expect(r.err).toContain("pake-operator retention explain: --backups: invalid JSON");
  });

  it.each([[[]], [["list"]]])(
    "When the subcommand is %j, then it prints usage and exits 2",
    async (args) => {
      const ctx = capture();
      expect(await main(["retention", ...args], ctx)).toBe(2);
      expect(ctx.err).toContain("Usage: pake-operator retention explain");
      expect(ctx.out).toBe("");
    },
  );
});
