// The setup and helpers the BackupPolicy integration files share: a namespace,
// a volume directory behind the `backups` claim, the operator with the pod
// runner (startOperatorWithJobs), and kubectl/client helpers bound to that
// namespace. useBackupPolicyFixture registers the beforeAll/afterAll hooks of
// the file that calls it; the fields are set once beforeAll has run.
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { POLICY_LABEL } from "../../../src/controllers/backuppolicy/job-builder.ts";
import type { BackupPolicyStatus } from "../../../src/crds/backuppolicy.ts";
import { EventKind, JobKind } from "../../../src/lib/kinds.ts";
import { KubeClient, type KubeObject } from "../../../src/runtime/kube.ts";
import {
  createTestNamespace,
  createUriSecret,
  databaseUri,
  installCrds,
  sqlOn,
  startOperatorWithJobs,
  waitFor,
  type OperatorWithJobs,
  type SharedEnv,
} from "../../env/index.ts";

export interface BackupPolicyFixtureOptions {
  /** Prefix of the namespace, the operator's name and the volume directory. */
  prefix: string;
  /**
   * Creates the database `bp_<namespace>` with an `orders` table of 500 rows
   * and the Secret `pg` naming it, before the operator starts.
   */
  ordersDatabase?: boolean;
  /** More setup in the namespace before the operator starts (Secrets, databases). */
  beforeOperator?: (fixture: BackupPolicyFixture) => Promise<void>;
}

export interface JobView extends KubeObject {
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
}

export type EventView = KubeObject & {
  reason?: string;
  type?: string;
  message?: string;
  count?: number;
};

export interface BackupPolicyFixture {
  /** The test namespace (set in beforeAll). */
  ns: string;
  /** The orders database with ordersDatabase, else only its would-be name. */
  database: string;
  /** The directory behind the `backups` claim. */
  volume: string;
  client: KubeClient;
  jobs: OperatorWithJobs;
  sql: (db: string, text: string) => ReturnType<typeof sqlOn>;
  uriFor: (db: string, password?: string) => string;
  /** Creates a Secret `name` whose `uri` key is `uri`. */
  secret: (name: string, uri: string) => Promise<void>;
  /** kubectl apply of a pake.dev/v1alpha1 object in the namespace; kubectl says nothing on stderr. */
  apply: (doc: Record<string, unknown>) => Promise<void>;
  /** kubectl apply of a BackupPolicy, with pake.dev/backup-now set to `token` when given. */
  applyPolicy: (name: string, spec: Record<string, unknown>, token?: string) => Promise<void>;
  statusOf: (name: string) => Promise<BackupPolicyStatus>;
  /** Sets pake.dev/backup-now on the policy (kubectl annotate --overwrite). */
  backupNow: (name: string, token: string) => Promise<void>;
  /** Waits until lastBackup is a finished attempt of a Job not in `seen`, and adds it. */
  nextAttempt: (name: string, seen: Set<string>, timeoutMs?: number) => Promise<BackupPolicyStatus>;
  /** The policy's backup Jobs. */
  jobsOf: (name: string) => Promise<JobView[]>;
  /** The Events on `name` with this reason. */
  eventsOf: (name: string, reason: string) => Promise<EventView[]>;
  /** kubectl wait --for=condition=<condition> on the policy; the caller checks the result. */
  waitForCondition: (
    name: string,
    condition: string,
    timeout?: string,
  ) => ReturnType<SharedEnv["kubectl"]>;
}

