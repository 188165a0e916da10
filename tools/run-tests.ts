// Runs Vitest (arguments are passed through) and ends with one line taken
// from the runner's own JSON result: "N passed, N failed[, N skipped]".
// Exits with Vitest's exit code, or 1 when the counts show a failure.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
  numTotalTests: number;
}

const dir = mkdtempSync(join(tmpdir(), "pake-vitest-"));
const output = join(dir, "report.json");
const vitest = spawnSync(
  process.execPath,
  [
    "node_modules/vitest/vitest.mjs",
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${output}`,
    ...process.argv.slice(2),
  ],
  { stdio: "inherit" },
);

let report: JsonReport | undefined;
try {
  report = JSON.parse(readFileSync(output, "utf8")) as JsonReport;
} catch {
  report = undefined;
}
rmSync(dir, { recursive: true, force: true });

if (!report) {
  console.log("0 passed, 1 failed");
  console.error("Vitest wrote no JSON report (it crashed before running tests).");
  process.exit(vitest.status || 1);
}

// A file that fails to load or whose setup fails counts as a failure even if
// it reported no individual test.
const failed =
  report.numFailedTests + (report.numFailedTests === 0 ? report.numFailedTestSuites : 0);
const skipped = report.numPendingTests + report.numTodoTests;
console.log(
  `${report.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`,
);
const code = vitest.status ?? 1;
process.exit(code !== 0 ? code : failed > 0 || report.numTotalTests === 0 ? 1 : 0);
