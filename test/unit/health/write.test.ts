import { describe, expect, it } from "vitest";
import {
  shouldWriteStatus,
  writtenStatus,
  type WriteCandidate,
} from "../../../src/health/write.ts";

const T0 = Date.UTC(2025, 0, 1);
const base: WriteCandidate = {
  state: "Healthy",
  message: "PostgreSQL primary is reachable",
  metrics: [
    { name: "queryTimeMs", state: "Healthy" },
    { name: "connectionsPercent", state: "Healthy" },
  ],
};
const last = writtenStatus(base, T0);

describe("Given the status write decision", () => {
  it("writes the first status", () => {
    expect(shouldWriteStatus(undefined, base, T0)).toEqual({ write: true, reasons: ["first"] });
  });

  it.each<[string, Partial<WriteCandidate>, number, string[]]>([
    ["nothing changed within the interval", {}, 30_000, []],
    ["nothing changed, interval reached", {}, 60_000, ["interval"]],
    ["the state changed", { state: "Warning" }, 1_000, ["state"]],
    ["the message changed", { message: "PostgreSQL replica is reachable" }, 1_000, ["message"]],
    [
      "a metric's state changed",
      {
        metrics: [
          { name: "queryTimeMs", state: "Critical" },
          { name: "connectionsPercent", state: "Healthy" },
        ],
      },
      1_000,
      ["metric queryTimeMs"],
    ],
    [
      "a metric disappeared",
      { metrics: [{ name: "queryTimeMs", state: "Healthy" }] },
      1_000,
      ["metric connectionsPercent"],
    ],
    [
      "state and message changed",
      { state: "Critical", message: "Could not connect" },
      1_000,
      ["state", "message"],
    ],
  ])("when %s it decides %j", (_name, change, after, reasons) => {
    expect(shouldWriteStatus(last, { ...base, ...change }, T0 + after)).toEqual({
      write: reasons.length > 0,
      reasons,
    });
  });

  it("honours a configured interval", () => {
    expect(shouldWriteStatus(last, base, T0 + 10_000, 10_000).write).toBe(true);
    expect(shouldWriteStatus(last, base, T0 + 9_999, 10_000).write).toBe(false);
  });
});
