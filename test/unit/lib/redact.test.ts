// One redaction scheme: the union of what status, task results and logs hid before.
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { LOG_REDACT_PATHS, REDACTED, redactText } from "../../../src/lib/redact.ts";

describe("Given text that may carry credentials", () => {
  it.each([
    // URL userinfo (what HealthCheck status, Events and /health hid)
    ["redis://:s3cret@127.0.0.1:6379/0 refused", "redis://[REDACTED]@127.0.0.1:6379/0 refused"],
    ["postgresql://app:pw@db:5432/app", "postgresql://[REDACTED]@db:5432/app"],
    ["postgresql://app:s3cr3t@db/app", "postgresql://[REDACTED]@db/app"],
    ["connect redis://:hunter2@cache:6379 failed", "connect redis://[REDACTED]@cache:6379 failed"],
    // an unencoded "@" (or ":") in the password: the userinfo ends at the last "@" of the authority
    ["postgres://u:p@ss@host/db", "postgres://[REDACTED]@host/db"],
    ["postgres://u:p@ss@host:5432", "postgres://[REDACTED]@host:5432"],
    ["redis://:a@b:c@cache:6379/0 refused", "redis://[REDACTED]@cache:6379/0 refused"],
    ["postgres://u:p?s#s@host/db", "postgres://[REDACTED]@host/db"],
    [
      "a postgres://u:p@1@h1/db, b redis://:p@2@h2",
      "a postgres://[REDACTED]@h1/db, b redis://[REDACTED]@h2",
    ],
    // key=value pairs (what task results hid as well)
    ["password=hunter2 host=db", "password=[REDACTED] host=db"],
    ['token: "abc def" next', "token: [REDACTED] next"],
    ["PWD='x y' done", "PWD=[REDACTED] done"],
    ["secret=s passwd=p", "secret=[REDACTED] passwd=[REDACTED]"],
    // nothing to hide
    ["connect ECONNREFUSED 127.0.0.1:5432", "connect ECONNREFUSED 127.0.0.1:5432"],
    ["see https://example.com/path", "see https://example.com/path"],
    ["no secrets here", "no secrets here"],
  ])("When it is %j, then it becomes %j", (input, expected) => {
    expect(redactText(input)).toBe(expected);
  });
});

describe("Given log fields that may carry credentials", () => {
  it.each([
    { field: "password", fields: { password: "hunter2" } },
    { field: "token", fields: { token: "hunter2" } },
    { field: "nested uri", fields: { target: { uri: "postgresql://app:hunter2@db/app" } } },
    { field: "nested url", fields: { target: { url: "redis://:hunter2@cache:6379" } } },
    { field: "connectionString", fields: { connectionString: "hunter2" } },
    { field: "nested secret", fields: { check: { secret: "hunter2" } } },
    { field: "Secret data", fields: { secret: { data: { password: "hunter2" } } } },
    { field: "stringData", fields: { obj: { stringData: { k: "hunter2" } } } },
    { field: "authorization header", fields: { headers: { authorization: "Bearer hunter2" } } },
    {
      field: "nested authorization header",
      fields: { req: { headers: { authorization: "hunter2" } } },
    },
  ])("When a line carries a $field, then pino with LOG_REDACT_PATHS hides it", ({ fields }) => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString("utf8"));
        done();
      },
    });
    pino({ redact: { paths: [...LOG_REDACT_PATHS], censor: REDACTED } }, stream).info(fields, "m");
    expect(lines.join("")).toContain(REDACTED);
    expect(lines.join("")).not.toContain("hunter2");
  });
});
