import { describe, expect, it } from "vitest";
import type { HealthState } from "../../../src/crds/healthcheck.ts";
import { damp, initialDamping, type DampingThresholds } from "../../../src/health/damping.ts";

type Graded = Exclude<HealthState, "Unknown">;
const H = "Healthy";
const W = "Warning";
const C = "Critical";

function run(start: HealthState, raws: Graded[], t: DampingThresholds = {}): HealthState[] {
  let s = initialDamping(start);
  return raws.map((raw) => {
    s = damp(s, raw, t);
    return s.state;
  });
}

describe("Given flap damping with the defaults (failureThreshold 3, successThreshold 2)", () => {
  it.each<[string, HealthState, Graded[], HealthState[]]>([
    ["a new check adopts a healthy probe at once", "Unknown", [H], [H]],
    ["a new check adopts a warning probe at once", "Unknown", [W], [W]],
    [
      "a new check turns Critical only after 3 failures",
      "Unknown",
      [C, C, C],
      ["Unknown", "Unknown", C],
    ],
    ["one failure does not flip a healthy check", "Healthy", [C, H, C, H], [H, H, H, H]],
    ["three failures in a row do", "Healthy", [C, C, C], [H, H, C]],
    ["recovery needs two successes in a row", "Critical", [H, C, H, H], [C, C, C, H]],
    ["a mixed worse streak settles on its least bad state", "Healthy", [W, C, C], [H, H, W]],
    ["a mixed better streak settles on its worst state", "Critical", [H, W], [C, W]],
    ["a probe equal to the state resets the streak", "Healthy", [C, C, H, C, C], [H, H, H, H, H]],
    ["warnings are damped too", "Healthy", [W, W, W, H, H], [H, H, W, W, H]],
  ])("%s", (_name, start, raws, expected) => {
    expect(run(start, raws)).toEqual(expected);
  });
});

describe("Given custom thresholds", () => {
  it.each<[DampingThresholds, HealthState, Graded[], HealthState[]]>([
    [{ failureThreshold: 1 }, "Healthy", [C], [C]],
    [{ failureThreshold: 1, successThreshold: 1 }, "Critical", [H, C], [H, C]],
    [{ failureThreshold: 5 }, "Healthy", [C, C, C, C, C], [H, H, H, H, C]],
    [{ successThreshold: 3 }, "Critical", [H, H, H], [C, C, H]],
  ])("with %j from %s the states are as expected", (t, start, raws, expected) => {
    expect(run(start, raws, t)).toEqual(expected);
  });
});
