// A CommandContext that keeps what a command writes, for CLI tests.
import type { CommandContext } from "../../../src/cli/types.ts";

export function capture(): CommandContext & { out: string; err: string } {
  const ctx = {
    out: "",
    err: "",
    env: {},
    stdout: (t: string) => {
      ctx.out += t;
    },
    stderr: (t: string) => {
      ctx.err += t;
    },
  };
  return ctx;
}
