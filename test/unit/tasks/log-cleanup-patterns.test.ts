// logCleanup deletes what its patterns match, so the patterns follow a glob
// library's rules: braces, backslash escapes, and no dotfiles unless the
// pattern names the dot. A real temporary directory shows what is deleted.
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { globMatcher, runLogCleanup } from "../../../src/tasks/index.ts";

const NOW = new Date("2024-05-01T02:00:00Z");
const clock = () => NOW;
const OLD = new Date(NOW.getTime() - 30 * 86_400_000);
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A volume with old files at the given relative paths. */
function volumeWith(paths: readonly string[]): string {
  const root = mkdtempSync(join(tmpdir(), "pake-patterns-"));
  dirs.push(root);
  for (const rel of paths) {
    const full = join(root, rel);
    mkdirSync(join(full, ".."), { recursive: true });
    writeFileSync(full, "x");
    utimesSync(full, OLD, OLD);
  }
  return root;
}

describe("Given logCleanup patterns", () => {
  it.each([
    { patterns: ["*.{log,gz}"], path: "app.gz", match: true },
    { patterns: ["*.{log,gz}"], path: "sub/app.log", match: true },
    { patterns: ["*.{log,gz}"], path: "app.txt", match: false },
    { patterns: ["app-{1..3}.log"], path: "app-2.log", match: true },
    { patterns: ["app-{1..3}.log"], path: "app-4.log", match: false },
    { patterns: ["\\*.log"], path: "*.log", match: true },
    { patterns: ["\\*.log"], path: "app.log", match: false },
    { patterns: ["app\\[1\\].log"], path: "app[1].log", match: true },
    { patterns: ["*.log"], path: ".secret.log", match: false },
    { patterns: ["*.log"], path: "sub/.secret.log", match: false },
    { patterns: ["*.log"], path: ".hidden/app.log", match: false },
    { patterns: ["**/*.log"], path: ".hidden/app.log", match: false },
    { patterns: ["*"], path: ".secret", match: false },
    { patterns: [".*.log"], path: ".secret.log", match: true },
    { patterns: [".hidden/*.log"], path: ".hidden/app.log", match: true },
    // A leading "!" or "#" is a file name here, never "everything but" or a comment.
    { patterns: ["!*.log"], path: "app.txt", match: false },
    { patterns: ["#app.log"], path: "#app.log", match: true },
  ])("When $patterns is matched against $path, then the match is $match", (row) => {
    expect(globMatcher(row.patterns)(row.path)).toBe(row.match);
  });

  it("When a pattern expands to a huge number of braces, then matching still ends quickly", () => {
    const bomb = "{a,b}".repeat(40);
    const started = Date.now();
    expect(globMatcher([bomb])("ab")).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("When a pattern expands to more than 256 patterns, then the config is refused and nothing goes", async () => {
    const root = volumeWith(["logs/ab.log"]);
    const r = await runLogCleanup(
      { root, path: "/logs", maxAge: "7d", patterns: ["{a,b}".repeat(9) + ".log"] },
      { now: clock },
    );
    expect(r.result).toBe("Failed");
    expect(r.error).toContain("patterns.0: expands through braces to more than 256 patterns");
    expect(existsSync(join(root, "logs/ab.log"))).toBe(true);
  });

  it("When *.{log,gz} and *.log run on a volume, then braces match and dotfiles stay", async () => {
    const root = volumeWith([
      "logs/app.log",
      "logs/app.gz",
      "logs/app.txt",
      "logs/.secret.log",
      "logs/.cache/app.log",
      "logs/*.log",
    ]);
    const r = await runLogCleanup(
      { root, path: "/logs", maxAge: "7d", patterns: ["*.{log,gz}"] },
      { now: clock },
    );
    expect(r.result).toBe("Succeeded");
    expect(r.details.filesDeleted).toBe("3");
    expect(existsSync(join(root, "logs/app.log"))).toBe(false);
    expect(existsSync(join(root, "logs/app.gz"))).toBe(false);
    expect(existsSync(join(root, "logs/*.log"))).toBe(false);
    expect(existsSync(join(root, "logs/app.txt"))).toBe(true);
    expect(existsSync(join(root, "logs/.secret.log"))).toBe(true);
    expect(existsSync(join(root, "logs/.cache/app.log"))).toBe(true);
  });

  it("When an escaped \\*.log runs on a volume, then only the file named *.log goes", async () => {
    const root = volumeWith(["logs/app.log", "logs/*.log"]);
    const r = await runLogCleanup(
      { root, path: "/logs", maxAge: "7d", patterns: ["\\*.log"] },
      { now: clock },
    );
    expect(r.details.filesDeleted).toBe("1");
    expect(existsSync(join(root, "logs/*.log"))).toBe(false);
    expect(existsSync(join(root, "logs/app.log"))).toBe(true);
  });
});
