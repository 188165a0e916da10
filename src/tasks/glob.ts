// Glob-ish file name patterns: * and ? (not across "/"), ** (across "/"),
// [abc], [a-z], [!abc]. A pattern without "/" matches the file's base name;
// one with "/" matches the path relative to the cleaned directory.

function classToRegExp(
  pattern: string,
  start: number,
): { source: string; end: number } | undefined {
  const close = pattern.indexOf("]", start + 2);
  if (close < 0) return undefined;
  let body = pattern.slice(start + 1, close);
  const negate = body.startsWith("!") || body.startsWith("^");
  if (negate) body = body.slice(1);
  const escaped = body.replace(/[\\\]^]/g, "\\$&");
  return { source: `[${negate ? "^" : ""}${escaped}]`, end: close };
}

function tokenToRegExp(pattern: string, i: number): { source: string; end: number } {
  const c = pattern[i]!;
  if (c === "*" && pattern[i + 1] === "*") {
    // "**/" also matches no directory at all.
    if (pattern[i + 2] === "/") return { source: "(?:.*/)?", end: i + 2 };
    return { source: ".*", end: i + 1 };
  }
  if (c === "*") return { source: "[^/]*", end: i };
  if (c === "?") return { source: "[^/]", end: i };
  if (c === "[") {
    const cls = classToRegExp(pattern, i);
    if (cls !== undefined) return cls;
  }
  return { source: c.replace(/[.+^${}()|[\]\\*?]/g, "\\$&"), end: i };
}

export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const token = tokenToRegExp(pattern, i);
    source += token.source;
    i = token.end;
  }
  return new RegExp(`^${source}$`);
}

/** A matcher for a list of patterns against a relative path ("a/b/app.log"). */
export function globMatcher(patterns: readonly string[]): (relativePath: string) => boolean {
  const compiled = patterns.map((p) => ({ re: globToRegExp(p), onPath: p.includes("/") }));
  return (relativePath) => {
    const base = relativePath.slice(relativePath.lastIndexOf("/") + 1);
    return compiled.some((c) => c.re.test(c.onPath ? relativePath : base));
  };
}
