// The operator flags that widen what a HealthCheck may make the operator do
// (issue 11, defect 3): parsed from flags or environment, wrong values named.
import { describe, expect, it } from "vitest";
import { ConfigError, parseOperatorConfig } from "../../../src/cli/operator-config.ts";

const parse = (args: string[], env: Record<string, string | undefined> = {}) =>
  parseOperatorConfig(args, { env, readServiceAccountNamespace: () => undefined })
    .healthCheckTenantPolicy;

describe("Given the --healthcheck-* flags", () => {
  it.each([
    {
      args: [],
      env: {},
      policy: { httpMethods: ["GET", "HEAD"], crossNamespace: false, nodeScope: false },
    },
    {
      args: ["--healthcheck-http-methods", "get, head,POST,post"],
      env: {},
      policy: { httpMethods: ["GET", "HEAD", "POST"], crossNamespace: false, nodeScope: false },
    },
    {
      args: ["--healthcheck-cross-namespace", "--healthcheck-node-scope"],
      env: {},
      policy: { httpMethods: ["GET", "HEAD"], crossNamespace: true, nodeScope: true },
    },
    {
      args: [],
      env: {
        PAKE_HEALTHCHECK_HTTP_METHODS: "GET,PUT",
        PAKE_HEALTHCHECK_CROSS_NAMESPACE: "true",
        PAKE_HEALTHCHECK_NODE_SCOPE: "true",
      },
      policy: { httpMethods: ["GET", "PUT"], crossNamespace: true, nodeScope: true },
    },
    {
      args: ["--healthcheck-node-scope=false"],
      env: { PAKE_HEALTHCHECK_NODE_SCOPE: "true" },
      policy: { httpMethods: ["GET", "HEAD"], crossNamespace: false, nodeScope: false },
    },
  ])("When given $args and $env, then the policy is $policy", ({ args, env, policy }) => {
    expect(parse(args, env)).toEqual(policy);
  });

  it.each([
    [
      "--healthcheck-http-methods=GET,CONNECT",
      "--healthcheck-http-methods: invalid HTTP method(s) CONNECT",
    ],
    [
      "--healthcheck-http-methods= , ",
      "--healthcheck-http-methods: at least one HTTP method is needed",
    ],
    [
      "--healthcheck-cross-namespace=maybe",
      '--healthcheck-cross-namespace: invalid boolean "maybe"',
    ],
  ])("When given %s, then the problem names the flag", (arg, problem) => {
    let problems: string[] = [];
    try {
      parse([arg]);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toEqual([expect.stringContaining(problem)]);
  });
});
