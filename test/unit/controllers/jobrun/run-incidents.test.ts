import { describe, expect, it } from "vitest";
import {
  applyIncidentRef,
  confirmedIncidentStep,
  followIncidentStep,
  incidentStep,
  newestOutcome,
  recordOutcome,
  runIncidentDecision,
  type IncidentCalls,
  type IncidentLevel,
  type IncidentStep,
  type RunOutcome,
} from "../../../../src/controllers/jobrun/run-incidents.ts";
import type { RunRecord } from "../../../../src/controllers/jobrun/types.ts";

const record = (over: Partial<RunRecord> = {}): RunRecord => ({
  job: "vacuum-29000000",
  startTime: "2026-01-01T10:00:00Z",
  endTime: "2026-01-01T10:05:00Z",
  result: "Succeeded",
  summary: "vacuumed 3 tables",
  ...over,
});

describe("Given the run records of one reconcile", () => {
  it.each([
    { result: "Failed", critical: false, problem: "failed" },
    { result: "TimedOut", critical: false, problem: "timed out" },
    { result: "Succeeded", critical: true, problem: "reported a critical finding" },
    { result: "Succeeded", critical: false, problem: undefined },
  ] as const)(
    "When a run ended $result (critical finding: $critical), then its problem is $problem",
    ({ result, critical, problem }) => {
      const outcome = recordOutcome(record({ result }), critical);
      expect(outcome).toEqual({
        time: "2026-01-01T10:05:00Z",
        what: "run vacuum-29000000",
        message: "vacuumed 3 tables",
        ...(problem !== undefined ? { problem } : {}),
      });
    },
  );

  it.each(["Cancelled", "Running"] as const)(
    "When a run is %s, then it has no say on the Incident",
    (result) => {
      expect(recordOutcome(record({ result }), true)).toBeUndefined();
    },
  );

  it("When a run has no end time, then its start time orders it", () => {
    expect(recordOutcome(record({ endTime: undefined, result: "Failed" }))?.time).toBe(
      "2026-01-01T10:00:00Z",
    );
  });
});

describe("Given outcomes to decide an Incident on", () => {
  const failed: RunOutcome = {
    time: "2026-01-01T10:05:00Z",
    what: "run a",
    problem: "failed",
    message: "BackoffLimitExceeded; connect to postgresql://app:s3cret@db/app refused",
  };
  const clean: RunOutcome = { time: "2026-01-01T11:05:00Z", what: "run b", message: "ok" };

  it("When there is none, then nothing happens", () => {
    expect(runIncidentDecision("MaintenanceTask vacuum", [])).toEqual({ action: "none" });
  });

  it("When the newest is a failure, then it opens with a redacted message, named by its time", () => {
    const decision = runIncidentDecision("MaintenanceTask vacuum", [failed]);
    expect(decision).toMatchObject({
      action: "open",
      title: "MaintenanceTask vacuum: run a failed",
      episode: "2026-01-01T10:05:00Z",
    });
    expect(decision.action === "open" && decision.message).not.toContain("s3cret");
  });

  it.each([
    { order: "failure then success", outcomes: [clean, failed], action: "resolve" },
    {
      order: "success then failure",
      outcomes: [{ ...clean, time: "2026-01-01T09:00:00Z" }, failed],
      action: "open",
    },
  ])(
    "When $order are recorded at once, then the newest decides: $action",
    ({ outcomes, action }) => {
      expect(runIncidentDecision("MaintenanceTask vacuum", outcomes).action).toBe(action);
    },
  );
});

describe("Given the newest outcome in the written status and its incidentRef", () => {
  const failed: RunOutcome = {
    time: "2026-01-01T10:05:00Z",
    what: "run a",
    problem: "failed",
    message: "BackoffLimitExceeded",
  };
  const clean: RunOutcome = { time: "2026-01-01T11:05:00Z", what: "run b", message: "ok" };
  const level = (over: Partial<IncidentLevel>): IncidentLevel => ({
    recorded: [],
    newest: undefined,
    incidentRef: undefined,
    enabled: true,
    ...over,
  });
  const opens = (occurrence: boolean) => ({
    action: "open",
    title: "MaintenanceTask vacuum: run a failed",
    message: "BackoffLimitExceeded",
    episode: failed.time,
    occurrence,
  });

  it.each([
    {
      when: "this write recorded a failure",
      level: level({ recorded: [failed], newest: failed }),
      step: opens(true),
    },
    {
      when: "this write recorded a failure and the Incident is open",
      level: level({ recorded: [failed], newest: failed, incidentRef: "vacuum-1" }),
      step: opens(true),
    },
    {
      when: "this write recorded a failure but the policy is disabled",
      level: level({ recorded: [failed], newest: failed, enabled: false }),
      step: { action: "none" },
    },
    {
      when: "this write recorded a success",
      level: level({ recorded: [clean], newest: clean }),
      step: { action: "resolve" },
    },
    {
      when: "an earlier write recorded a failure and no Incident is named (a crash before the call)",
      level: level({ newest: failed }),
      step: opens(false),
    },
    {
      when: "an earlier write recorded a failure and the Incident is named (the steady state)",
      level: level({ newest: failed, incidentRef: "vacuum-1" }),
      step: { action: "none" },
    },
    {
      when: "an earlier write recorded a failure, no Incident is named, but the policy is disabled",
      level: level({ newest: failed, enabled: false }),
      step: { action: "none" },
    },
    {
      when: "an earlier write recorded a success and the Incident is still named (a crash before the resolve)",
      level: level({ newest: clean, incidentRef: "vacuum-1" }),
      step: { action: "resolve" },
    },
    {
      when: "an earlier write recorded a success, the Incident still named, the policy disabled since",
      level: level({ newest: clean, incidentRef: "vacuum-1", enabled: false }),
      step: { action: "resolve" },
    },
    {
      when: "an earlier write recorded a success and no Incident is named (the steady state)",
      level: level({ newest: clean }),
      step: { action: "none" },
    },
    { when: "nothing ran yet", level: level({}), step: { action: "none" } },
  ])("When $when, then the step is $step.action", ({ level, step }) => {
    expect(incidentStep("MaintenanceTask vacuum", level)).toEqual(step);
  });

  it("When outcomes come in any order (some missing), then the newest by time is the newest", () => {
    expect(newestOutcome([clean, undefined, failed])).toBe(clean);
    expect(newestOutcome([undefined])).toBeUndefined();
  });
});

