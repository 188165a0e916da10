// Where the harness finds its binaries: the PAKE_* variables that
// tools/toolchain.sh writes (the Makefile sources them), else that script's
// env file in the default cache, so `npx vitest` works too.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface Toolchain {
  k8sVersion: string;
  k8sBin: string;
  helmBin: string;
  pgBin: string;
  redisBin: string;
  /** A PostgreSQL 17 server's bin directory (initdb, postgres), newer than pgBin's pg_dump. */
  pg17Bin: string | undefined;
}

function envFileVars(): Record<string, string> {
  const cache =
    process.env.PAKE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "pake-operator");
  const file = join(cache, "env.sh");
  if (!existsSync(file)) return {};
  const vars: Record<string, string> = {};
  for (const m of readFileSync(file, "utf8").matchAll(/^export (PAKE_\w+)='([^']*)'$/gm)) {
    vars[m[1]!] = m[2]!;
  }
  return vars;
}

let cached: Toolchain | undefined;

export function toolchain(): Toolchain {
  if (cached) return cached;
  const file = envFileVars();
  const get = (name: string): string => {
    const value = process.env[name] ?? file[name];
    if (!value) {
      throw new Error(`${name} is not set: run 'make toolchain' (tools/toolchain.sh) first`);
    }
    return value;
  };
  cached = {
    k8sVersion: get("PAKE_K8S_VERSION"),
    k8sBin: get("PAKE_K8S_BIN"),
    helmBin: get("PAKE_HELM_BIN"),
    pgBin: get("PAKE_PG_BIN"),
    redisBin: get("PAKE_REDIS_BIN"),
    pg17Bin: process.env.PAKE_PG17_BIN ?? file.PAKE_PG17_BIN,
  };
  return cached;
}
