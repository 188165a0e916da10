// A HealthCheck author may make the operator do only what the operator's
// flags allow (issue 11, defect 3): HTTP GET/HEAD, kubernetes targets in the
// check's own namespace, no node figures. Anything wider is InvalidSpec naming
// the field and the flag that would allow it.
import { describe, expect, it } from "vitest";
import type { HealthCheck } from "../../../../src/crds/healthcheck.ts";
import { validateHealthCheck } from "../../../../src/controllers/healthcheck/validate.ts";
import type { TenantPolicy } from "../../../../src/probes/tenancy.ts";

const NAMESPACE = "team-a";

function check(target: Record<string, unknown>): HealthCheck {
  return {
    apiVersion: "pake.dev/v1alpha1",
    kind: "HealthCheck",
    metadata: { name: "c", namespace: NAMESPACE },
    spec: { target },
  } as unknown as HealthCheck;
}

const http = (method?: string) => ({ http: { url: "http://svc.team-a:8080/health", method } });
const workload = (namespace?: string) => ({
  kubernetes: { kind: "Deployment", name: "web", namespace },
});
const system = (scope?: string) => ({ system: { scope } });

const wide: TenantPolicy = {
  httpMethods: ["GET", "HEAD", "POST"],
  crossNamespace: true,
  nodeScope: true,
};

describe("Given the operator's default tenant policy", () => {
  it.each([
    ["an http GET (the default method)", http()],
    ["an http GET", http("GET")],
    ["an http HEAD", http("HEAD")],
    ["a kubernetes target without a namespace", workload()],
    ["a kubernetes target in the check's namespace", workload(NAMESPACE)],
    ["a system target with the default scope", system()],
    ["a system target with scope Host", system("Host")],
  ])("When a check has %s, then it is valid", (_what, target) => {
    expect(validateHealthCheck(check(target))).toEqual([]);
  });

  it.each([
    {
      what: "an http POST",
      target: http("POST"),
      field: "spec.target.http.method",
      flag: "--healthcheck-http-methods",
    },
    {
      what: "an http DELETE",
      target: http("DELETE"),
      field: "spec.target.http.method",
      flag: "--healthcheck-http-methods",
    },
    {
      what: "a kubernetes target in another namespace",
      target: workload("kube-system"),
      field: "spec.target.kubernetes.namespace",
      flag: "--healthcheck-cross-namespace",
    },
    {
      what: "a system target with scope Nodes",
      target: system("Nodes"),
      field: "spec.target.system.scope",
      flag: "--healthcheck-node-scope",
    },
    {
      what: "a system target with scope All",
      target: system("All"),
      field: "spec.target.system.scope",
      flag: "--healthcheck-node-scope",
    },
  ])(
    "When a check has $what, then one problem names $field and the flag $flag",
    ({ target, field, flag }) => {
      const problems = validateHealthCheck(check(target));
      expect(problems).toEqual([{ field, message: expect.stringContaining(flag) as string }]);
    },
  );
});

describe("Given an http target with a body", () => {
  const withBody = (method?: string) => ({
    http: { url: "http://svc.team-a:8080/hook", method, body: "{}" },
  });

  it.each([undefined, "GET", "HEAD"])(
    "When the method is %s, then the body is refused: a GET or HEAD carries none",
    (method) => {
      expect(validateHealthCheck(check(withBody(method)), wide)).toEqual([
        {
          field: "spec.target.http.body",
          message: expect.stringContaining("GET and HEAD requests carry no body") as string,
        },
      ]);
    },
  );

  it("When the method is an allowed POST, then the body is sent", () => {
    expect(validateHealthCheck(check(withBody("POST")), wide)).toEqual([]);
  });
});

describe("Given an operator that allows POST, other namespaces and node scope", () => {
  it.each([
    ["an http POST", http("POST")],
    ["a kubernetes target in another namespace", workload("kube-system")],
    ["a system target with scope Nodes", system("Nodes")],
    ["a system target with scope All", system("All")],
  ])("When a check has %s, then it is valid", (_what, target) => {
    expect(validateHealthCheck(check(target), wide)).toEqual([]);
  });

  it("When a check asks for a method still not allowed (DELETE), then the message lists what is", () => {
    expect(validateHealthCheck(check(http("DELETE")), wide)).toEqual([
      {
        field: "spec.target.http.method",
        message: expect.stringMatching(
          /DELETE.*GET, HEAD, POST.*--healthcheck-http-methods/,
        ) as string,
      },
    ]);
  });
});
