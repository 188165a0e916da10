// Helpers for tests that give the operator databases of the shared
// PostgreSQL: a URI per database, one-off SQL, and a connection Secret.
import pg from "pg";
import { SecretKind } from "../../src/lib/kinds.ts";
import type { KubeClient } from "../../src/runtime/kube.ts";
import type { SharedEnvInfo } from "./shared.ts";

/** The shared server's URI for database `db` (optionally with another password). */
export function databaseUri(env: SharedEnvInfo, db: string, password?: string): string {
  const url = new URL(env.postgres.uri);
  url.pathname = `/${db}`;
  url.password = password ?? env.postgres.password;
  return url.toString();
}

/** Runs one statement (or several, without parameters) on database `db`. */
export async function sqlOn(env: SharedEnvInfo, db: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: databaseUri(env, db) });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/** A Secret with one key, `uri`: how BackupPolicies and restore tasks name a server. */
export async function createUriSecret(
  client: KubeClient,
  ref: { namespace: string; name: string },
  uri: string,
): Promise<void> {
  await client.create(SecretKind, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: ref.name, namespace: ref.namespace },
    stringData: { uri },
  });
}
