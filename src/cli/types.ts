// The command contract of `pake-operator`. Its own file so that each command
// imports only these types, and commands.ts (the dispatcher) imports the
// commands: no file cycle between them.

/** Where a command writes and what environment it reads (tests pass their own). */
export interface CommandContext {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full help for `pake-operator help <name>`. */
  usage: () => string;
  run: (args: string[], ctx: CommandContext) => Promise<number>;
}
