// `pake-operator run <task>`: what a MaintenanceTask Job runs. The task
// config is JSON from --config or env PAKE_TASK_CONFIG; the result (≤ 4 KiB
// JSON) goes to the termination message; the exit code is 0 on success.
import { executeTask, taskNames } from "../tasks/dispatch.ts";
import type { Command, CommandContext } from "./types.ts";
import { parseFlags } from "./flags.ts";

const usage = (): string =>
  [
    "Usage: pake-operator run <task> [--config <json>] [--termination-message-path <path>]",
    "",
    `Runs one maintenance task (${taskNames().join(", ")}) and writes its JSON result`,
    "to the termination message ($PAKE_TERMINATION_MESSAGE_PATH, else /dev/termination-log).",
    "The task config is --config or the environment variable PAKE_TASK_CONFIG.",
  ].join("\n");

async function run(args: string[], ctx: CommandContext): Promise<number> {
  const parsed = parseFlags(args, ["config", "termination-message-path"]);
  const [task, ...extra] = parsed.positional;
  if (task === undefined || extra.length > 0 || parsed.problems.length > 0) {
    const problems = parsed.problems.map((p) => `pake-operator run: ${p}\n`).join("");
    ctx.stderr(`${problems}${usage()}\n`);
    return 2;
  }
  const abort = new AbortController();
  const onTerm = (): void => abort.abort();
  process.once("SIGTERM", onTerm);
  try {
    const path = parsed.flags.get("termination-message-path");
    const { exitCode } = await executeTask({
      name: task,
      config: parsed.flags.get("config") ?? ctx.env.PAKE_TASK_CONFIG,
      ctx: { env: ctx.env, signal: abort.signal },
      ...(path !== undefined ? { terminationMessagePath: path } : {}),
    });
    return exitCode;
  } finally {
    process.off("SIGTERM", onTerm);
  }
}

export const runCommand: Command = {
  name: "run",
  summary: "Run a maintenance task (what a MaintenanceTask Job runs)",
  usage,
  run,
};
