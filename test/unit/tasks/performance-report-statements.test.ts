// pg_stat_statements keeps utility statements with their literals; what
// performanceReport copies into the termination message must not hold a
// password.
import { describe, expect, it } from "vitest";
import { reportedStatement } from "../../../src/tasks/performance-report.ts";

const HIDDEN = "[REDACTED] (a statement that may hold a credential)";

describe("Given statement texts from pg_stat_statements", () => {
  it.each([
    "ALTER ROLE app PASSWORD 'hunter2'",
    "alter user app with encrypted password 'hunter2'",
    "CREATE USER auditor WITH PASSWORD 'hunter2'",
    "CREATE ROLE r LOGIN PASSWORD 'hunter2' VALID UNTIL 'infinity'",
    "CREATE USER MAPPING FOR app SERVER remote OPTIONS (user 'a', password 'hunter2')",
    "ALTER SERVER remote OPTIONS (SET passwd 'hunter2')",
    "CREATE SUBSCRIPTION s CONNECTION 'host=db user=rep password=hunter2' PUBLICATION p",
    "SELECT * FROM dblink('host=db password=hunter2', 'SELECT 1') AS t(x int)",
    "SELECT pgp_sym_encrypt(note, 'hunter2') FROM orders",
    "SELECT crypt('hunter2', gen_salt('bf'))",
  ])("When it is %j, then its text is not reported", (text) => {
    expect(reportedStatement(text)).toBe(HIDDEN);
  });

  it.each([
    ["SELECT * FROM orders WHERE id = $1", "SELECT * FROM orders WHERE id = $1"],
    [
      "SELECT password_hash FROM users WHERE id = $1",
      "SELECT password_hash FROM users WHERE id = $1",
    ],
    [
      "SELECT * FROM dblink_fdw_note WHERE uri = 'postgres://u:p@ss@db/app'",
      "SELECT * FROM dblink_fdw_note WHERE uri = 'postgres://[REDACTED]@db/app'",
    ],
    ["VACUUM ANALYZE orders", "VACUUM ANALYZE orders"],
  ])("When it is %j, then it is reported as %j", (text, expected) => {
    expect(reportedStatement(text)).toBe(expected);
  });
});
