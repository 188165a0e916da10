import { describe, expect, it } from "vitest";
import {
  ConditionReason,
  ConditionType,
  getCondition,
  setCondition,
  summarizeReady,
  type ConditionInput,
  type StatusWithConditions,
} from "../../../src/runtime/conditions.ts";

const T0 = Date.UTC(2025, 0, 1, 0, 0, 0);
const T1 = T0 + 60_000;
const T0s = "2025-01-01T00:00:00Z";
const T1s = "2025-01-01T00:01:00Z";

function ready(status: "True" | "False" | "Unknown", reason: string, message = ""): ConditionInput {
  return { type: ConditionType.Ready, status, reason, message };
}

describe("Given a status without conditions", () => {
  it("When a condition is set, Then it is added with the transition time and observedGeneration", () => {
    const status: StatusWithConditions = {};
    expect(setCondition(status, ready("True", ConditionReason.ReconcileSucceeded), 3, T0)).toBe(
      true,
    );
    expect(status).toEqual({
      observedGeneration: 3,
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "ReconcileSucceeded",
          message: "",
          lastTransitionTime: T0s,
          observedGeneration: 3,
        },
      ],
    });
  });
});

describe("Given a status with Ready=True set at T0 for generation 1", () => {
  it.each([
    {
      when: "the same condition is set again",
      input: ready("True", "ReconcileSucceeded"),
      generation: 1,
      changed: false,
      transition: T0s,
    },
    {
      when: "only the message changes",
      input: ready("True", "ReconcileSucceeded", "now with details"),
      generation: 1,
      changed: true,
      transition: T0s,
    },
    {
      when: "only the reason changes",
      input: ready("True", "AllConditionsMet"),
      generation: 1,
      changed: true,
      transition: T0s,
    },
    {
      when: "only the generation changes",
      input: ready("True", "ReconcileSucceeded"),
      generation: 2,
      changed: true,
      transition: T0s,
    },
    {
      when: "the status flips to False",
      input: ready("False", "ReconcileError", "boom"),
      generation: 1,
      changed: true,
      transition: T1s,
    },
    {
      when: "the status flips to Unknown",
      input: ready("Unknown", "Pending"),
      generation: 1,
      changed: true,
      transition: T1s,
    },
  ])("When $when at T1, Then changed=$changed and lastTransitionTime=$transition", (c) => {
    const status: StatusWithConditions = {};
    setCondition(status, ready("True", "ReconcileSucceeded"), 1, T0);
    expect(setCondition(status, c.input, c.generation, T1)).toBe(c.changed);
    const cond = getCondition(status, "Ready");
    expect(cond?.lastTransitionTime).toBe(c.transition);
    expect(cond?.observedGeneration).toBe(c.generation);
    expect(status.observedGeneration).toBe(c.generation);
    expect(status.conditions).toHaveLength(1);
  });

  it("When a very long message is set, Then it is truncated", () => {
    const status: StatusWithConditions = {};
    setCondition(status, ready("False", "ReconcileError", "x".repeat(5000)), 1, T0);
    expect(getCondition(status, "Ready")?.message.length).toBe(1024);
  });
});

describe("Given dependent conditions", () => {
  it.each([
    { healthy: "True", reconciled: "True", expected: ["True", "AllConditionsMet"] },
    { healthy: "False", reconciled: "True", expected: ["False", "ProbeFailed"] },
    { healthy: undefined, reconciled: "True", expected: ["Unknown", "Pending"] },
    { healthy: "True", reconciled: "Unknown", expected: ["Unknown", "Pending"] },
  ])(
    "When Healthy=$healthy and Reconciled=$reconciled, Then Ready is $expected",
    ({ healthy, reconciled, expected }) => {
      const status: StatusWithConditions = {};
      if (healthy) {
        setCondition(
          status,
          {
            type: "Healthy",
            status: healthy as "True",
            reason: healthy === "True" ? "ProbeSucceeded" : "ProbeFailed",
          },
          1,
          T0,
        );
      }
      setCondition(
        status,
        { type: "Reconciled", status: reconciled as "True", reason: "Pending" },
        1,
        T0,
      );
      summarizeReady(status, ["Healthy", "Reconciled"], 1, T1);
      const r = getCondition(status, "Ready");
      expect([r?.status, r?.reason]).toEqual(expected);
    },
  );
});
