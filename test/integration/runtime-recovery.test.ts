// The informer's recovery, on private control planes:
// - one whose kube-apiserver serves ConfigMap watches straight from etcd (no
//   watch cache for them) and compacts etcd every 2 s, so an old
//   resourceVersion really expires: a watch resumed from a compacted
//   resourceVersion gets 410 Gone; the informer relists and converges,
//   including changes (and a delete) its watch never delivered;
// - one with default flags: across a kube-apiserver restart, values written
//   before the stop and after the restart all reach the cache, without the
//   test poking the informer.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startControlPlane, type ControlPlane } from "../env/index.ts";
import { Informer, clientNodeWatch, type WatchFn } from "../../src/runtime/informer.ts";
import { NamespaceKind } from "../../src/lib/kinds.ts";
import { KubeClient } from "../../src/runtime/kube.ts";
import { ConfigMapKind, configMap, metricValue } from "./runtime-support.ts";

function values(informer: Informer, ns: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const o of informer.list(ns)) {
    out[o.metadata.name ?? ""] = (o.data as Record<string, string>).v;
  }
  return out;
}

async function namespaceWith(client: KubeClient, ns: string, names: string[]): Promise<void> {
  await client.create(NamespaceKind, { metadata: { name: ns } });
  for (const name of names) await client.create(ConfigMapKind, configMap(ns, name, { v: "0" }));
}

const relists = () => metricValue("pake_informer_relists_total", { resource: "configmaps" });

describe("Given an informer whose watch missed events", () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane({
      controllerManager: false,
      apiServerArgs: ["--watch-cache-sizes=configmaps#0", "--etcd-compaction-interval=2s"],
    });
  }, 180_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it("When its watch resumes from a compacted resourceVersion (410 Gone), Then it relists and converges", async () => {
    const kc = cp.kubeConfig();
    const client = new KubeClient(kc);
    const ns = "gone";
    await namespaceWith(client, ns, ["keep", "change", "remove"]);
    // A watch that can be told to drop every event, like a connection that
    // lost them: the cache (and the informer's resourceVersion) go stale.
    let dropping = false;
    const real = clientNodeWatch(kc, 600_000);
    const lossy: WatchFn = (req) =>
      real({
        ...req,
        onEvent: (type, obj) => (dropping && type !== "ERROR" ? undefined : req.onEvent(type, obj)),
      });
    const informer = new Informer({
      kubeConfig: kc,
      kind: ConfigMapKind,
      namespaces: [ns],
      watch: lossy,
    });
    const deleted: string[] = [];
    informer.on({ delete: (o) => deleted.push(o.metadata.name ?? "") });
    await informer.start();
    try {
      await informer.waitForSync();
      const relistsBefore = await relists();
      dropping = true;
      for (let i = 1; i <= 30; i++) {
        await client.patch(
          ConfigMapKind,
          { namespace: ns, name: "change" },
          { data: { v: String(i) } },
        );
      }
      await client.delete(ConfigMapKind, { namespace: ns, name: "remove" });
      await client.create(ConfigMapKind, configMap(ns, "added", { v: "new" }));
      await new Promise((r) => setTimeout(r, 6_000)); // > 2 compaction intervals
      expect(values(informer, ns)).toEqual({ keep: "0", change: "0", remove: "0" }); // stale

      dropping = false;
      informer.restartWatches(); // resumes from its last (now compacted) resourceVersion
      await vi.waitFor(
        () => expect(values(informer, ns)).toEqual({ keep: "0", change: "30", added: "new" }),
        { timeout: 15_000 },
      );
      expect(deleted).toEqual(["remove"]);
      expect(await relists()).toBe(relistsBefore + 1);
      expect(
        await metricValue("pake_informer_watch_restarts_total", {
          resource: "configmaps",
          reason: "expired",
        }),
      ).toBeGreaterThan(0);

      // The new watch works: a later update arrives without another relist.
      await client.patch(ConfigMapKind, { namespace: ns, name: "keep" }, { data: { v: "later" } });
      await vi.waitFor(() => expect(values(informer, ns).keep).toBe("later"), { timeout: 10_000 });
      expect(await relists()).toBe(relistsBefore + 1);
    } finally {
      await informer.stop();
    }
  }, 60_000);
});

describe("Given an informer across a kube-apiserver restart", () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane({ controllerManager: false });
  }, 180_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it("When values are written before the stop and after the restart, Then the cache converges to every final value", async () => {
    const kc = cp.kubeConfig();
    const client = new KubeClient(kc);
    const ns = "restart";
    await namespaceWith(client, ns, ["a", "b", "c"]);
    const informer = new Informer({
      kubeConfig: kc,
      kind: ConfigMapKind,
      namespaces: [ns],
      backoff: { initialMs: 200, maxMs: 2_000 },
    });
    await informer.start();
    try {
      await informer.waitForSync();
      await client.patch(
        ConfigMapKind,
        { namespace: ns, name: "a" },
        { data: { v: "before-stop" } },
      );
      await vi.waitFor(() => expect(values(informer, ns).a).toBe("before-stop"), {
        timeout: 10_000,
      });

      await cp.stopApiServer();
      await new Promise((r) => setTimeout(r, 2_000)); // the informer fails and backs off meanwhile
      await cp.startApiServer();

      // Written right after the restart, possibly before the watch is back.
      await client.patch(
        ConfigMapKind,
        { namespace: ns, name: "a" },
        { data: { v: "after-restart" } },
      );
      await client.delete(ConfigMapKind, { namespace: ns, name: "b" });
      await client.create(ConfigMapKind, configMap(ns, "d", { v: "new" }));
      for (let i = 1; i <= 10; i++) {
        await client.patch(ConfigMapKind, { namespace: ns, name: "c" }, { data: { v: `c${i}` } });
      }
      await vi.waitFor(
        () => expect(values(informer, ns)).toEqual({ a: "after-restart", c: "c10", d: "new" }),
        { timeout: 30_000, interval: 200 },
      );
      // And it keeps following after recovery.
      await client.patch(ConfigMapKind, { namespace: ns, name: "d" }, { data: { v: "latest" } });
      await vi.waitFor(() => expect(values(informer, ns).d).toBe("latest"), { timeout: 10_000 });
    } finally {
      await informer.stop();
    }
  }, 150_000);
});
