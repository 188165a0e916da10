// The operator-level incident policy: defaults from the operations guide,
// overrides from a YAML file, and every problem reported with its path.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_INCIDENT_POLICY,
  IncidentPolicyError,
  parseIncidentPolicy,
  receiversFor,
} from "../../../src/config/incident-policy.ts";
import { parseOperatorConfig, ConfigError } from "../../../src/cli/operator-config.ts";

const MIN = 60_000;

function problemsOf(text: string): string[] {
  try {
    parseIncidentPolicy(text);
  } catch (err) {
    if (err instanceof IncidentPolicyError) return err.problems;
    throw err;
  }
  return [];
}

describe("Given no policy file", () => {
  it.each([
    ["critical", 15 * MIN, "on-call", false],
    ["high", 60 * MIN, "team lead", false],
    ["medium", 240 * MIN, "regular team", false],
    ["low", 1440 * MIN, "regular team (next business day)", true],
  ] as const)(
    "the %s severity follows the guide: %d ms, %s first, business hours only: %s",
    (severity, ms, first, business) => {
      const rule = DEFAULT_INCIDENT_POLICY.severities[severity];
      expect(rule.acknowledgeWithinMs).toBe(ms);
      expect(rule.escalation[0]).toBe(first);
      expect(rule.businessHoursOnly).toBe(business);
    },
  );

  it("closes after 7 days, deletes after 90, business hours Mon–Fri 09:00–17:00 UTC", () => {
    expect(DEFAULT_INCIDENT_POLICY.closeAfterMs).toBe(7 * 24 * 60 * MIN);
    expect(DEFAULT_INCIDENT_POLICY.deleteAfterMs).toBe(90 * 24 * 60 * MIN);
    expect(DEFAULT_INCIDENT_POLICY.businessHours).toEqual({
      timeZone: "UTC",
      days: ["Mon", "Tue", "Wed", "Thu", "Fri"],
      startMinute: 540,
      endMinute: 1020,
    });
  });
});

describe("Given a policy file", () => {
  it("When it overrides one severity, then the others keep the guide's values", () => {
    const policy = parseIncidentPolicy(
      "severities:\n  high:\n    acknowledgeWithin: 30m\n    escalation: [sre, cto]\n",
    );
    expect(policy.severities.high).toEqual({
      acknowledgeWithinMs: 30 * MIN,
      escalateEveryMs: 30 * MIN,
      escalation: ["sre", "cto"],
      businessHoursOnly: false,
    });
    expect(policy.severities.critical).toEqual(DEFAULT_INCIDENT_POLICY.severities.critical);
  });

  it.each([
    { case: "not YAML", text: "a: [", problem: /^not valid YAML/ },
    { case: "an unknown key", text: "escalate: true", problem: /Unrecognized key/ },
    {
      case: "a bad duration",
      text: "severities:\n  low:\n    acknowledgeWithin: 1 day\n    escalation: [x]",
      problem: /^severities\.low\.acknowledgeWithin: a duration/,
    },
    {
      case: "an unknown time zone",
      text: "timeZone: Mars/Olympus",
      problem: /^timeZone: unknown time zone/,
    },
    {
      case: "business hours ending before they start",
      text: "businessHours: {start: '17:00', end: '09:00'}",
      problem: /^businessHours: start must be before end/,
    },
    {
      case: "a route to a missing receiver",
      text: "routes: [{receivers: [pager]}]",
      problem: /^routes\[0\]\.receivers: no receiver named "pager"/,
    },
    {
      case: "a receiver with both url and a Secret",
      text: "receivers: [{name: a, type: slack, url: 'http://x', urlSecretKeyRef: {name: s, key: k}}]",
      problem: /^receivers\[0\]: set exactly one of url and urlSecretKeyRef/,
    },
    {
      case: "two receivers with one name",
      text: "receivers: [{name: a, type: webhook, url: 'http://x'}, {name: a, type: slack, url: 'http://y'}]",
      problem: /^receivers: "a" is defined twice/,
    },
    {
      case: "deletion before closing",
      text: "closeAfter: 30d\ndeleteAfter: 7d",
      problem: /^deleteAfter: must not be shorter than closeAfter/,
    },
  ])("When it has $case, then the problem names where", ({ text, problem }) => {
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => problem.test(p))).toBe(true);
  });

  it("routes by severity and level, in the order receivers are defined", () => {
    const policy = parseIncidentPolicy(
      [
        "receivers:",
        "  - {name: pager, type: webhook, url: 'http://127.0.0.1/p'}",
        "  - {name: chat, type: slack, url: 'http://127.0.0.1/c'}",
        "routes:",
        "  - {receivers: [chat]}",
        "  - {receivers: [pager], severities: [critical], levels: [0, 1]}",
      ].join("\n"),
    );
    const names = (s: "critical" | "low", level: number) =>
      receiversFor(policy, s, level).map((r) => r.name);
    expect(names("critical", 0)).toEqual(["pager", "chat"]);
    expect(names("critical", 2)).toEqual(["chat"]);
    expect(names("low", 0)).toEqual(["chat"]);
  });
});

describe("Given the operator's --incident-policy flag", () => {
  const env = { POD_NAMESPACE: "pake-system" };

  it("When the file is valid, then the operator's configuration carries the policy and its namespace", () => {
    const config = parseOperatorConfig(["--incident-policy", "/etc/pake/policy.yaml"], {
      env,
      readFile: () => "closeAfter: 1d\n",
    });
    expect(config.incidentPolicy.closeAfterMs).toBe(24 * 60 * MIN);
    expect(config.operatorNamespace).toBe("pake-system");
  });

  it("When the file is wrong or missing, then start-up fails naming the flag, the file and the problem", () => {
    const attempt = (readFile: () => string) => {
      try {
        parseOperatorConfig(["--incident-policy=/p.yaml"], { env, readFile });
      } catch (err) {
        return err instanceof ConfigError ? err.problems : [];
      }
      return [];
    };
    expect(attempt(() => "closeAfter: soon")).toEqual([
      expect.stringMatching(/^--incident-policy: \/p\.yaml: closeAfter: an age such as/),
    ]);
    expect(
      attempt(() => {
        throw new Error("ENOENT: no such file");
      }),
    ).toEqual(["--incident-policy: cannot read /p.yaml: ENOENT: no such file"]);
  });
});
