// Subcommand dispatch for `pake-operator`. One row per command: later issues
// add `run <task>`, `schedule explain`, ... by appending to COMMANDS.
import pkg from "../../package.json" with { type: "json" };
import { operatorCommand } from "./operator.ts";
import { retentionCommand } from "./retention.ts";
import { runCommand } from "./run.ts";
import { scheduleCommand } from "./schedule.ts";
import type { Command, CommandContext } from "./types.ts";

export const VERSION: string = pkg.version;

const versionCommand: Command = {
  name: "version",
  summary: "Print the version",
  usage: () => "Usage: pake-operator version",
  run: (_args, ctx) => {
    ctx.stdout(`pake-operator ${VERSION}\n`);
    return Promise.resolve(0);
  },
};

const helpCommand: Command = {
  name: "help",
  summary: "Show help for pake-operator or one of its commands",
  usage: () => "Usage: pake-operator help [command]",
  run: (args, ctx) => {
    const name = args[0];
    if (name === undefined) {
      ctx.stdout(usage());
      return Promise.resolve(0);
    }
    const command = findCommand(name);
    if (!command) {
      ctx.stderr(`pake-operator: unknown command "${name}"\n\n${usage()}`);
      return Promise.resolve(2);
    }
    ctx.stdout(`${command.usage()}\n`);
    return Promise.resolve(0);
  },
};

export const COMMANDS: Command[] = [
  operatorCommand,
  runCommand,
  scheduleCommand,
  retentionCommand,
  versionCommand,
  helpCommand,
];

function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join("\n");
  return `Usage: pake-operator <command> [flags]\n\nCommands:\n${rows}\n\nRun "pake-operator help <command>" for a command's flags.\n`;
}

const ALIASES: Record<string, string[]> = {
  "--help": ["help"],
  "-h": ["help"],
  "--version": ["version"],
};

const defaultContext: CommandContext = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};

/** Runs the subcommand named by argv[0]; resolves with the process exit code. */
export async function main(argv: string[], ctx: CommandContext = defaultContext): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    ctx.stderr(usage());
    return 2;
  }
  const aliased = ALIASES[first];
  const [name, args] = aliased ? [aliased[0] ?? first, rest] : [first, rest];
  const command = findCommand(name);
  if (!command) {
    ctx.stderr(`pake-operator: unknown command "${first}"\n\n${usage()}`);
    return 2;
  }
  return command.run(args, ctx);
}
