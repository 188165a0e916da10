// The Helm chart against the real API server with the real helm binary:
// lint, render, install into a namespace that enforces Pod Security
// "restricted", and prove its RBAC by running the real operator with the
// chart's ServiceAccount token: it must do its work (Lease, status, Event)
// without one "forbidden", while that ServiceAccount is refused what the
// operator has no business doing. Uninstalling keeps the CRDs.
//
// The CRDs are shared by every test file of the run (installed with kubectl
// apply by others), so the install takes them over (--take-ownership) and
// the uninstall must leave them in place (helm.sh/resource-policy: keep).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseIncidentPolicy } from "../../src/config/incident-policy.ts";
import {
  createTestNamespace,
  installCrds,
  killOperators,
  repoRoot,
  runKubectl,
  serviceAccountToken,
  startOperator,
  toolchain,
  useSharedEnv,
  waitFor,
  type KubectlResult,
  type OperatorProcess,
} from "../env/index.ts";

const exec = promisify(execFile);
const env = useSharedEnv();
const chart = join(repoRoot, "deploy/helm/pake-operator");
const release = `pake-${randomBytes(3).toString("hex")}`;
const fullname = `${release}-pake-operator`;
const CRDS = ["healthchecks", "maintenancetasks", "backuppolicies", "incidents"].map(
  (plural) => `${plural}.pake.dev`,
);

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}
interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  spec?: Record<string, unknown>;
}

let ns: string;
let helmHome: string;

