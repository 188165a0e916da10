import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { FakeClock, flushPromises } from "../../../src/runtime/clock.ts";
import { KubeApiError } from "../../../src/runtime/errors.ts";
import {
  Informer,
  diffForReplace,
  watchErrorResult,
  type WatchFn,
} from "../../../src/runtime/informer.ts";
import { ConfigMapKind as ConfigMap } from "../../../src/lib/kinds.ts";
import type { KubeClient, KubeList, KubeObject } from "../../../src/runtime/kube.ts";
import { formatTime, normalizeObject } from "../../../src/runtime/normalize.ts";

function cm(name: string, rv: string, data: Record<string, string> = {}, ns = "ns"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: ns, resourceVersion: rv },
    data,
  };
}

describe("Given objects from a list (Date timestamps) and from a watch (strings)", () => {
  it("When normalised, Then they are identical", () => {
    const fromList = {
      metadata: {
        name: "a",
        namespace: "ns",
        creationTimestamp: new Date("2025-03-04T05:06:07Z"),
        managedFields: [{ time: new Date("2025-03-04T05:06:08Z") }],
      },
      status: { lastProbeTime: new Date("2025-03-04T05:06:09.250Z") },
    } as unknown as KubeObject;
    const fromWatch: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "a",
        namespace: "ns",
        creationTimestamp: "2025-03-04T05:06:07Z",
        managedFields: [{ time: "2025-03-04T05:06:08Z" }],
      },
      status: { lastProbeTime: "2025-03-04T05:06:09.250Z" },
    };
    expect(normalizeObject(fromList, ConfigMap)).toEqual(normalizeObject(fromWatch, ConfigMap));
  });

  it.each([
    [new Date("2025-01-01T00:00:00.000Z"), "2025-01-01T00:00:00Z"],
    [new Date("2025-01-01T00:00:00.120Z"), "2025-01-01T00:00:00.120Z"],
    [Date.UTC(2030, 11, 31, 23, 59, 59), "2030-12-31T23:59:59Z"],
  ])("When %s is formatted, Then it reads %s", (input, expected) => {
    expect(formatTime(input)).toBe(expected);
  });
});

