// Response-body patterns on RE2 (re2js, a pure JavaScript port): matching
// takes time linear in the body, so a tenant's pattern such as ^(a+)+$ cannot
// stall the event loop (probes, reconciles, Lease renewal) the way the
// backtracking RegExp engine does. The price is RE2's syntax: no lookarounds
// and no backreferences, which validation rejects with RE2's own reason.
import { RE2JS } from "re2js";
import { errorMessage } from "../lib/errors.ts";

/** A compiled body pattern: an unanchored search, like RegExp.prototype.test. */
export interface BodyPattern {
  test(text: string): boolean;
}

// Unsupported constructs RE2's message does not name clearly, e.g. "(?<=x)"
// reads as "invalid named capture"; a backreference as "invalid escape".
const LOOKAROUND = /\(\?<?[=!]/;
const BACKREFERENCE = /(?:^|[^\\])(?:\\\\)*\\[1-9]/;

function hint(pattern: string): string {
  if (LOOKAROUND.test(pattern)) return " (RE2 has no lookahead or lookbehind)";
  if (BACKREFERENCE.test(pattern)) return " (RE2 has no backreferences)";
  return "";
}

/** Compiles an RE2 pattern; throws an Error whose message is RE2's reason when it cannot. */
export function compileBodyPattern(pattern: string): BodyPattern {
  try {
    return RE2JS.compile(pattern);
  } catch (err) {
    throw new Error(`${errorMessage(err)}${hint(pattern)}`, { cause: err });
  }
}

/** Why RE2 cannot compile the pattern, or undefined when it can. */
export function bodyPatternProblem(pattern: string): string | undefined {
  try {
    compileBodyPattern(pattern);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}
