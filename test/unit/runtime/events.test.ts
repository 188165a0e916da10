import { describe, expect, it } from "vitest";
import { FakeClock } from "../../../src/runtime/clock.ts";
import { eventKey, eventName } from "../../../src/runtime/events.ts";
import type { KubeObject } from "../../../src/runtime/kube.ts";

const obj: KubeObject = {
  kind: "HealthCheck",
  metadata: { name: "db", namespace: "ns", uid: "u-1" },
};

describe("Given event identity", () => {
  it.each([
    [
      { type: "Warning", reason: "ProbeFailed", message: "timeout" },
      { type: "Warning", reason: "ProbeFailed", message: "timeout" },
      true,
    ],
    [
      { type: "Warning", reason: "ProbeFailed", message: "timeout" },
      { type: "Warning", reason: "ProbeFailed", message: "refused" },
      false,
    ],
    [
      { type: "Warning", reason: "ProbeFailed", message: "x" },
      { type: "Normal", reason: "ProbeFailed", message: "x" },
      false,
    ],
  ] as const)("When %j and %j are recorded, Then same key is %s", (a, b, same) => {
    expect(eventKey(obj, a) === eventKey(obj, b)).toBe(same);
  });

  it("When a name is derived, Then it is stable, DNS-safe and bounded", () => {
    const key = eventKey(obj, { type: "Normal", reason: "Created", message: "m" });
    const t = Date.UTC(2025, 0, 1);
    expect(eventName("db", key, t)).toBe(eventName("db", key, t));
    expect(eventName("db", key, t)).toMatch(/^db\.[0-9a-f]{8}[0-9a-f]+$/);
    expect(eventName("x".repeat(300), key, t).length).toBeLessThanOrEqual(253);
  });
});

describe("Given a fake clock", () => {
  it("When sleeping and advancing, Then sleepers wake in time order and aborts end sleeps early", async () => {
    const clock = new FakeClock(0);
    const woke: string[] = [];
    void clock.sleep(300).then(() => woke.push(`b@${clock.now()}`));
    void clock.sleep(100).then(() => woke.push(`a@${clock.now()}`));
    const abort = new AbortController();
    void clock.sleep(10_000, abort.signal).then(() => woke.push(`aborted@${clock.now()}`));
    await clock.advance(200);
    abort.abort();
    await clock.advance(200);
    expect(woke).toEqual(["a@100", "aborted@200", "b@300"]);
    expect(clock.pendingTimers()).toBe(0);
  });
});