describe("Given a watch ERROR event", () => {
  it.each([
    [
      { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" },
      "expired",
    ],
    [{ kind: "Status", code: 410, reason: "Gone" }, "expired"],
    [{ kind: "Status", reason: "Expired" }, "expired"],
    [{ kind: "Status", code: 500, reason: "InternalError" }, "error"],
    [undefined, "error"],
  ])("When the status is %j, Then the result is %s", (status, kind) => {
    expect(watchErrorResult(status).kind).toBe(kind);
  });
});

describe("Given a cache and a fresh list", () => {
  it("When diffed, Then adds, changed resourceVersions and removals are found", () => {
    const current = new Map([
      ["ns/same", cm("same", "1")],
      ["ns/changed", cm("changed", "2")],
      ["ns/gone", cm("gone", "3")],
    ]);
    const listed = new Map([
      ["ns/same", cm("same", "1")],
      ["ns/changed", cm("changed", "5")],
      ["ns/new", cm("new", "6")],
    ]);
    const d = diffForReplace(current, listed);
    expect(d.added.map((o) => o.metadata.name)).toEqual(["new"]);
    expect(
      d.updated.map(([o, n]) => [o.metadata.resourceVersion, n.metadata.resourceVersion]),
    ).toEqual([["2", "5"]]);
    expect(d.deleted.map((o) => o.metadata.name)).toEqual(["gone"]);
  });
});

/** A scripted API: list answers from `items`, watches are recorded for the test to drive. */
function fakeApi() {
  const state = {
    items: [] as KubeObject[],
    listRv: "10",
    listError: undefined as Error | undefined,
    lists: 0,
    watches: [] as Array<{
      query: Record<string, unknown>;
      onEvent: (type: string, obj: unknown) => void;
      onDone: (err: unknown) => void;
      aborted: boolean;
    }>,
  };
  const client = {
    list: (): Promise<KubeList> => {
      state.lists++;
      if (state.listError) return Promise.reject(state.listError);
      return Promise.resolve({
        metadata: { resourceVersion: state.listRv },
        items: structuredClone(state.items),
      });
    },
  } as unknown as KubeClient;
  const watch: WatchFn = ({ query, onEvent, onDone }) => {
    const w = { query, onEvent, onDone, aborted: false };
    state.watches.push(w);
    return Promise.resolve({ abort: () => (w.aborted = true) });
  };
  return { state, client, watch, last: () => state.watches[state.watches.length - 1]! };
}

function startInformer(api: ReturnType<typeof fakeApi>, clock: FakeClock) {
  const informer = new Informer({
    kubeConfig: new KubeConfig(),
    kind: ConfigMap,
    namespaces: ["ns"],
    client: api.client,
    watch: api.watch,
    clock,
    random: () => 0,
    timeoutSeconds: 60,
    watchdogMarginMs: 5000,
  });
  const seen: string[] = [];
  informer.on({
    add: (o) => seen.push(`add ${o.metadata.name}`),
    update: (o, n) =>
      seen.push(
        `update ${n.metadata.name} ${o.metadata.resourceVersion}->${n.metadata.resourceVersion}`,
      ),
    delete: (o) => seen.push(`delete ${o.metadata.name}`),
  });
  return { informer, seen };
}

describe("Given an informer on a scripted API", () => {
  it("When it lists and watches, Then the cache follows events and the watch starts at the list's resourceVersion", async () => {
    const clock = new FakeClock();
    const api = fakeApi();
    api.state.items = [cm("a", "5", { v: "1" })];
    const { informer, seen } = startInformer(api, clock);
    await informer.start();
    await flushPromises();
    expect(informer.hasSynced()).toBe(true);
    expect(api.last().query).toMatchObject({
      resourceVersion: "10",
      allowWatchBookmarks: true,
      timeoutSeconds: 60,
    });
    api.last().onEvent("ADDED", cm("b", "11"));
    api.last().onEvent("MODIFIED", cm("a", "12", { v: "2" }));
    api.last().onEvent("BOOKMARK", { metadata: { resourceVersion: "13" } });
    api.last().onEvent("DELETED", cm("b", "14"));
    expect(seen).toEqual(["add a", "add b", "update a 5->12", "delete b"]);
    expect(informer.get("ns", "a")?.data).toEqual({ v: "2" });
    expect(informer.list().map((o) => o.metadata.name)).toEqual(["a"]);
    api.last().onDone(null); // server closed at timeoutSeconds
    await clock.advance(1000);
    expect(api.state.lists).toBe(1);
    expect(api.last().query.resourceVersion).toBe("14");
    await informer.stop();
  });

  it.each([
    [
      "an ERROR event with code 410",
      (w: { onEvent: (t: string, o: unknown) => void }) =>
        w.onEvent("ERROR", { kind: "Status", code: 410, reason: "Expired" }),
    ],
    [
      "an HTTP 410",
      (w: { onDone: (e: unknown) => void }) => w.onDone(new KubeApiError(410, undefined)),
    ],
  ])(
    "When the watch ends with %s, Then it relists and emits the differences",
    async (_name, end) => {
      const clock = new FakeClock();
      const api = fakeApi();
      api.state.items = [cm("a", "5"), cm("b", "6")];
      const { informer, seen } = startInformer(api, clock);
      await informer.start();
      await flushPromises();
      api.state.items = [cm("a", "20", { v: "x" }), cm("c", "21")];
      api.state.listRv = "22";
      end(api.last());
      await flushPromises();
      expect(api.state.lists).toBe(2);
      expect(seen).toEqual(["add a", "add b", "delete b", "add c", "update a 5->20"]);
      expect(api.last().query.resourceVersion).toBe("22");
      await informer.stop();
    },
  );

  it("When the API keeps failing, Then it retries with growing back-off and never stops", async () => {
    const clock = new FakeClock();
    const api = fakeApi();
    api.state.listError = new Error("connect ECONNREFUSED");
    const { informer } = startInformer(api, clock);
    await informer.start();
    await flushPromises();
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = api.state.lists;
      const start = clock.now();
      while (api.state.lists === before) await clock.advance(100);
      times.push(clock.now() - start);
    }
    expect(times).toEqual([800, 1600, 3200, 6400, 12800, 25600]);
    api.state.listError = undefined;
    await clock.advance(30_000);
    expect(informer.hasSynced()).toBe(true);
    await informer.stop();
  });

  it("When a handler throws or rejects, Then the informer carries on", async () => {
    const clock = new FakeClock();
    const api = fakeApi();
    const { informer, seen } = startInformer(api, clock);
    informer.on({ add: () => Promise.reject(new Error("async boom")) });
    informer.on({
      add: () => {
        throw new Error("boom");
      },
    });
    await informer.start();
    await flushPromises();
    api.last().onEvent("ADDED", cm("a", "11"));
    api.last().onEvent("ADDED", cm("b", "12"));
    await flushPromises();
    expect(seen).toEqual(["add a", "add b"]);
    await informer.stop();
  });

  it("When the watch stays silent past its timeout plus margin, Then the watchdog restarts it", async () => {
    const clock = new FakeClock();
    const api = fakeApi();
    const { informer } = startInformer(api, clock);
    await informer.start();
    await flushPromises();
    const first = api.last();
    await clock.advance(60_000 + 4_000);
    first.onEvent("BOOKMARK", { metadata: { resourceVersion: "30" } }); // activity re-arms it
    await clock.advance(60_000 + 4_000);
    expect(first.aborted).toBe(false);
    await clock.advance(1_000);
    expect(first.aborted).toBe(true);
    expect(api.state.watches).toHaveLength(2);
    expect(api.last().query.resourceVersion).toBe("30");
    expect(api.state.lists).toBe(1);
    await informer.stop();
  });
});