async function helm(...args: string[]): Promise<KubectlResult> {
  const dirs = {
    HELM_CACHE_HOME: join(helmHome, "cache"),
    HELM_CONFIG_HOME: join(helmHome, "config"),
    HELM_DATA_HOME: join(helmHome, "data"),
  };
  try {
    const { stdout, stderr } = await exec(join(toolchain().helmBin, "helm"), args, {
      env: { ...process.env, ...dirs },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? "", stderr: e.stderr ?? "", code: e.code ?? 1 };
  }
}

async function template(...sets: string[]): Promise<Manifest[]> {
  const args = sets.flatMap((s) => ["--set", s]);
  const result = await helm("template", release, chart, "--namespace", "pake-system", ...args);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

const ofKind = (manifests: Manifest[], kind: string) => manifests.filter((m) => m.kind === kind);

function deploymentArgs(manifests: Manifest[]): string[] {
  const deployment = ofKind(manifests, "Deployment")[0] as unknown as {
    spec: { template: { spec: { containers: { args: string[] }[] } } };
  };
  return deployment.spec.template.spec.containers[0]?.args ?? [];
}

function rulesOf(manifests: Manifest[]): Rule[] {
  return manifests.flatMap((m) => m.rules ?? []);
}

function grants(rules: Rule[], resource: string, verb: string): boolean {
  return rules.some((r) => r.resources?.includes(resource) && r.verbs?.includes(verb));
}

async function canI(kubeconfig: string, ...args: string[]): Promise<string> {
  return (await runKubectl(kubeconfig, ["auth", "can-i", ...args])).stdout.trim();
}

beforeAll(async () => {
  helmHome = join(env.runDir, `helm-${release}`);
  mkdirSync(helmHome, { recursive: true });
  // As in a full run, where other test files have applied them with kubectl.
  await installCrds(env);
  ns = await createTestNamespace(env, "helm");
  const label = await env.kubectl(
    "label",
    "namespace",
    ns,
    "pod-security.kubernetes.io/enforce=restricted",
    "pod-security.kubernetes.io/enforce-version=latest",
  );
  expect(label.code).toBe(0);
});

afterAll(async () => {
  await killOperators();
  await helm("uninstall", release, "--namespace", ns, "--kubeconfig", env.kubeconfigPath);
});

describe("Given the chart in deploy/helm/pake-operator", () => {
  it("When it is linted (defaults, and a list of watched namespaces), then helm lint passes", async () => {
    const defaults = await helm("lint", "--strict", chart);
    expect(defaults.stdout + defaults.stderr).toContain("0 chart(s) failed");
    expect(defaults.code).toBe(0);
    const watched = await helm("lint", "--strict", chart, "--set", "watchNamespaces={a,b}");
    expect(watched.code).toBe(0);
  });

  it("When rendered with defaults, then the CRDs are kept, the Deployment is restricted, and no rule uses a wildcard", async () => {
    const manifests = await template();
    const crds = ofKind(manifests, "CustomResourceDefinition");
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([...CRDS].sort());
    for (const crd of crds)
      expect(crd.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");

    const [deployment] = ofKind(manifests, "Deployment");
    const pod = (deployment!.spec as { template: { spec: PodSpec } }).template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.containers[0]!.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(pod.containers[0]!.args).toContain("--leader-election-namespace=pake-system");
    expect(pod.containers[0]!.args).not.toContainEqual(expect.stringMatching(/^--namespaces/));

    for (const rule of rulesOf(manifests)) {
      for (const field of [rule.apiGroups, rule.resources, rule.verbs])
        expect(field ?? []).not.toContain("*");
    }
    // Watching all namespaces: the namespaced permissions are bound cluster-wide.
    const bindings = ofKind(manifests, "ClusterRoleBinding").map((b) => b.roleRef!.name);
    expect(bindings.sort()).toEqual([
      `${fullname}-endpoint-auth`,
      `${fullname}-nodes`,
      `${fullname}-watched`,
    ]);
  });

  it("When rendered with crds.install=false or crds.keep=false, then no CRD, or CRDs without the keep policy", async () => {
    expect(ofKind(await template("crds.install=false"), "CustomResourceDefinition")).toEqual([]);
    const unkept = ofKind(await template("crds.keep=false"), "CustomResourceDefinition");
    expect(unkept).toHaveLength(4);
    for (const crd of unkept) expect(crd.metadata.annotations).toBeUndefined();
  });

  it("When rendered, then a NetworkPolicy admits only the metrics port, egress is opt-in, and healthChecks values become the tenant flags", async () => {
    const defaults = await template();
    const [policy] = ofKind(defaults, "NetworkPolicy");
    expect(policy!.spec).toEqual({
      podSelector: {
        matchLabels: {
          "app.kubernetes.io/name": "pake-operator",
          "app.kubernetes.io/instance": release,
        },
      },
      policyTypes: ["Ingress"],
      ingress: [{ ports: [{ port: "metrics", protocol: "TCP" }] }],
    });
    expect(deploymentArgs(defaults)).toEqual(
      expect.arrayContaining([
        "--healthcheck-http-methods=GET,HEAD",
        "--healthcheck-cross-namespace=false",
        "--healthcheck-node-scope=false",
      ]),
    );

    const monitoring = { namespaceSelector: { matchLabels: { team: "monitoring" } } };
    const probeRule = { to: [{ ipBlock: { cidr: "10.1.0.0/16" } }], ports: [{ port: 5432 }] };
    const wide = await template(
      "healthChecks.httpMethods={GET,HEAD,POST}",
      "healthChecks.crossNamespace=true",
      "healthChecks.nodeScope=true",
      "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring",
      "networkPolicy.egress.enabled=true",
      "networkPolicy.egress.apiServerCIDRs={10.0.0.1/32}",
      "networkPolicy.egress.probeTargets[0].to[0].ipBlock.cidr=10.1.0.0/16",
      "networkPolicy.egress.probeTargets[0].ports[0].port=5432",
    );
    const spec = ofKind(wide, "NetworkPolicy")[0]!.spec as {
      policyTypes: string[];
      ingress: unknown[];
      egress: { to?: unknown[]; ports: { port: number; protocol?: string }[] }[];
    };
    expect(spec.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(spec.ingress).toEqual([
      { ports: [{ port: "metrics", protocol: "TCP" }], from: [monitoring] },
    ]);
    expect(spec.egress).toEqual([
      {
        ports: [
          { port: 53, protocol: "UDP" },
          { port: 53, protocol: "TCP" },
        ],
      },
      {
        ports: [
          { port: 443, protocol: "TCP" },
          { port: 6443, protocol: "TCP" },
        ],
        to: [{ ipBlock: { cidr: "10.0.0.1/32" } }],
      },
      probeRule,
    ]);
    expect(deploymentArgs(wide)).toEqual(
      expect.arrayContaining([
        "--healthcheck-http-methods=GET,HEAD,POST",
        "--healthcheck-cross-namespace=true",
        "--healthcheck-node-scope=true",
      ]),
    );
    expect(ofKind(await template("networkPolicy.enabled=false"), "NetworkPolicy")).toEqual([]);
  });

  it("When rendered with watched namespaces, then namespaced permissions are Roles in those namespaces and the ClusterRole holds only cluster-scoped resources", async () => {
    const manifests = await template("watchNamespaces={team-a,team-b}");
    const clusterRules = rulesOf(ofKind(manifests, "ClusterRole"));
    expect(clusterRules.flatMap((r) => r.resources ?? []).sort()).toEqual([
      "nodes",
      "nodes",
      "subjectaccessreviews",
      "tokenreviews",
    ]);
    const roles = ofKind(manifests, "Role");
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual([
      "pake-system",
      "team-a",
      "team-b",
    ]);
    const watched = roles.filter((r) => r.metadata.namespace === "team-a");
    expect(grants(rulesOf(watched), "secrets", "list")).toBe(true);
    expect(grants(rulesOf(watched), "leases", "create")).toBe(false);
  });

  it("When rendered with an incident policy, then the operator reads it from a ConfigMap the policy parser accepts, and may get only the receivers' Secrets by name", async () => {
    const policy = {
      closeAfter: "1d",
      receivers: [
        { name: "chat", type: "slack", urlSecretKeyRef: { name: "receivers", key: "slack" } },
        { name: "am", type: "alertmanager", url: "http://alertmanager.monitoring:9093" },
      ],
      routes: [{ receivers: ["chat", "am"] }],
    };
    const args = ["--set-json", `incidents.policy=${JSON.stringify(policy)}`];
    const result = await helm("template", release, chart, "--namespace", "pake-system", ...args);
    expect(result.code).toBe(0);
    const manifests = parseAllDocuments(result.stdout)
      .map((d) => d.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null);
    const configMap = ofKind(manifests, "ConfigMap")[0] as Manifest & {
      data: Record<string, string>;
    };
    const parsed = parseIncidentPolicy(configMap.data["incident-policy.yaml"] ?? "");
    expect(parsed.closeAfterMs).toBe(86_400_000);
    expect(parsed.receivers.map((r) => r.name)).toEqual(["chat", "am"]);
    expect(deploymentArgs(manifests)).toContain("--incident-policy=/etc/pake/incident-policy.yaml");
    const receiverRole = ofKind(manifests, "Role").find((r) =>
      r.metadata.name.endsWith("-incident-receivers"),
    );
    expect(receiverRole?.rules).toEqual([
      { apiGroups: [""], resources: ["secrets"], resourceNames: ["receivers"], verbs: ["get"] },
    ]);
    const defaults = await template();
    expect(ofKind(defaults, "ConfigMap")).toEqual([]);
    expect(deploymentArgs(defaults)).not.toContain(
      "--incident-policy=/etc/pake/incident-policy.yaml",
    );
  });

  describe("When installed into a namespace that enforces Pod Security restricted", () => {
    let saKubeconfig: string;
    let operator: OperatorProcess;

    beforeAll(async () => {
      const install = await helm(
        "install",
        release,
        chart,
        "--namespace",
        ns,
        "--kubeconfig",
        env.kubeconfigPath,
        "--set",
        `watchNamespaces={${ns}}`,
        "--take-ownership",
        "--force-conflicts",
      );
      expect(install.stderr).toBe("");
      expect(install.code).toBe(0);
      expect(install.stdout).toContain("STATUS: deployed");
    });

    it("Then the ReplicaSet controller creates both pods: they are admitted (Pending: there is no kubelet)", async () => {
      await waitFor(async () => (await podNames()).length === 2, {
        what: "two operator pods",
        timeoutMs: 30_000,
      });
      const failed = await env.kubectl(
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        "reason=FailedCreate",
        "-o",
        "name",
      );
      expect(failed.stdout).toBe("");
      // The label is enforced: a pod without the restricted settings is refused.
      const plain = await env.kubectl(
        "run",
        "plain",
        "-n",
        ns,
        "--image=busybox",
        "--dry-run=server",
      );
      expect(plain.code).not.toBe(0);
      expect(plain.stderr).toContain('violates PodSecurity "restricted:latest"');
    });

    it("Then the operator, run with the ServiceAccount's token and the Deployment's flags, takes the Lease, writes status and an Event, and is never forbidden", async () => {
      saKubeconfig = await env.mintServiceAccountKubeconfig(ns, fullname);
      operator = startOperator({
        name: `operator-helm-${ns}`,
        kubeconfigPath: saKubeconfig,
        runDir: env.runDir,
        args: await deploymentFlags(),
        env: { POD_NAMESPACE: ns },
      });
      await operator.ready();
      await waitFor(async () => (await leaseHolder()) !== "", {
        what: `Lease ${ns}/${fullname}-leader`,
        process: operator.proc,
        timeoutMs: 30_000,
      });

      // Leadership is recorded as an Event on the Lease, in the release namespace.
      await waitFor(async () => (await eventsOn(`${fullname}-leader`)).includes("became leader"), {
        what: "the leadership Event on the Lease",
        process: operator.proc,
        timeoutMs: 10_000,
      });

      await applyInvalidTask();
      await waitFor(async () => (await specValid())?.status === "False", {
        what: "SpecValid=False on mt/mars-time",
        process: operator.proc,
        timeoutMs: 30_000,
      });
      expect((await specValid())?.message).toContain("spec.timeZone");
      await waitFor(
        async () => (await eventsOn("mars-time", "Warning")).includes("spec.timeZone"),
        {
          what: "Warning Event on mt/mars-time",
          process: operator.proc,
          timeoutMs: 10_000,
        },
      );

      const log = readFileSync(operator.proc.logFile, "utf8");
      expect(log).not.toMatch(/forbidden/i);
      expect(operator.proc.running).toBe(true);
    });

    it("Then the ServiceAccount may do what the operator needs and nothing cluster-wide it does not", async () => {
      const sa = saKubeconfig;
      expect(await canI(sa, "list", "secrets", "-n", ns)).toBe("yes");
      expect(await canI(sa, "create", "jobs.batch", "-n", ns)).toBe("yes");
      expect(await canI(sa, "update", `leases/${fullname}-leader`, "-n", ns)).toBe("yes");
      expect(await canI(sa, "list", "nodes")).toBe("yes");
      // /metrics and the detailed health API are guarded by TokenReview + SubjectAccessReview.
      expect(await canI(sa, "create", "tokenreviews.authentication.k8s.io")).toBe("yes");
      expect(await canI(sa, "create", "subjectaccessreviews.authorization.k8s.io")).toBe("yes");

      expect(await canI(sa, "list", "secrets", "-n", "kube-system")).toBe("no");
      expect(await canI(sa, "get", "secrets", "-n", "default")).toBe("no");
      expect(await canI(sa, "list", "pods", "--all-namespaces")).toBe("no");
      expect(await canI(sa, "delete", "namespaces")).toBe("no");
      expect(await canI(sa, "create", "clusterroles")).toBe("no");
      // The runners' identity (issue 11, defect 6): it creates the pake-runner
      // RoleBinding in watched namespaces, binding only what it holds itself.
      expect(await canI(sa, "create", "rolebindings", "-n", ns)).toBe("yes");
      expect(await canI(sa, "create", "rolebindings", "-n", "default")).toBe("no");
      expect(await canI(sa, "bind", "roles", "-n", ns)).toBe("no");
      expect(await canI(sa, "escalate", "roles", "-n", ns)).toBe("no");
      expect(await canI(sa, "bind", "clusterroles")).toBe("no");
      expect(await canI(sa, "create", "clusterrolebindings")).toBe("no");
      expect(await canI(sa, "delete", "customresourcedefinitions")).toBe("no");
      expect(await canI(sa, "update", "leases/someone-elses", "-n", ns)).toBe("no");
      expect(await canI(sa, "update", "secrets", "-n", ns)).toBe("no");
    });

    it("Then a ServiceAccount bound to the chart's metrics-reader ClusterRole scrapes /metrics of the operator run as the chart's ServiceAccount; others get 403", async () => {
      for (const name of ["prometheus", "stranger"]) {
        expect((await env.kubectl("create", "serviceaccount", name, "-n", ns)).code).toBe(0);
      }
      const bound = await env.kubectl(
        "create",
        "clusterrolebinding",
        `${ns}-prometheus`,
        `--clusterrole=${fullname}-metrics-reader`,
        `--serviceaccount=${ns}:prometheus`,
      );
      expect(bound.stderr).toBe("");
      const get = async (path: string, sa: string): Promise<number> => {
        const token = await serviceAccountToken(env.kubeconfigPath, ns, sa);
        const res = await fetch(`http://127.0.0.1:${await operator.port()}${path}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        await res.arrayBuffer();
        return res.status;
      };
      expect(await get("/metrics", "prometheus")).toBe(200);
      expect(await get("/metrics", "stranger")).toBe(403);
      // The metrics reader reads metrics only: the detailed health API needs the health reader.
      expect(await get("/health/detailed", "prometheus")).toBe(403);
    });

    it("Then helm uninstall removes the release but keeps the CRDs and the objects", async () => {
      await killOperators();
      const uninstall = await helm(
        "uninstall",
        release,
        "--namespace",
        ns,
        "--kubeconfig",
        env.kubeconfigPath,
      );
      expect(uninstall.code).toBe(0);
      for (const crd of CRDS) {
        const got = await env.kubectl("get", "crd", crd, "-o", "name");
        expect(got.stdout.trim()).toBe(`customresourcedefinition.apiextensions.k8s.io/${crd}`);
      }
      const task = await env.kubectl("get", "maintenancetask", "mars-time", "-n", ns, "-o", "name");
      expect(task.code).toBe(0);
      const roles = await env.kubectl("get", "clusterrole", `${fullname}-nodes`);
      expect(roles.stderr).toContain("NotFound");
      const deployment = await env.kubectl("get", "deployment", fullname, "-n", ns);
      expect(deployment.stderr).toContain("NotFound");
    });
  });
});

describe("Given the chart installed with defaults (watching all namespaces, without CRDs)", () => {
  const allRelease = `${release}-all`;
  const allName = `${allRelease}-pake-operator`;
  let allNs: string;
  let sa: string;

  beforeAll(async () => {
    allNs = await createTestNamespace(env, "helm-all");
    const install = await helm(
      "install",
      allRelease,
      chart,
      "--namespace",
      allNs,
      "--kubeconfig",
      env.kubeconfigPath,
      "--set",
      "crds.install=false",
    );
    expect(install.stderr).toBe("");
    expect(install.code).toBe(0);
    sa = await env.mintServiceAccountKubeconfig(allNs, allName);
  });

  afterAll(async () => {
    await helm("uninstall", allRelease, "--namespace", allNs, "--kubeconfig", env.kubeconfigPath);
  });

  it("Then the ServiceAccount reads PAKE objects and referenced Secrets in every namespace, and still may not write what it does not own", async () => {
    expect(await canI(sa, "watch", "maintenancetasks.pake.dev", "--all-namespaces")).toBe("yes");
    expect(await canI(sa, "create", "jobs.batch", "-n", "default")).toBe("yes");
    // The documented cost of watching all namespaces: Secrets are readable everywhere.
    expect(await canI(sa, "list", "secrets", "-n", "kube-system")).toBe("yes");

    expect(await canI(sa, "update", "secrets", "-n", "kube-system")).toBe("no");
    expect(await canI(sa, "create", "pods", "-n", "kube-system")).toBe("no");
    expect(await canI(sa, "delete", "namespaces")).toBe("no");
    expect(await canI(sa, "create", "clusterrolebindings")).toBe("no");
    expect(await canI(sa, "patch", "nodes")).toBe("no");
    expect(await canI(sa, "create", "leases.coordination.k8s.io", "-n", "kube-system")).toBe("no");
    expect(await canI(sa, "delete", "customresourcedefinitions")).toBe("no");
  });
});

interface PodSpec {
  securityContext?: Record<string, unknown>;
  containers: { args?: string[]; securityContext?: Record<string, unknown> }[];
}

async function podNames(): Promise<string[]> {
  const result = await env.kubectl(
    "get",
    "pods",
    "-n",
    ns,
    "-l",
    `app.kubernetes.io/instance=${release}`,
    "-o",
    "name",
  );
  return result.stdout.split("\n").filter((l) => l !== "");
}

/** The container args of the installed Deployment, minus the subcommand and the bind address. */
async function deploymentFlags(): Promise<string[]> {
  const result = await env.kubectl(
    "get",
    "deployment",
    fullname,
    "-n",
    ns,
    "-o",
    "jsonpath={.spec.template.spec.containers[0].args}",
  );
  const args = JSON.parse(result.stdout) as string[];
  expect(args[0]).toBe("operator");
  expect(args).toContain(`--leader-election-namespace=${ns}`);
  expect(args).toContain(`--namespaces=${ns}`);
  return args.slice(1).filter((a) => !a.startsWith("--metrics-bind-address"));
}

async function leaseHolder(): Promise<string> {
  const result = await env.kubectl(
    "get",
    "lease",
    `${fullname}-leader`,
    "-n",
    ns,
    "-o",
    "jsonpath={.spec.holderIdentity}",
  );
  return result.code === 0 ? result.stdout.trim() : "";
}

async function applyInvalidTask(): Promise<void> {
  const file = join(env.runDir, `helm-mt-${ns}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "pake.dev/v1alpha1",
      kind: "MaintenanceTask",
      metadata: { name: "mars-time", namespace: ns },
      spec: {
        schedule: "0 2 * * *",
        timeZone: "Mars/Olympus_Mons",
        task: { logCleanup: { claimName: "logs", maxAge: "7d" } },
      },
    }),
  );
  const result = await env.kubectl("apply", "-f", file);
  expect(result.stderr).toBe("");
}

async function specValid(): Promise<{ status: string; message: string } | undefined> {
  const result = await env.kubectl("get", "maintenancetask", "mars-time", "-n", ns, "-o", "json");
  const obj = JSON.parse(result.stdout) as {
    status?: { conditions?: { type: string; status: string; message: string }[] };
  };
  return obj.status?.conditions?.find((c) => c.type === "SpecValid");
}

async function eventsOn(name: string, type?: string): Promise<string> {
  const selector = `involvedObject.name=${name}${type ? `,type=${type}` : ""}`;
  const result = await env.kubectl(
    "get",
    "events",
    "-n",
    ns,
    "--field-selector",
    selector,
    "-o",
    "jsonpath={.items[*].message}",
  );
  return result.stdout;
}
