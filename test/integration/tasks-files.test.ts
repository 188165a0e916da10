// logCleanup and the volume part of capacityCheck against a real filesystem.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { runCapacityCheck, runLogCleanup, runTask } from "../../src/tasks/index.ts";

const NOW = new Date("2024-05-01T02:00:00Z");
const DAY = 86_400_000;
const clock = () => NOW;
const dirs: string[] = [];

function file(root: string, rel: string, ageDays: number, bytes = 100): string {
  const full = join(root, rel);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, "x".repeat(bytes));
  const t = new Date(NOW.getTime() - ageDays * DAY);
  utimesSync(full, t, t);
  return full;
}

let volume: string;
let outside: string;

beforeEach(() => {
  const base = mkdtempSync(join(tmpdir(), "pake-logs-"));
  dirs.push(base);
  volume = join(base, "volume");
  outside = join(base, "outside");
  mkdirSync(join(volume, "logs"), { recursive: true });
  mkdirSync(outside);
  file(volume, "logs/old.log", 10, 1000);
  file(volume, "logs/old.log.1.gz", 30, 500);
  file(volume, "logs/new.log", 1, 700);
  file(volume, "logs/old.txt", 10, 300);
  file(volume, "logs/nested/deep/old.log", 8, 200);
  // A symlink to an old file outside the volume, and one to a directory outside.
  file(outside, "victim.log", 100, 50);
  symlinkSync(join(outside, "victim.log"), join(volume, "logs/link.log"));
  symlinkSync(outside, join(volume, "logs/escape"));
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("Given a volume with old and new log files", () => {
  it("deletes matching files older than maxAge, recursively, and reports files and bytes", async () => {
    const r = await runLogCleanup({ root: volume, path: "/logs", maxAge: "7d" }, { now: clock });
    expect(r.result).toBe("Succeeded");
    expect(r.details).toMatchObject({
      filesDeleted: "3",
      bytesFreed: "1700",
      symlinksSkipped: "2",
    });
    expect(existsSync(join(volume, "logs/old.log"))).toBe(false);
    expect(existsSync(join(volume, "logs/old.log.1.gz"))).toBe(false);
    expect(existsSync(join(volume, "logs/nested/deep/old.log"))).toBe(false);
    expect(existsSync(join(volume, "logs/new.log"))).toBe(true);
    expect(existsSync(join(volume, "logs/old.txt"))).toBe(true);
    expect(r.summary).toMatch(/^deleted 3 file\(s\)/);
  });

  it("never follows or deletes symbolic links, so nothing outside the root is touched", async () => {
    await runLogCleanup(
      { root: volume, path: "/logs", maxAge: "1d", patterns: ["*"] },
      { now: clock },
    );
    expect(existsSync(join(outside, "victim.log"))).toBe(true);
    expect(existsSync(join(volume, "logs/link.log"))).toBe(true);
  });

  it("dryRun reports what would go and deletes nothing", async () => {
    const r = await runLogCleanup(
      { root: volume, path: "/logs", maxAge: "7d", dryRun: true },
      { now: clock },
    );
    expect(r.details).toMatchObject({ filesDeleted: "3", dryRun: "true" });
    expect(r.summary).toMatch(/^would delete 3 file\(s\)/);
    expect(existsSync(join(volume, "logs/old.log"))).toBe(true);
  });

  it("recursive: false leaves subdirectories alone", async () => {
    const r = await runLogCleanup(
      { root: volume, path: "/logs", maxAge: "7d", recursive: false },
      { now: clock },
    );
    expect(r.details.filesDeleted).toBe("2");
    expect(existsSync(join(volume, "logs/nested/deep/old.log"))).toBe(true);
  });

  it.each([
    { name: "a path with ..", path: "/../outside" },
    { name: "a path through a symlink out of the root", path: "/logs/escape" },
  ])("refuses $name", async ({ path }) => {
    const r = await runLogCleanup(
      { root: volume, path, maxAge: "1d", patterns: ["*"] },
      { now: clock },
    );
    expect(r.result).toBe("Failed");
    expect(r.error).toContain("resolves outside the volume root");
    expect(existsSync(join(outside, "victim.log"))).toBe(true);
  });

  it("runs through the dispatcher from JSON, ignoring the controller's claimName", async () => {
    const r = await runTask(
      "logCleanup",
      JSON.stringify({ claimName: "logs", root: volume, path: "/logs", maxAge: "7d" }),
      { now: clock },
    );
    expect(r.result).toBe("Succeeded");
    expect(r.details.filesDeleted).toBe("3");
  });

  it("keeps the result within 4 KiB when thousands of files go", async () => {
    for (let i = 0; i < 2000; i++) file(volume, `bulk/app-${i}.log`, 9, 10);
    const r = await runLogCleanup({ root: volume, path: "/bulk", maxAge: "7d" }, { now: clock });
    expect(r.details.filesDeleted).toBe("2000");
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThanOrEqual(4096);
    expect((r.data?.files as unknown[]).length + r.truncated!["data.files"]!).toBe(2000);
  });
});

describe("Given volumes to check for capacity", () => {
  it("measures usage with statfs and forecasts days until full from previous samples", async () => {
    const first = await runCapacityCheck(
      { volumes: [{ name: "logs", path: volume }], nodes: false, database: false },
      { now: clock },
    );
    expect(first.result).toBe("Succeeded");
    const sample = first.data?.sample as { volumes: Record<string, number> };
    const used = sample.volumes.logs!;
    expect(used).toBeGreaterThan(0);
    const volumes = first.data?.volumes as {
      percent: number;
      totalBytes: number;
      availableBytes: number;
    }[];
    expect(volumes[0]!.percent).toBeGreaterThan(0);
    expect(volumes[0]!.percent).toBeLessThanOrEqual(100);

    // Pretend the volume grew steadily over the last 3 days.
    const available = volumes[0]!.availableBytes;
    const perDay = Math.floor(Math.min(available / 10, used / 4));
    const expectedDays = available / perDay;
    const previousSamples = [3, 2, 1].map((d) => ({
      time: new Date(NOW.getTime() - d * DAY).toISOString(),
      volumes: { logs: used - d * perDay },
    }));
    const second = await runCapacityCheck(
      {
        volumes: [{ name: "logs", path: volume }],
        nodes: false,
        database: false,
        previousSamples,
        warningDaysUntilFull: 3650,
        criticalDaysUntilFull: 1,
      },
      { now: clock },
    );
    const v = (second.data?.volumes as { growthBytesPerDay: number; daysUntilFull: number }[])[0]!;
    expect(v.growthBytesPerDay).toBeGreaterThan(perDay * 0.99);
    expect(v.daysUntilFull).toBeGreaterThan(expectedDays * 0.95);
    expect(v.daysUntilFull).toBeLessThan(expectedDays * 1.05);
    expect(second.data?.findings).toContainEqual(
      expect.objectContaining({ metric: "daysUntilFull", severity: "medium" }),
    );

    // The same forecast under a critical bound beyond it: the run succeeds and
    // marks itself critical (the MaintenanceTask opens an Incident for it).
    const critical = await runCapacityCheck(
      {
        volumes: [{ name: "logs", path: volume }],
        nodes: false,
        database: false,
        previousSamples,
        warningDaysUntilFull: 3650,
        criticalDaysUntilFull: 3649,
      },
      { now: clock },
    );
    expect(critical.result).toBe("Succeeded");
    expect(critical.severity).toBe("critical");
    expect(critical.details.level).toBe("critical");
  });

  it("fails with a clear message for a missing mount", async () => {
    const r = await runCapacityCheck(
      {
        persistentVolumeClaims: ["data"],
        volumesRoot: join(volume, "nope"),
        nodes: false,
        database: false,
      },
      { now: clock },
    );
    expect(r.result).toBe("Failed");
    expect(r.error).toContain("ENOENT");
  });
});
