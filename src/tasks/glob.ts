// File name patterns for logCleanup, matched by minimatch (the glob library
// npm and ESLint use), because the task deletes what they match: * and ?
// (not across "/"), ** (across "/"), [abc], [!a-z], braces {log,gz} and
// {1..3}, and "\" escaping the next character. A file or directory whose name
// starts with "." matches only where the pattern spells the dot. A pattern
// without "/" matches a file's name at any depth; one with "/" matches the path
// relative to the cleaned directory. A leading "!" or "#" is part of a name,
// never "everything but" or a comment.
import { braceExpand, Minimatch, type MinimatchOptions } from "minimatch";

/** Patterns a single pattern may expand to through braces. */
export const MAX_BRACE_EXPANSIONS = 256;

const OPTIONS: MinimatchOptions = {
  dot: false,
  nonegate: true,
  nocomment: true,
  platform: "linux",
  braceExpandMax: MAX_BRACE_EXPANSIONS,
};

/** Undefined when the pattern is usable, else why not. */
export function globProblem(pattern: string): string | undefined {
  const expanded = braceExpand(pattern, { ...OPTIONS, braceExpandMax: MAX_BRACE_EXPANSIONS + 1 });
  return expanded.length > MAX_BRACE_EXPANSIONS
    ? `expands through braces to more than ${MAX_BRACE_EXPANSIONS} patterns`
    : undefined;
}

/** A matcher for a list of patterns against a relative path ("a/b/app.log"). */
export function globMatcher(patterns: readonly string[]): (relativePath: string) => boolean {
  const compiled = patterns.map((p) => new Minimatch(p.includes("/") ? p : `**/${p}`, OPTIONS));
  return (relativePath) => compiled.some((m) => m.match(relativePath));
}
