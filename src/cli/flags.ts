// A small flag reader for the CLI's subcommands: --name value, --name=value.
export interface ParsedFlags {
  flags: Map<string, string>;
  positional: string[];
  problems: string[];
}

export function parseFlags(args: readonly string[], known: readonly string[]): ParsedFlags {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  const problems: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const body = arg.slice(2);
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const value = eq >= 0 ? body.slice(eq + 1) : args[i + 1];
    if (eq < 0) i++;
    if (!known.includes(name)) problems.push(`unknown flag --${name}`);
    else if (value === undefined) problems.push(`--${name}: missing value`);
    else flags.set(name, value);
  }
  return { flags, positional, problems };
}
