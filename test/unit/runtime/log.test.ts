import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/runtime/log.ts";

function capture(): { lines: () => Array<Record<string, unknown>>; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join("")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("Given the operator's root logger", () => {
  it.each([
    { field: "password", fields: { password: "hunter2" } },
    { field: "token", fields: { token: "eyJhbGciOi" } },
    { field: "nested uri", fields: { target: { uri: "postgresql://app:hunter2@db:5432/app" } } },
    { field: "nested url", fields: { target: { url: "redis://:hunter2@cache:6379" } } },
    { field: "Secret data", fields: { secret: { data: { password: "aHVudGVyMg==" } } } },
    { field: "authorization header", fields: { headers: { authorization: "Bearer hunter2" } } },
  ])("When a line carries a $field, then its value is redacted", ({ fields }) => {
    const out = capture();
    const log = createLogger({}, out.stream);
    log.info(fields, "Probed target");
    const line = JSON.stringify(out.lines()[0]);
    expect(line).toContain("[REDACTED]");
    expect(line).not.toMatch(/hunter2|eyJhbGciOi|aHVudGVyMg==/);
  });

  it("When a controller logs, then the line is JSON with level, time, message and structured fields", () => {
    const out = capture();
    createLogger({}, out.stream)
      .child({ controller: "healthcheck", namespace: "ns", name: "db" })
      .info({ reconcileId: "r1" }, "Created Incident");
    expect(out.lines()[0]).toMatchObject({
      level: "info",
      msg: "Created Incident",
      controller: "healthcheck",
      namespace: "ns",
      name: "db",
      reconcileId: "r1",
      component: "pake-operator",
    });
    expect(String(out.lines()[0]!.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
