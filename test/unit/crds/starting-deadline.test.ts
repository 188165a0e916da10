// The zod mirror of the CRD rule: a starting deadline below 10 seconds is
// rejected (0 would silently mean "never run a late slot"), naming the field.
import { describe, expect, it } from "vitest";
import { BackupPolicySpec } from "../../../src/crds/backuppolicy.ts";
import { MaintenanceTaskSpec } from "../../../src/crds/maintenancetask.ts";

const task = (startingDeadlineSeconds: number) => ({
  schedule: "0 2 * * *",
  startingDeadlineSeconds,
  task: { logCleanup: { claimName: "logs" } },
});
const policy = (startingDeadlineSeconds: number) => ({
  database: { connectionSecretRef: { name: "pg" } },
  schedule: "0 1 * * *",
  storage: { persistentVolumeClaim: { claimName: "backups" } },
  startingDeadlineSeconds,
});

const schemas = [
  ["MaintenanceTask", (s: number) => MaintenanceTaskSpec.safeParse(task(s))],
  ["BackupPolicy", (s: number) => BackupPolicySpec.safeParse(policy(s))],
] as const;

describe.each(schemas)("Given a %s spec", (_kind, parse) => {
  it.each([0, 1, 9])("When startingDeadlineSeconds is %i, then it is rejected", (seconds) => {
    const result = parse(seconds);
    expect(result.success).toBe(false);
    const issue = result.error?.issues.find((i) => i.path.join(".") === "startingDeadlineSeconds");
    expect(issue?.message).toContain("must be at least 10");
  });

  it.each([10, 60, 2592000])(
    "When startingDeadlineSeconds is %i, then it is accepted",
    (seconds) => {
      expect(parse(seconds).success).toBe(true);
    },
  );
});
