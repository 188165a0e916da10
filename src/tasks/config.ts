// Parsing a runner's config with a readable error.
import type { z } from "zod";

export class TaskConfigError extends Error {
  override name = "TaskConfigError";
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join(".") : "(config)"}: ${i.message}`)
    .join("; ");
}

/** Parses `input` with `schema`; throws TaskConfigError("invalid <task> config: …"). */
export function parseConfig<S extends z.ZodType>(
  task: string,
  schema: S,
  input: unknown,
): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new TaskConfigError(`invalid ${task} config: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}
