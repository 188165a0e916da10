// The runners' connection URIs come from the environment; one with a
// malformed percent escape is refused with a message naming the variable,
// not a URIError from deep inside a client library, and not the value.
import { describe, expect, it } from "vitest";
import { toolConnection } from "../../../src/tasks/backup/pg-tools.ts";
import { defaultDatabase } from "../../../src/tasks/backup/restore.ts";
import { postgresConfig, redisUrl } from "../../../src/tasks/env.ts";

const MALFORMED = ["postgres://u:%zz@h/db", "postgresql://u:50%@h/db", "postgresql://u:pw@h/%zz"];

describe("Given a database URI in the environment", () => {
  it.each(MALFORMED)(
    "When PAKE_DATABASE_URL is %j, then it is refused as not a valid URI",
    (uri) => {
      expect(() => postgresConfig({ PAKE_DATABASE_URL: uri })).toThrow(
        "PAKE_DATABASE_URL is not a valid URI",
      );
    },
  );

  it("When DATABASE_URL is not a URI at all, then the message names DATABASE_URL", () => {
    expect(() => postgresConfig({ DATABASE_URL: "not a uri" })).toThrow(
      "DATABASE_URL is not a valid URI",
    );
  });

  it("When the URI is well formed, then the database is replaced and the escapes kept", () => {
    expect(
      postgresConfig({ PAKE_DATABASE_URL: "postgresql://u:p%40ss@h:5432/a" }, "b"),
    ).toMatchObject({ connectionString: "postgresql://u:p%40ss@h:5432/b" });
  });
});

describe("Given a Redis URL in the environment", () => {
  it.each(["redis://:%zz@cache:6379/0", "rediss://u:50%@cache"])(
    "When PAKE_REDIS_URL is %j, then it is refused as not a valid URI",
    (url) => {
      expect(() => redisUrl({ PAKE_REDIS_URL: url })).toThrow("PAKE_REDIS_URL is not a valid URI");
    },
  );

  it.each(["127.0.0.1:6379", "redis://:p%40ss@cache:6379/0"])(
    "When REDIS_URL is %j, then it is returned as is",
    (url) => {
      expect(redisUrl({ REDIS_URL: url })).toBe(url);
    },
  );

  it("When the URL is well formed, then it is returned as is", () => {
    expect(redisUrl({ REDIS_URL: "redis://:p%40ss@cache:6379/0" })).toBe(
      "redis://:p%40ss@cache:6379/0",
    );
  });
});

describe("Given a database URI for pg_dump and pg_restore", () => {
  it.each(MALFORMED)(
    "When PAKE_DATABASE_URL is %j, then the tools' connection is refused as not a valid URI",
    (uri) => {
      expect(() => toolConnection({ PAKE_DATABASE_URL: uri }, "shop")).toThrow(
        "PAKE_DATABASE_URL is not a valid URI",
      );
      expect(() => defaultDatabase({ PAKE_DATABASE_URL: uri })).toThrow(
        "PAKE_DATABASE_URL is not a valid URI",
      );
    },
  );

  it("When the URI is well formed, then its database is the default", () => {
    expect(defaultDatabase({ DATABASE_URL: "postgresql://u:p%40ss@h/sh%20op" })).toBe("sh op");
  });
});
