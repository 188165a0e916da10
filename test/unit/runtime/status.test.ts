import { describe, expect, it } from "vitest";
import { setCondition, type StatusWithConditions } from "../../../src/runtime/conditions.ts";
import type { KubeObject } from "../../../src/runtime/kube.ts";
import { computeStatus, deepEqual } from "../../../src/runtime/status.ts";

const obj: KubeObject = {
  apiVersion: "pake.dev/v1alpha1",
  kind: "HealthCheck",
  metadata: { name: "a", namespace: "ns", generation: 2, resourceVersion: "7" },
  status: {
    observedGeneration: 2,
    state: "Healthy",
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "AllConditionsMet",
        message: "",
        lastTransitionTime: "2025-01-01T00:00:00Z",
        observedGeneration: 2,
      },
    ],
  },
};

describe("Given deepEqual", () => {
  it.each([
    [{ a: 1, b: [1, { c: "x" }] }, { b: [1, { c: "x" }], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, true],
    [{ a: 1 }, { a: 2 }, false],
    [[1, 2], [2, 1], false],
    [{ a: [] }, { a: {} }, false],
    [null, {}, false],
    ["1", 1, false],
  ])("When comparing %j and %j, Then equal is %s", (a, b, expected) => {
    expect(deepEqual(a, b)).toBe(expected);
  });
});

describe("Given an object with status", () => {
  it.each([
    {
      when: "a mutator rewrites the same values",
      mutate: (s: StatusWithConditions) => {
        s.state = "Healthy";
        setCondition(
          s,
          { type: "Ready", status: "True", reason: "AllConditionsMet" },
          2,
          Date.UTC(2025, 5, 1),
        );
      },
      changed: false,
    },
    {
      when: "a mutator changes a field",
      mutate: (s: StatusWithConditions) => {
        s.state = "Critical";
      },
      changed: true,
    },
    {
      when: "a mutator returns a replacement",
      mutate: () => ({ state: "Unknown" }),
      changed: true,
    },
    { when: "no mutator does anything", mutate: () => undefined, changed: false },
  ])(
    "When $when, Then changed is $changed and the original is untouched",
    ({ mutate, changed }) => {
      const before = structuredClone(obj);
      const result = computeStatus<StatusWithConditions, KubeObject>(obj, [mutate]);
      expect(result.changed).toBe(changed);
      expect(obj).toEqual(before);
    },
  );

  it("When several mutators run, Then they apply in order on one copy", () => {
    const { status } = computeStatus<StatusWithConditions, KubeObject>(obj, [
      (s) => {
        s.state = "Warning";
      },
      (s, o) => {
        s.message = `${String(s.state)} at generation ${o.metadata.generation}`;
      },
    ]);
    expect(status.message).toBe("Warning at generation 2");
  });
});
