// The pure parts of the backup runner: client versions against the server,
// pg_dump's compression flag per version, how credentials reach pg_dump,
// file names, and the config's defaults and refusals.
import { describe, expect, it } from "vitest";
import { BackupConfig, storageRoot } from "../../../src/tasks/backup/config.ts";
import { dumpFileName, fileStem } from "../../../src/tasks/backup/dump.ts";
import {
  clientTooOld,
  compressionArgs,
  parseToolVersion,
  serverVersionOf,
  toolConnection,
} from "../../../src/tasks/backup/pg-tools.ts";

const v15 = { version: "15.18", major: 15 };
const v16 = { version: "16.4", major: 16 };

describe("client and server versions", () => {
  it.each([
    ["pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n", { version: "15.18", major: 15 }],
    ["pg_dump (PostgreSQL) 16.4\n", { version: "16.4", major: 16 }],
    ["pg_dump (PostgreSQL) 17beta1\n", { version: "17", major: 17 }],
    ["something else", undefined],
  ])("parses %j", (output, expected) => {
    expect(parseToolVersion(output)).toEqual(expected);
  });

  it.each([
    [150018, { version: "15.18", major: 15 }],
    [160002, { version: "16.2", major: 16 }],
    [170000, { version: "17.0", major: 17 }],
  ])("reads server_version_num %i", (num, expected) => {
    expect(serverVersionOf(num)).toEqual(expected);
  });

  it("says plainly when pg_dump is older than the server, and what to do", () => {
    expect(clientTooOld(v15, serverVersionOf(160002))).toBe(
      "pg_dump 15.18 cannot dump a PostgreSQL 16.2 server: use an operator image with PostgreSQL 16 client tools",
    );
  });

  it.each([
    [v15, 150018],
    [v15, 140010],
    [v16, 150018],
  ])("accepts pg_dump %j for server %i", (pgDump, num) => {
    expect(clientTooOld(pgDump, serverVersionOf(num))).toBeUndefined();
  });
});

describe("compression flags", () => {
  it.each([
    ["custom", { algorithm: "gzip" }, v15, []],
    ["custom", { algorithm: "gzip", level: 6 }, v15, ["--compress=6"]],
    ["custom", { algorithm: "none" }, v15, ["--compress=0"]],
    ["directory", { algorithm: "gzip", level: 1 }, v15, ["--compress=1"]],
    ["custom", { algorithm: "gzip" }, v16, ["--compress=gzip"]],
    ["custom", { algorithm: "zstd", level: 19 }, v16, ["--compress=zstd:19"]],
    ["directory", { algorithm: "lz4", level: 3 }, v16, ["--compress=lz4:3"]],
    ["custom", { algorithm: "none" }, v16, ["--compress=none"]],
    ["plain", { algorithm: "gzip", level: 9 }, v15, []],
    ["plain", { algorithm: "none" }, v16, []],
    ["plain", { algorithm: "zstd" }, v16, ["--compress=zstd"]],
  ] as const)("%s %j with pg_dump %j → %j", (format, compression, pgDump, expected) => {
    expect(compressionArgs(format, compression, pgDump)).toEqual(expected);
  });

  it.each([
    ["custom", "lz4", /lz4 compression needs pg_dump 16 or newer \(this is pg_dump 15\.18\)/],
    ["directory", "zstd", /zstd compression needs pg_dump 16 or newer/],
    ["plain", "lz4", /plain format with lz4 compression needs pg_dump 16 or newer/],
  ] as const)("refuses %s with %s on pg_dump 15, saying why", (format, algorithm, message) => {
    expect(() => compressionArgs(format, { algorithm }, v15)).toThrow(message);
  });
});

describe("how pg_dump connects", () => {
  it("takes the password out of a URI into PGPASSWORD, never the command line", () => {
    const conn = toolConnection(
      { PAKE_DATABASE_URL: "postgresql://app:s%40cret@db.example:5433/shop?sslmode=require" },
      "sales",
    );
    expect(conn.dbname).toBe("postgresql://app@db.example:5433/sales?sslmode=require");
    expect(conn.dbname).not.toContain("cret");
    expect(conn.env.PGPASSWORD).toBe("s@cret");
    expect(conn.env.PAKE_DATABASE_URL).toBeUndefined();
  });

  it("passes the libpq variables through and quotes the database name", () => {
    const conn = toolConnection({ PGHOST: "db", PGPASSWORD: "pw" }, "it's");
    expect(conn.dbname).toBe("dbname='it\\'s'");
    expect(conn.env).toMatchObject({ PGHOST: "db", PGPASSWORD: "pw" });
  });
});

describe("file names", () => {
  it.each([
    ["shop", "custom", "gzip", "shop.dump"],
    ["shop", "directory", "gzip", "shop.dir"],
    ["shop", "plain", "gzip", "shop.sql.gz"],
    ["shop", "plain", "none", "shop.sql"],
    ["a/b", "custom", "gzip", "a%2Fb.dump"],
    ["globals", "plain", "none", "globals_.sql"],
  ] as const)("%s as %s/%s → %s", (db, format, algorithm, expected) => {
    expect(dumpFileName(db, { format, compression: { algorithm } })).toBe(expected);
  });

  it("never names a dump like the globals file", () => {
    expect(fileStem("globals")).not.toBe("globals");
  });
});

describe("the runner's config", () => {
  it("applies the defaults", () => {
    const config = BackupConfig.parse({
      policy: { namespace: "ns", name: "nightly" },
      id: "20261201T010000Z",
    });
    expect(config).toMatchObject({
      root: "/pake/backup",
      path: "/",
      format: "custom",
      compression: { algorithm: "gzip" },
      retention: { keepLast: 7 },
      timeZone: "UTC",
    });
    expect(storageRoot({ root: "/pake/backup", path: "/team/a" })).toBe("/pake/backup/team/a");
  });

  it.each([
    [{ id: "yesterday" }, "id"],
    [{ path: "/a/../../etc" }, "path"],
    [{ path: "relative" }, "path"],
    [{ timeZone: "Mars/Olympus" }, "timeZone"],
    [{ retention: { keepLast: 2, maxAge: "a week" } }, "retention"],
  ])("refuses %j", (override, field) => {
    const parsed = BackupConfig.safeParse({
      policy: { namespace: "ns", name: "nightly" },
      id: "20261201T010000Z",
      ...override,
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path[0]).toBe(field);
  });
});
