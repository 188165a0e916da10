// The `pake-operator` CLI as a process: `schedule explain` prints the next
// times and the controller's decision as JSON; `run <task>` runs a runner,
// writes its termination message and exits with its code.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, utimesSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../env/index.ts";

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ["src/cli/main.ts", ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("Given `pake-operator schedule explain`", () => {
  it("When an operator was down for five slots, then it lists the next times and decides to run only the newest slot", () => {
    const r = cli([
      "schedule",
      "explain",
      "--schedule",
      "*/10 * * * *",
      "--time-zone",
      "Europe/Berlin",
      "--now",
      "2026-03-29T00:55:00Z",
      "--last-schedule-time",
      "2026-03-29T00:00:00Z",
      "--count",
      "3",
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      schedule: "*/10 * * * *",
      resolvedCron: "*/10 * * * *",
      timeZone: "Europe/Berlin",
      next: [
        { time: "2026-03-29T01:00:00.000Z", local: "2026-03-29 03:00:00 +02:00" },
        { time: "2026-03-29T01:10:00.000Z" },
        { time: "2026-03-29T01:20:00.000Z" },
      ],
      decision: {
        action: "run",
        reason: "CatchingUp",
        slot: "2026-03-29T00:50:00.000Z",
        missedCount: 4,
      },
    });
  });

  it("When the newest slot is past startingDeadlineSeconds, then the decision is missed", () => {
    const r = cli([
      "schedule",
      "explain",
      "--schedule",
      "@hourly",
      "--now",
      "2026-01-01T10:30:00Z",
      "--last-schedule-time",
      "2026-01-01T09:00:00Z",
      "--starting-deadline-seconds",
      "300",
    ]);
    expect(JSON.parse(r.stdout)).toMatchObject({
      resolvedCron: "0 * * * *",
      decision: {
        action: "missed",
        reason: "MissedStartingDeadline",
        slot: "2026-01-01T10:00:00.000Z",
      },
    });
  });

  it("When the time zone is unknown or a flag is missing, then it says so", () => {
    const bad = cli(["schedule", "explain", "--schedule", "@daily", "--time-zone", "Mars/Base"]);
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.stdout) as { error: string }).error).toMatch(/Mars\/Base/);
    const missing = cli(["schedule", "explain"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--schedule is required");
  });
});

describe("Given `pake-operator run logCleanup` with its config in PAKE_TASK_CONFIG", () => {
  it("When it runs, then it deletes old files, writes the JSON result to the termination message and exits 0", () => {
    const dir = mkdtempSync(join(tmpdir(), "pake-run-"));
    const old = Date.now() / 1000 - 3 * 86400;
    writeFileSync(join(dir, "old.log"), "x");
    utimesSync(join(dir, "old.log"), old, old);
    const tm = join(dir, "termination-log");
    const r = cli(["run", "logCleanup"], {
      PAKE_TASK_CONFIG: JSON.stringify({ root: dir, maxAge: "1d" }),
      PAKE_TERMINATION_MESSAGE_PATH: tm,
    });
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, "old.log"))).toBe(false);
    const result = JSON.parse(readFileSync(tm, "utf8")) as {
      result: string;
      details: Record<string, string>;
    };
    expect(result).toMatchObject({ result: "Succeeded", details: { filesDeleted: "1" } });
  });

  it("When the task is unknown, then the result is Failed and the exit code 1", () => {
    const tm = join(mkdtempSync(join(tmpdir(), "pake-run-")), "tm");
    const r = cli(["run", "noSuchTask", "--termination-message-path", tm]);
    expect(r.code).toBe(1);
    expect(JSON.parse(readFileSync(tm, "utf8"))).toMatchObject({ result: "Failed" });
  });
});
