// custom: the Job runs the user's image, so there is nothing to run in
// process; only the config is validated (with the CRD's schema).
import { CustomTask } from "../crds/maintenancetask.ts";
import { parseConfig } from "./config.ts";
import { runTaskBody } from "./result.ts";
import type { TaskContext, TaskResult } from "./types.ts";

export const CustomConfig = CustomTask;

/** Validates a custom task's config; throws TaskConfigError. */
export function validateCustomConfig(input: unknown): void {
  parseConfig("custom", CustomConfig, input);
}

/** Fails on purpose: a custom task runs its own image, not `pake-operator run`. */
export async function runCustom(input: unknown, ctx: TaskContext = {}): Promise<TaskResult> {
  return runTaskBody("custom", ctx.now, () => {
    validateCustomConfig(input);
    return Promise.resolve({
      result: "Failed",
      summary: "custom tasks run their own image; there is nothing to run in pake-operator",
      details: {},
      error: "custom task: nothing to run in process",
    });
  });
}