describe("Given a step to carry out through the source API", () => {
  const calls = (opened: string) => {
    const made: string[] = [];
    const api: IncidentCalls = {
      open: (step) => {
        made.push(`open occurrence=${step.occurrence}`);
        return Promise.resolve(opened);
      },
      resolve: () => {
        made.push("resolve");
        return Promise.resolve([]);
      },
    };
    return { api, made };
  };
  const open: IncidentStep = {
    action: "open",
    title: "t",
    message: "m",
    episode: "2026-01-01T10:05:00Z",
    occurrence: false,
  };

  it.each([
    { step: open, ref: undefined, change: "vacuum-1", made: ["open occurrence=false"] },
    { step: open, ref: "vacuum-1", change: undefined, made: ["open occurrence=false"] },
    { step: open, ref: "vacuum-0", change: "vacuum-1", made: ["open occurrence=false"] },
    { step: { action: "resolve" }, ref: "vacuum-1", change: null, made: ["resolve"] },
    { step: { action: "resolve" }, ref: undefined, change: undefined, made: ["resolve"] },
    { step: { action: "none" }, ref: "vacuum-1", change: undefined, made: [] },
  ] as {
    step: IncidentStep;
    ref: string | undefined;
    change: string | null | undefined;
    made: string[];
  }[])(
    "When the step is $step.action and incidentRef is $ref, then the change is $change",
    async ({ step, ref, change, made }) => {
      const { api, made: actual } = calls("vacuum-1");
      expect(await followIncidentStep(step, api, ref)).toBe(change);
      expect(actual).toEqual(made);
    },
  );

  it("When the open call fails, then the error is thrown and no change is returned", async () => {
    const api: IncidentCalls = {
      open: () => Promise.reject(new Error("connection refused")),
      resolve: () => Promise.resolve([]),
    };
    await expect(followIncidentStep(open, api, undefined)).rejects.toThrow("connection refused");
  });

  it.each([
    { before: {}, change: "vacuum-1", after: { incidentRef: { name: "vacuum-1" } } },
    { before: { incidentRef: { name: "vacuum-1" } }, change: null, after: {} },
  ])(
    "When incidentRef changes to $change, then status says $after",
    ({ before, change, after }) => {
      const status: { incidentRef?: { name: string } } = structuredClone(before);
      applyIncidentRef(status, change);
      expect(status).toEqual(after);
    },
  );
});

describe("Given a status write whose cache may miss the owner's last incidentRef write", () => {
  const failed: RunOutcome = {
    time: "2026-01-01T10:05:00Z",
    what: "run a",
    problem: "failed",
    message: "BackoffLimitExceeded",
  };
  const written = (over: Partial<IncidentLevel>): IncidentLevel => ({
    recorded: [],
    newest: failed,
    incidentRef: undefined,
    enabled: true,
    ...over,
  });

  it("When only the safety net calls for a step and a fresh read names the Incident, then nothing happens", async () => {
    let reads = 0;
    const fresh = () => {
      reads++;
      return Promise.resolve(written({ incidentRef: "vacuum-1" }));
    };
    const { step, level } = await confirmedIncidentStep(
      "MaintenanceTask vacuum",
      written({}),
      fresh,
    );
    expect(step).toEqual({ action: "none" });
    expect(level.incidentRef).toBe("vacuum-1");
    expect(reads).toBe(1);
  });

  it.each([
    {
      when: "this write recorded the failure",
      level: written({ recorded: [failed] }),
      action: "open",
    },
    {
      when: "the status needs nothing (the steady state)",
      level: written({ incidentRef: "vacuum-1" }),
      action: "none",
    },
  ])("When $when, then the step is $action without a read", async ({ level, action }) => {
    const fresh = () => Promise.reject(new Error("no read expected"));
    const { step } = await confirmedIncidentStep("MaintenanceTask vacuum", level, fresh);
    expect(step.action).toBe(action);
  });
});
