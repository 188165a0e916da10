// The pure parts of backupVerify and databaseRestore: configs, the row count
// comparison, picking the dump, and the checksum check on files (no server).
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import { DatabaseRestoreTask } from "../../../src/crds/maintenancetask.ts";
import type { Manifest } from "../../../src/tasks/backup/manifest.ts";
import {
  ChecksumError,
  dumpOf,
  findBackup,
  sourceDatabase,
  verifyChecksums,
} from "../../../src/tasks/backup/restore.ts";
import {
  BackupVerifyConfig,
  compareTables,
  DatabaseRestoreConfig,
  scratchDatabaseOf,
  validateTaskConfig,
  type DatabaseRestoreInput,
} from "../../../src/tasks/index.ts";

function manifest(overrides: Partial<Manifest> = {}): Manifest {
  return {
    version: 1,
    id: "20261201T010000Z",
    policy: { namespace: "default", name: "nightly" },
    startTime: "2026-12-01T01:00:00.000Z",
    endTime: "2026-12-01T01:00:05.000Z",
    serverVersion: "15.8",
    pgDumpVersion: "15.8",
    format: "custom",
    compression: { algorithm: "gzip" },
    databases: [{ name: "app", tables: [] }],
    files: [{ path: "app.dump", kind: "dump", database: "app", bytes: 3, sha256: "0".repeat(64) }],
    bytes: 3,
    ...overrides,
  };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("compareTables", () => {
  const t = (schema: string, name: string, rows: number) => ({ schema, name, rows });

  it("finds nothing when tables and counts agree, whatever the order", () => {
    expect(
      compareTables(
        "app",
        [t("public", "a", 1), t("s", "b", 0)],
        [t("s", "b", 0), t("public", "a", 1)],
      ),
    ).toEqual([]);
  });

  it("names missing tables, different counts (in manifest order), then extra tables", () => {
    expect(
      compareTables(
        "app",
        [t("public", "a", 10), t("public", "gone", 1), t("public", "c", 5)],
        [t("public", "extra", 2), t("public", "c", 5), t("public", "a", 9)],
      ),
    ).toEqual([
      "app: table public.a has 9 rows, manifest says 10",
      "app: table public.gone missing after restore",
      "app: table public.extra not in the manifest",
    ]);
  });

  it("tells a table from one of the same name in another schema", () => {
    expect(compareTables("app", [t("a", "x", 1)], [t("b", "x", 1)])).toEqual([
      "app: table a.x missing after restore",
      "app: table b.x not in the manifest",
    ]);
  });
});

describe("scratchDatabaseOf", () => {
  it("is pake_verify_<policy> with - and . as _, at most 63 bytes", () => {
    expect(scratchDatabaseOf("postgres-nightly")).toBe("pake_verify_postgres_nightly");
    expect(scratchDatabaseOf("a.b")).toBe("pake_verify_a_b");
    expect(scratchDatabaseOf("x".repeat(253))).toHaveLength(63);
  });
});

describe("sourceDatabase and dumpOf", () => {
  it("takes the backup's only database, or the one asked for", () => {
    expect(sourceDatabase(manifest())).toBe("app");
    const two = manifest({
      databases: [
        { name: "app", tables: [] },
        { name: "billing", tables: [] },
      ],
    });
    expect(sourceDatabase(two, "billing")).toBe("billing");
    expect(() => sourceDatabase(two)).toThrow(
      "backup 20261201T010000Z holds 2 databases (app, billing): name one in spec.task.databaseRestore.sourceDatabase",
    );
    expect(() => sourceDatabase(two, "other")).toThrow(
      "spec.task.databaseRestore.sourceDatabase: backup 20261201T010000Z has no database other (it has: app, billing)",
    );
  });

  it("restores a directory-format dump from its directory", () => {
    const dir = manifest({
      format: "directory",
      files: [
        {
          path: "app.dir/toc.dat",
          kind: "dump",
          database: "app",
          bytes: 1,
          sha256: "0".repeat(64),
        },
        {
          path: "app.dir/3012.dat.gz",
          kind: "dump",
          database: "app",
          bytes: 1,
          sha256: "0".repeat(64),
        },
        { path: "globals.sql", kind: "globals", bytes: 1, sha256: "0".repeat(64) },
      ],
    });
    expect(dumpOf(dir, "app")).toBe("app.dir");
    expect(dumpOf(manifest(), "app")).toBe("app.dump");
    expect(() => dumpOf(manifest(), "billing")).toThrow(
      "backup 20261201T010000Z has no dump of billing",
    );
  });
});

describe("verifyChecksums", () => {
  const dir = mkdtempSync(join(tmpdir(), "pake-checksums-"));
  writeFileSync(join(dir, "app.dump"), "abc");
  const good = {
    path: "app.dump",
    kind: "dump" as const,
    database: "app",
    bytes: 3,
    sha256: sha256("abc"),
  };

  it("accepts files that match their manifest entries", async () => {
    await expect(
      verifyChecksums({ dir, manifest: manifest({ files: [good] }) }),
    ).resolves.toBeUndefined();
  });

  it("names the file and both hashes on a mismatch", async () => {
    const wrong = { ...good, sha256: sha256("abd") };
    await expect(verifyChecksums({ dir, manifest: manifest({ files: [wrong] }) })).rejects.toThrow(
      new ChecksumError(
        `app.dump: sha256 mismatch: file has ${sha256("abc")}, manifest says ${sha256("abd")}`,
      ),
    );
  });

  it("refuses a missing file, a size mismatch and a path outside the backup", async () => {
    const check = (file: typeof good) =>
      verifyChecksums({ dir, manifest: manifest({ files: [good, file] }) });
    await expect(check({ ...good, path: "other.dump" })).rejects.toThrow(
      "other.dump: missing from the backup",
    );
    await expect(check({ ...good, bytes: 4 })).rejects.toThrow(
      "app.dump: size 3 bytes, manifest says 4",
    );
    await expect(check({ ...good, path: "../app.dump" })).rejects.toThrow(
      "manifest lists a file outside the backup: ../app.dump",
    );
    await expect(check({ ...good, path: "/etc/passwd" })).rejects.toThrow(
      "manifest lists a file outside the backup: /etc/passwd",
    );
  });
});

describe("findBackup", () => {
  it("accepts only backup ids as directory names", async () => {
    await expect(findBackup("/nonexistent", "p", "../../etc")).rejects.toThrow(
      'invalid backup id "../../etc"',
    );
    await expect(findBackup("/nonexistent", "p")).rejects.toThrow("no complete backup of policy p");
  });
});

describe("configs", () => {
  it("databaseRestore takes the CRD's task as it is, with runner defaults", () => {
    expectTypeOf<z.output<typeof DatabaseRestoreTask>>().toExtend<DatabaseRestoreInput>();
    const task = DatabaseRestoreTask.parse({
      backupPolicyRef: { name: "nightly" },
      target: { connectionSecretRef: { name: "db" }, database: "restored" },
    });
    expect(DatabaseRestoreConfig.parse(task)).toMatchObject({
      backupPolicyRef: { name: "nightly" },
      target: { database: "restored" },
      dropExisting: false,
      restoreGlobals: false,
      root: "/pake/backup",
      path: "/",
    });
    expect(validateTaskConfig("databaseRestore", task).valid).toBe(true);
  });

  it("refuses a storage path with .. segments and a bad scratch database name", () => {
    const base = { backupPolicyRef: { name: "p" }, target: { database: "d" } };
    expect(DatabaseRestoreConfig.safeParse({ ...base, path: "/a/../b" }).success).toBe(false);
    expect(DatabaseRestoreConfig.safeParse({ ...base, path: "relative" }).success).toBe(false);
    const policy = { namespace: "default", name: "p" };
    expect(BackupVerifyConfig.parse({ policy })).toMatchObject({
      compareRowCounts: true,
      path: "/",
    });
    const bad = validateTaskConfig("backupVerify", { policy, scratchDatabase: "Bad-Name" });
    expect(bad.valid).toBe(false);
    expect(bad.valid ? "" : bad.error).toMatch(/^invalid backupVerify config: scratchDatabase:/);
  });
});
