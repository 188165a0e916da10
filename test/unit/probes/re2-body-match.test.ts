// The HealthCheck body pattern runs on RE2: matching takes time linear in the
// body, so a pattern built to make a backtracking engine explode (^(a+)+$)
// answers at once, and what RE2 cannot compile (lookarounds, backreferences)
// is rejected at validation, naming the field and RE2's reason.
import { beforeAll, describe, expect, it } from "vitest";
import { validateHealthCheck } from "../../../src/controllers/healthcheck/validate.ts";
import type { HealthCheck } from "../../../src/crds/healthcheck.ts";
import { bodyMismatch, cachedBodyPattern } from "../../../src/probes/http.ts";
import { CheckResourcePool } from "../../../src/probes/pool.ts";

const REGEX_FIELD = "spec.target.http.bodyMatch.regex";

function checkWithRegex(regex: string): HealthCheck {
  return {
    apiVersion: "pake.dev/v1alpha1",
    kind: "HealthCheck",
    metadata: { name: "api", namespace: "shop" },
    spec: { target: { http: { url: "http://api.shop/health", bodyMatch: { regex } } } },
  } as unknown as HealthCheck;
}

function elapsedMs(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

describe("Given a body pattern that makes a backtracking engine take exponential time", () => {
  // The first match JIT-compiles the engine itself; time the pattern, not that.
  beforeAll(() => {
    bodyMismatch("warm", { regex: "w.rm" });
  });

  it("When ^(a+)+$ meets 40 a's and a '!', then the mismatch is reported within 100 ms", () => {
    let problem: string | undefined;
    const ms = elapsedMs(
      () => (problem = bodyMismatch(`${"a".repeat(40)}!`, { regex: "^(a+)+$" })),
    );
    expect(ms).toBeLessThan(100);
    expect(problem).toBe("Response body does not match /^(a+)+$/");
  });

  it("When the body is the largest one read (1 MiB of a's and a '!'), then it still answers within a second", () => {
    let problem: string | undefined;
    const body = `${"a".repeat(1 << 20)}!`;
    const ms = elapsedMs(() => (problem = bodyMismatch(body, { regex: "^(a+)+$" })));
    expect(ms).toBeLessThan(1000);
    expect(problem).toBe("Response body does not match /^(a+)+$/");
  });
});

describe("Given RE2 syntax in a body pattern", () => {
  it.each([
    ['"status":\\s*"UP"', '{"status": "UP"}', true],
    ['(?i)"status":"up"', '{"status":"UP"}', true],
    ["^ok$", "ok", true],
    ["^ok$", "ok\n", false],
    ["(?m)^ready$", "starting\nready\n", true],
    ["a.b", "a\nb", false],
    ["(?s)a.b", "a\nb", true],
    ["\\Qv1.2\\E", "v1x2", false],
    ["\\Qv1.2\\E", "v1.2", true],
    ["[[:digit:]]{3}", "code 503", true],
    ["(?P<code>5\\d\\d)", "HTTP 503", true],
    ["\\bUP\\b", "UPTIME", false],
    ["\\pL+ ok", "été ok", true],
  ])("When %j meets %j, then it matches: %s", (regex, body, matches) => {
    expect(bodyMismatch(body, { regex }) === undefined).toBe(matches);
  });
});

describe("Given a body pattern RE2 cannot compile", () => {
  it.each([
    [
      "(?=x)",
      "error parsing regexp: invalid or unsupported Perl syntax: `(?=` (RE2 has no lookahead or lookbehind)",
    ],
    [
      "a(?!x)",
      "error parsing regexp: invalid or unsupported Perl syntax: `(?!` (RE2 has no lookahead or lookbehind)",
    ],
    [
      "(?<=x)y",
      "error parsing regexp: invalid named capture: `(?<=x)y` (RE2 has no lookahead or lookbehind)",
    ],
    [
      "(?<!x)y",
      "error parsing regexp: invalid named capture: `(?<!x)y` (RE2 has no lookahead or lookbehind)",
    ],
    ["(a)\\1", "error parsing regexp: invalid escape sequence: `\\1` (RE2 has no backreferences)"],
    ["a++", "error parsing regexp: invalid nested repetition operator: `++`"],
    ["([a-z", "error parsing regexp: missing closing ]: `[a-z`"],
  ])(
    "When the pattern is %j, then validation names the field with RE2's reason",
    (regex, message) => {
      expect(validateHealthCheck(checkWithRegex(regex))).toEqual([{ field: REGEX_FIELD, message }]);
    },
  );

  it("When the probe meets such a pattern anyway, then it fails with the same reason", () => {
    expect(bodyMismatch("xy", { regex: "(?<=x)y" })).toBe(
      "Invalid bodyMatch regex: error parsing regexp: invalid named capture: `(?<=x)y` (RE2 has no lookahead or lookbehind)",
    );
  });

  it.each(["(?i)up", "(?P<state>UP|DOWN)", "\\Qa.b\\E", "[[:alpha:]]+"])(
    "When the pattern %j is RE2 but not JavaScript syntax, then validation accepts it",
    (regex) => {
      expect(validateHealthCheck(checkWithRegex(regex))).toEqual([]);
    },
  );
});

describe("Given a check's resource pool", () => {
  it("When the same pattern is asked for again, then the compiled one is reused; when it changes, it is compiled anew", async () => {
    const pool = new CheckResourcePool();
    const first = cachedBodyPattern(pool, "UP");
    expect(cachedBodyPattern(pool, "UP")).toBe(first);
    const changed = cachedBodyPattern(pool, "DOWN");
    expect(changed).not.toBe(first);
    expect(changed.test("state DOWN")).toBe(true);
    expect(pool.names()).toEqual(["http-body-pattern"]);
    await pool.close();
  });
});
