// The informer against the real kube-apiserver (shared control plane): the
// cache follows creates, updates and deletes, with namespace and label
// scoping. Recovery (410 Gone, API server restart) is in runtime-recovery.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createTestNamespace, useSharedEnv } from "../env/index.ts";
import { Informer } from "../../src/runtime/informer.ts";
import { KubeClient, type KubeObject } from "../../src/runtime/kube.ts";
import { ConfigMapKind, configMap, metricValue } from "./runtime-support.ts";

const env = useSharedEnv();
const started: Informer[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((i) => i.stop()));
});

// kube-controller-manager publishes this ConfigMap into every namespace.
const ROOT_CA = "kube-root-ca.crt";

function dataOf(informer: Informer, ns: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const o of informer.list(ns).filter((x) => x.metadata.name !== ROOT_CA))
    out[o.metadata.name ?? ""] = (o.data as Record<string, string>).v;
  return out;
}

describe("Given an informer on ConfigMaps of one namespace", () => {
  it("When objects are created, updated and deleted, Then the cache and handlers follow", async () => {
    const kc = env.kubeConfig();
    const client = new KubeClient(kc);
    const ns = await createTestNamespace(env, "rt-inf");
    const other = await createTestNamespace(env, "rt-inf");
    await client.create(ConfigMapKind, configMap(ns, "pre", { v: "0" }));
    await client.create(ConfigMapKind, configMap(other, "elsewhere", { v: "x" }));
    const informer = new Informer({ kubeConfig: kc, kind: ConfigMapKind, namespaces: [ns] });
    started.push(informer);
    const seen: string[] = [];
    informer.on({
      add: (o) => o.metadata.name !== ROOT_CA && seen.push(`add ${o.metadata.name}`),
      update: (_o, n) => n.metadata.name !== ROOT_CA && seen.push(`update ${n.metadata.name}`),
      delete: (o) => seen.push(`delete ${o.metadata.name}`),
    });
    await informer.start();
    expect(await informer.waitForSync()).toBe(true);
    expect(informer.get(ns, "pre")?.metadata.creationTimestamp).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    expect(informer.get(ns, "pre")?.kind).toBe("ConfigMap");

    await client.create(ConfigMapKind, configMap(ns, "a", { v: "1" }));
    await client.patch(ConfigMapKind, { namespace: ns, name: "a" }, { data: { v: "2" } });
    await client.delete(ConfigMapKind, { namespace: ns, name: "pre" });
    await vi.waitFor(() => expect(dataOf(informer, ns)).toEqual({ a: "2" }), { timeout: 10_000 });
    expect(seen).toEqual(["add pre", "add a", "update a", "delete pre"]);
    expect(informer.get(other, "elsewhere")).toBeUndefined();
  });

  it("When a label selector is set, Then objects that stop matching leave the cache", async () => {
    const kc = env.kubeConfig();
    const client = new KubeClient(kc);
    const ns = await createTestNamespace(env, "rt-inf");
    const informer = new Informer({
      kubeConfig: kc,
      kind: ConfigMapKind,
      namespaces: [ns],
      labelSelector: "pick=yes",
    });
    started.push(informer);
    await informer.start();
    await informer.waitForSync();
    const labelled = (pick: string): KubeObject => ({
      metadata: { namespace: ns, name: "l", labels: { pick } },
      data: { v: "1" },
    });
    await client.create(ConfigMapKind, labelled("yes"));
    await client.create(ConfigMapKind, { ...configMap(ns, "unlabelled", { v: "1" }) });
    await vi.waitFor(() => expect(informer.keys()).toEqual([`${ns}/l`]), { timeout: 10_000 });
    await client.patch(
      ConfigMapKind,
      { namespace: ns, name: "l" },
      { metadata: { labels: { pick: "no" } } },
    );
    await vi.waitFor(() => expect(informer.keys()).toEqual([]), { timeout: 10_000 });
  });
});

describe("Given an informer with a 1 s server-side watch timeout", () => {
  it("When the server closes its watches, Then it resumes them without relisting and misses nothing", async () => {
    const kc = env.kubeConfig();
    const client = new KubeClient(kc);
    const ns = await createTestNamespace(env, "rt-inf");
    const informer = new Informer({
      kubeConfig: kc,
      kind: ConfigMapKind,
      namespaces: [ns],
      timeoutSeconds: 1,
    });
    started.push(informer);
    await informer.start();
    await informer.waitForSync();
    const relists = await metricValue("pake_informer_relists_total", { resource: "configmaps" });
    const closed = await metricValue("pake_informer_watch_restarts_total", {
      resource: "configmaps",
      reason: "closed",
    });
    await client.create(ConfigMapKind, configMap(ns, "a", { v: "0" }));
    for (let i = 1; i <= 8; i++) {
      await new Promise((r) => setTimeout(r, 400));
      await client.patch(ConfigMapKind, { namespace: ns, name: "a" }, { data: { v: String(i) } });
    }
    await vi.waitFor(() => expect(dataOf(informer, ns)).toEqual({ a: "8" }), { timeout: 10_000 });
    expect(
      await metricValue("pake_informer_watch_restarts_total", {
        resource: "configmaps",
        reason: "closed",
      }),
    ).toBeGreaterThanOrEqual(closed + 2);
    expect(await metricValue("pake_informer_relists_total", { resource: "configmaps" })).toBe(
      relists,
    );
  });
});
