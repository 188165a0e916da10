// The secret canary scan of the whole integration run (issue 11). Its project
// runs after every integration file (vitest.config.ts, sequence.groupOrder),
// while the shared control plane still runs, so a leak counts as one failed
// test in "N passed, N failed". It leaves its result in the run directory;
// the global teardown scans only when this file did not run.
import { describe, expect, it } from "vitest";
import { describeScan, scanRun, writeScanReport } from "../env/canary.ts";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset: run this project together with "integration"`);
  return value;
}

describe("Given every integration file has run and stopped its operators", () => {
  it("When the logs, endpoint snapshots, Events, statuses and termination messages are searched, then no secret canary is found", async () => {
    const runDir = required("PAKE_TEST_RUN_DIR");
    const scan = await scanRun(runDir, required("PAKE_TEST_KUBECONFIG"));
    writeScanReport(runDir, scan);
    console.log(describeScan(scan));
    expect(scan.places).toBeGreaterThan(0);
    expect(scan.hits, describeScan(scan)).toEqual([]);
  });
});