/** The namespace, volume and operator of one BackupPolicy integration file. */
export function useBackupPolicyFixture(
  env: SharedEnv,
  options: BackupPolicyFixtureOptions,
): BackupPolicyFixture {
  const fixture = {} as BackupPolicyFixture;
  Object.assign(fixture, helpers(env, fixture));

  beforeAll(async () => {
    await installCrds(env);
    fixture.ns = await createTestNamespace(env, options.prefix);
    fixture.client = new KubeClient(env.kubeConfig());
    fixture.volume = mkdtempSync(join(env.runDir, `${options.prefix}-volume-`));
    fixture.database = `bp_${fixture.ns.replace(/-/g, "_")}`;
    if (options.ordersDatabase === true) await createOrdersDatabase(env, fixture);
    await options.beforeOperator?.(fixture);
    fixture.jobs = await startOperatorWithJobs(env, {
      name: `operator-${options.prefix}`,
      namespace: fixture.ns,
      volumes: { backups: fixture.volume },
    });
  });

  afterAll(async () => {
    await (fixture.jobs as OperatorWithJobs | undefined)?.stop();
  });

  return fixture;
}

async function createOrdersDatabase(env: SharedEnv, fixture: BackupPolicyFixture): Promise<void> {
  await fixture.sql(env.postgres.database, `CREATE DATABASE ${fixture.database}`);
  await fixture.sql(
    fixture.database,
    "CREATE TABLE orders (id int PRIMARY KEY, note text); " +
      "INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 500) g",
  );
  await fixture.secret("pg", fixture.uriFor(fixture.database));
}

type Helpers = Omit<BackupPolicyFixture, "ns" | "database" | "volume" | "client" | "jobs">;

/**
 * The helpers, closed over the fixture: they read its namespace and client
 * when called, so a file may destructure them before beforeAll has run.
 */
function helpers(env: SharedEnv, fx: BackupPolicyFixture): Helpers {
  const apply: Helpers["apply"] = async (doc) => {
    const name = (doc.metadata as { name: string }).name;
    const file = join(env.runDir, `${fx.ns}-${name}-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ apiVersion: "pake.dev/v1alpha1", ...doc }));
    const result = await env.kubectl("apply", "-n", fx.ns, "-f", file);
    expect(result.stderr).toBe("");
  };
  const statusOf: Helpers["statusOf"] = async (name) => {
    const r = await env.kubectl("get", "backuppolicy", name, "-n", fx.ns, "-o", "json");
    return (JSON.parse(r.stdout) as { status?: BackupPolicyStatus }).status ?? {};
  };
  return {
    sql: (db, text) => sqlOn(env, db, text),
    uriFor: (db, password) => databaseUri(env, db, password),
    secret: (name, uri) => createUriSecret(fx.client, { namespace: fx.ns, name }, uri),
    apply,
    applyPolicy(name, spec, token) {
      const annotations = token ? { annotations: { "pake.dev/backup-now": token } } : {};
      return apply({ kind: "BackupPolicy", metadata: { name, ...annotations }, spec });
    },
    statusOf,
    async backupNow(name, token) {
      const r = await env.kubectl(
        "annotate",
        "--overwrite",
        "backuppolicy",
        name,
        "-n",
        fx.ns,
        `pake.dev/backup-now=${token}`,
      );
      expect(r.code).toBe(0);
    },
    async nextAttempt(name, seen, timeoutMs = 90_000) {
      let status: BackupPolicyStatus = {};
      await waitFor(
        async () => {
          status = await statusOf(name);
          const last = status.lastBackup;
          return last?.job !== undefined && !seen.has(last.job) && status.active === undefined;
        },
        { what: `a new backup attempt of ${name}`, timeoutMs, intervalMs: 500 },
      );
      seen.add(status.lastBackup!.job!);
      return status;
    },
    async jobsOf(name) {
      const list = await fx.client.list<JobView>(JobKind, {
        namespace: fx.ns,
        labelSelector: `${POLICY_LABEL}=${name}`,
      });
      return list.items;
    },
    async eventsOf(name, reason) {
      const events = await fx.client.list<EventView>(EventKind, {
        namespace: fx.ns,
        fieldSelector: `involvedObject.name=${name}`,
      });
      return events.items.filter((e) => e.reason === reason);
    },
    waitForCondition: (name, condition, timeout = "90s") =>
      env.kubectl(
        "wait",
        `backuppolicy/${name}`,
        "-n",
        fx.ns,
        `--for=condition=${condition}`,
        `--timeout=${timeout}`,
      ),
  };
}
