// A BackupPolicy's spec.suppressIncidentsFor on the real control plane,
// through the pod runner: while its backup runs (held by a session that
// locks a table the dump reads), a named Critical HealthCheck opens no
// Incident and its status names the backup's Job; once the backup is done,
// the still-Critical check opens its Incident.
import pg from "pg";
import { describe, expect, it } from "vitest";
import { healthCheckDescriptor } from "../../src/crds/healthcheck.ts";
import { incidentDescriptor } from "../../src/crds/incident.ts";
import type { KubeObject } from "../../src/runtime/kube.ts";
import { databaseUri, freePort, useSharedEnv, waitFor } from "../env/index.ts";
import { useBackupPolicyFixture } from "./support/backuppolicy.ts";

const env = useSharedEnv();
const bp = useBackupPolicyFixture(env, { prefix: "bp-suppress", ordersDatabase: true });

type Check = KubeObject & { status?: { state?: string; suppressedBy?: string } };

async function check(): Promise<Check> {
  return bp.client.get<Check>(healthCheckDescriptor, { namespace: bp.ns, name: "postgres" });
}

async function incidents(): Promise<KubeObject[]> {
  const list = await bp.client.list(incidentDescriptor, {
    namespace: bp.ns,
    labelSelector: "pake.dev/source-name=postgres",
  });
  return list.items;
}

describe("Given a BackupPolicy whose backup runs while the HealthCheck it names is Critical", () => {
  it("Then the check opens no Incident and names the backup's Job; after the backup, it opens one", async () => {
    // A port nobody listens on: the check is Critical at once.
    const closedPort = await freePort();
    const locker = new pg.Client({ connectionString: databaseUri(env, bp.database) });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE");
      await bp.applyPolicy(
        "nightly",
        {
          database: { connectionSecretRef: { name: "pg" } },
          schedule: "0 1 * * *",
          storage: { persistentVolumeClaim: { claimName: "backups" } },
          suppressIncidentsFor: ["postgres"],
        },
        "hold",
      );
      // The backup is running (held by the lock) before the check first turns Critical.
      await waitFor(async () => ((await bp.statusOf("nightly")).active ?? []).length > 0, {
        what: "the backup to run",
        timeoutMs: 60_000,
      });
      await bp.apply({
        kind: "HealthCheck",
        metadata: { name: "postgres" },
        spec: {
          interval: "1s",
          timeout: "500ms",
          failureThreshold: 1,
          target: { tcp: { host: "127.0.0.1", port: closedPort } },
          incident: { enabled: true, severity: "high", autoResolve: true },
        },
      });
      let suppressed: Check | undefined;
      await waitFor(
        async () => {
          suppressed = await check();
          return suppressed.status?.state === "Critical" && !!suppressed.status.suppressedBy;
        },
        { what: "postgres Critical and suppressed by the backup", timeoutMs: 60_000 },
      );
      expect(suppressed?.status?.suppressedBy).toMatch(/^BackupPolicy nightly \(Job nightly-/);
      // Critical for several probes, and still no Incident.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(await incidents()).toEqual([]);

      await locker.query("COMMIT");
      await waitFor(async () => (await incidents()).length === 1, {
        what: "the Incident once the backup is done",
        timeoutMs: 90_000,
      });
      await waitFor(async () => (await check()).status?.suppressedBy === undefined, {
        what: "suppressedBy cleared",
        timeoutMs: 30_000,
      });
      expect((await bp.statusOf("nightly")).lastBackup?.result).toBe("Succeeded");
    } finally {
      await locker.end();
    }
  });
});
