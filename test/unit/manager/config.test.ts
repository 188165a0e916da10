import { DEFAULT_INCIDENT_POLICY } from "../../../src/config/incident-policy.ts";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  parseBindAddress,
  parseOperatorConfig,
} from "../../../src/cli/operator-config.ts";
import { parseDuration } from "../../../src/lib/duration.ts";

const noSa = (): undefined => undefined;

function parse(
  args: string[],
  env: Record<string, string | undefined> = {},
  sa: () => string | undefined = noSa,
) {
  return parseOperatorConfig(args, { env, readServiceAccountNamespace: sa });
}

function problems(args: string[], env: Record<string, string | undefined> = {}): string[] {
  try {
    parse(args, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("Given no flags and no environment", () => {
  it("When parsing, then the documented defaults apply", () => {
    expect(parse([])).toEqual({
      kubeconfig: undefined,
      namespaces: [],
      metricsBindAddress: { host: "", port: 8080 },
      leaderElection: {
        enabled: true,
        leaseName: "pake-operator-leader",
        leaseNamespace: "pake-system",
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2000,
      },
      shutdownTimeoutMs: 30_000,
      logLevel: "info",
      runnerImage: "ghcr.io/pake/pake-operator:0.1.0",
      operatorNamespace: "pake-system",
      incidentPolicy: DEFAULT_INCIDENT_POLICY,
      healthCheckTenantPolicy: {
        httpMethods: ["GET", "HEAD"],
        crossNamespace: false,
        nodeScope: false,
      },
      endpointAuth: true,
      allowCustomServiceAccount: false,
    });
  });
});

describe("Given good flags and environment", () => {
  it.each([
    { args: ["--kubeconfig", "/tmp/kc"], env: {}, path: "kubeconfig", value: "/tmp/kc" },
    { args: ["--kubeconfig=/tmp/kc"], env: {}, path: "kubeconfig", value: "/tmp/kc" },
    { args: ["--namespaces", "a, b,a"], env: {}, path: "namespaces", value: ["a", "b"] },
    { args: [], env: { WATCH_NAMESPACE: "team-x" }, path: "namespaces", value: ["team-x"] },
    { args: ["--namespaces="], env: { WATCH_NAMESPACE: "x" }, path: "namespaces", value: [] },
    {
      args: ["--metrics-bind-address", "127.0.0.1:0"],
      env: {},
      path: "metricsBindAddress",
      value: { host: "127.0.0.1", port: 0 },
    },
    {
      args: ["--metrics-bind-address=[::1]:9090"],
      env: {},
      path: "metricsBindAddress",
      value: { host: "::1", port: 9090 },
    },
    { args: ["--leader-elect=false"], env: {}, path: "leaderElection.enabled", value: false },
    { args: ["--leader-elect", "false"], env: {}, path: "leaderElection.enabled", value: false },
    {
      args: ["--leader-elect"],
      env: { PAKE_LEADER_ELECT: "false" },
      path: "leaderElection.enabled",
      value: true,
    },
    { args: [], env: { PAKE_LEADER_ELECT: "no" }, path: "leaderElection.enabled", value: false },
    { args: ["--endpoint-auth=false"], env: {}, path: "endpointAuth", value: false },
    { args: [], env: { PAKE_ENDPOINT_AUTH: "false" }, path: "endpointAuth", value: false },
    {
      args: [],
      env: { POD_NAMESPACE: "ops" },
      path: "leaderElection.leaseNamespace",
      value: "ops",
    },
    {
      args: ["--leader-election-namespace", "flag-ns"],
      env: { POD_NAMESPACE: "ops" },
      path: "leaderElection.leaseNamespace",
      value: "flag-ns",
    },
    {
      args: [
        "--leader-election-lease-duration",
        "4s",
        "--leader-election-renew-deadline",
        "3s",
        "--leader-election-retry-period",
        "500ms",
      ],
      env: {},
      path: "leaderElection",
      value: expect.objectContaining({
        leaseDurationMs: 4000,
        renewDeadlineMs: 3000,
        retryPeriodMs: 500,
      }) as unknown,
    },
    {
      args: ["--graceful-shutdown-timeout", "1m30s"],
      env: {},
      path: "shutdownTimeoutMs",
      value: 90_000,
    },
    { args: [], env: { LOG_LEVEL: "debug" }, path: "logLevel", value: "debug" },
    { args: ["--log-level", "warn"], env: { LOG_LEVEL: "debug" }, path: "logLevel", value: "warn" },
  ])("When given $args and $env, then $path is $value", ({ args, env, path, value }) => {
    expect(parse(args, env)).toHaveProperty(path.split("."), value);
  });

  it("When only the service-account file names a namespace, then the Lease lives there", () => {
    expect(parse([], {}, () => "from-sa").leaderElection.leaseNamespace).toBe("from-sa");
  });

  it("When POD_NAMESPACE and the service-account file both exist, then POD_NAMESPACE wins", () => {
    expect(
      parse([], { POD_NAMESPACE: "pod-ns" }, () => "from-sa").leaderElection.leaseNamespace,
    ).toBe("pod-ns");
  });
});

describe("Given bad flags or environment", () => {
  it.each([
    { args: ["--nope"], env: {}, message: "unknown flag --nope" },
    { args: ["stray"], env: {}, message: 'unexpected argument "stray"' },
    { args: ["--kubeconfig"], env: {}, message: "--kubeconfig: missing value" },
    {
      args: ["--metrics-bind-address", "8080"],
      env: {},
      message: '--metrics-bind-address: invalid address "8080"',
    },
    {
      args: ["--metrics-bind-address", ":70000"],
      env: {},
      message: "--metrics-bind-address: invalid address",
    },
    {
      args: [],
      env: { PAKE_METRICS_BIND_ADDRESS: "x" },
      message: 'PAKE_METRICS_BIND_ADDRESS: invalid address "x"',
    },
    { args: ["--leader-elect=maybe"], env: {}, message: '--leader-elect: invalid boolean "maybe"' },
    {
      args: ["--namespaces", "Bad_NS"],
      env: {},
      message: '--namespaces: invalid namespace name(s) "Bad_NS"',
    },
    {
      args: [],
      env: { WATCH_NAMESPACE: "ok,-bad" },
      message: 'WATCH_NAMESPACE: invalid namespace name(s) "-bad"',
    },
    {
      args: ["--leader-election-lease-duration", "15"],
      env: {},
      message: '--leader-election-lease-duration: invalid duration "15"',
    },
    {
      args: ["--graceful-shutdown-timeout", "soon"],
      env: {},
      message: '--graceful-shutdown-timeout: invalid duration "soon"',
    },
    { args: ["--log-level", "loud"], env: {}, message: '--log-level: invalid log level "loud"' },
    {
      args: ["--leader-election-lease-duration", "7500ms"],
      env: {},
      message: "--leader-election-lease-duration: must be a whole number of seconds",
    },
    {
      args: ["--leader-election-renew-deadline", "20s"],
      env: {},
      message: "--leader-election-renew-deadline: must be shorter than the lease duration",
    },
    {
      args: ["--leader-election-retry-period", "10s"],
      env: {},
      message:
        "--leader-election-retry-period: must be positive and shorter than the renew deadline",
    },
    {
      args: [],
      env: { PAKE_LEADER_ELECTION_RETRY_PERIOD: "0" },
      message: "PAKE_LEADER_ELECTION_RETRY_PERIOD: must be positive",
    },
    {
      args: ["--leader-election-id", "Not A Name"],
      env: {},
      message: '--leader-election-id: "Not A Name" is not a valid Lease name',
    },
    {
      args: [],
      env: { POD_NAMESPACE: "UPPER" },
      message: 'POD_NAMESPACE: "UPPER" is not a valid namespace name',
    },
  ])("When given $args and $env, then it fails with '$message'", ({ args, env, message }) => {
    expect(problems(args, env).join("\n")).toContain(message);
  });

  it("When several things are wrong, then every problem is reported", () => {
    expect(problems(["--nope", "--log-level", "x", "--metrics-bind-address", "y"])).toHaveLength(3);
  });

  it("When leader election is off, then its timings are not checked", () => {
    expect(() =>
      parse(["--leader-elect=false", "--leader-election-renew-deadline", "20s"]),
    ).not.toThrow();
  });
});

describe("Given the value parsers", () => {
  it.each([
    ["500ms", 500],
    ["15s", 15_000],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["0", 0],
    ["15", undefined],
    ["s", undefined],
    ["15s junk", undefined],
    ["-1s", undefined],
  ])("When parsing duration %j, then it is %j ms", (text, ms) => {
    const parse = () => parseDuration(text, { syntax: "flag" });
    if (ms === undefined) expect(parse).toThrow(`invalid duration ${JSON.stringify(text)}`);
    else expect(parse()).toBe(ms);
  });

  it.each([
    [":8080", { host: "", port: 8080 }],
    ["0.0.0.0:80", { host: "0.0.0.0", port: 80 }],
    ["localhost:0", { host: "localhost", port: 0 }],
    ["localhost", undefined],
    ["host:port", undefined],
  ])("When parsing bind address %j, then it is %j", (text, address) => {
    expect(parseBindAddress(text)).toEqual(address);
  });
});
