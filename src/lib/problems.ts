/**
 * An error that carries every problem found, one line each, so a caller can
 * report them all at once rather than only the first. Configuration checks
 * throw their own subclass of it (ConfigError, IncidentPolicyError).
 */
export class ProblemsError extends Error {
  override readonly name: string = "ProblemsError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join("\n"));
    this.problems = problems;
  }
}
