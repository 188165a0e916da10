// A real Kubernetes control plane as local processes: etcd, kube-apiserver
// (RBAC on, client-certificate and service-account-token authentication) and
// kube-controller-manager (garbage collector, Job, CronJob, namespace,
// service-account and workload controllers). No kubelet and no scheduler:
// Pods stay Pending unless a test plays the kubelet for them.
import { KubeConfig } from "@kubernetes/client-node";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  certificateCredentials,
  mintServiceAccountKubeconfig,
  mintUserKubeconfig,
  runKubectl,
  writeKubeconfig,
  type ClusterAccess,
  type KubectlResult,
} from "./credentials.ts";
import {
  createCa,
  createServiceAccountKeys,
  issueClientCert,
  issueServingCert,
  type KeyPair,
} from "./pki.ts";
import { freePort } from "./ports.ts";
import { startProcess, waitFor, type ManagedProcess } from "./processes.ts";
import { toolchain } from "./toolchain.ts";

export interface ControlPlaneOptions {
  /** Start kube-controller-manager too (default true). */
  controllerManager?: boolean;
  /** Directory to keep state and logs in (default: a new temporary one). */
  dir?: string;
  /** Extra kube-apiserver flags, e.g. ["--watch-cache=false"]. */
  apiServerArgs?: string[];
}

/** The controllers a test cluster needs: ownership, Jobs, namespaces, accounts, workloads. */
const controllers = [
  "garbagecollector",
  "job",
  "cronjob",
  "ttl-after-finished",
  "namespace",
  "serviceaccount",
  "serviceaccount-token",
  "root-ca-certificate-publisher-controller",
  "deployment",
  "replicaset",
  "statefulset",
  "daemonset",
];

export function baseDir(): string {
  const root = process.env.PAKE_TEST_RUN_DIR ?? join(tmpdir(), "pake-test");
  mkdirSync(root, { recursive: true });
  return root;
}

export class ControlPlane {
  readonly dir: string;
  readonly version = toolchain().k8sVersion;
  readonly kubeconfigPath: string;
  server = "";
  private readonly options: ControlPlaneOptions;
  private ca!: KeyPair;
  private admin!: KeyPair;
  private serviceAccount!: KeyPair;
  private serving!: KeyPair;
  private etcdPort = 0;
  private apiPort = 0;
  private etcd?: ManagedProcess;
  private apiServer?: ManagedProcess;
  private controllerManager?: ManagedProcess;

  constructor(options: ControlPlaneOptions = {}) {
    this.options = options;
    this.dir = options.dir ?? mkdtempSync(join(baseDir(), "cp-"));
    mkdirSync(join(this.dir, "pki"), { recursive: true });
    this.kubeconfigPath = join(this.dir, "admin.kubeconfig");
  }

  async start(): Promise<this> {
    const pki = join(this.dir, "pki");
    this.ca = await createCa(pki);
    this.serving = await issueServingCert(pki, this.ca, [
      "127.0.0.1",
      "localhost",
      "10.0.0.1",
      "kubernetes",
      "kubernetes.default.svc",
    ]);
    this.admin = await issueClientCert(pki, this.ca, { name: "admin", groups: ["system:masters"] });
    this.serviceAccount = createServiceAccountKeys(pki);
    this.etcdPort = await freePort();
    this.apiPort = await freePort();
    this.server = `https://127.0.0.1:${this.apiPort}`;
    writeKubeconfig(this.kubeconfigPath, this.access, {
      name: "admin",
      credentials: certificateCredentials(this.admin),
    });
    await this.startEtcd();
    await this.startApiServer();
    if (this.options.controllerManager !== false) await this.startControllerManager();
    return this;
  }

  /** A client for the admin user (system:masters). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  /** Runs the real kubectl against this cluster as admin (or another kubeconfig). */
  async kubectl(...args: string[]): Promise<KubectlResult> {
    return runKubectl(this.kubeconfigPath, args);
  }

  async stopApiServer(): Promise<void> {
    await this.apiServer?.stop(20_000);
  }

  async startApiServer(): Promise<void> {
    const pki = join(this.dir, "pki");
    this.apiServer = startProcess({
      name: "kube-apiserver",
      command: join(toolchain().k8sBin, "kube-apiserver"),
      logFile: join(this.dir, "kube-apiserver.log"),
      args: [
        `--etcd-servers=http://127.0.0.1:${this.etcdPort}`,
        `--secure-port=${this.apiPort}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--cert-dir=${pki}`,
        `--tls-cert-file=${this.serving.cert}`,
        `--tls-private-key-file=${this.serving.key}`,
        `--client-ca-file=${this.ca.cert}`,
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${this.serviceAccount.cert}`,
        `--service-account-signing-key-file=${this.serviceAccount.key}`,
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        "--profiling=false",
        // The kubernetes Service endpoints must not be loopback; nothing here needs them.
        "--endpoint-reconciler-type=none",
        ...(this.options.apiServerArgs ?? []),
      ],
    });
    await waitFor(async () => (await this.get("/readyz")).status === 200, {
      what: "kube-apiserver /readyz",
      process: this.apiServer,
      timeoutMs: 90_000,
    });
  }

  async restartApiServer(): Promise<void> {
    await this.stopApiServer();
    await this.startApiServer();
  }

  /** What minting credentials for this cluster takes (also handed to test workers). */
  get access(): ClusterAccess {
    return {
      server: this.server,
      pkiDir: join(this.dir, "pki"),
      adminKubeconfig: this.kubeconfigPath,
    };
  }

  mintUserKubeconfig(name: string, groups: string[] = []): Promise<string> {
    return mintUserKubeconfig(this.access, name, groups);
  }

  mintServiceAccountKubeconfig(namespace: string, name: string): Promise<string> {
    return mintServiceAccountKubeconfig(this.access, namespace, name);
  }

  /** GET a path as admin; resolves with the status and body (never throws on HTTP errors). */
  get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.server}${path}`,
        {
          ca: readFileSync(this.ca.cert),
          cert: readFileSync(this.admin.cert),
          key: readFileSync(this.admin.key),
          timeout: 5_000,
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end();
    });
  }

  async stop(options: { keepDir?: boolean } = {}): Promise<void> {
    await this.controllerManager?.stop();
    await this.apiServer?.stop(20_000);
    await this.etcd?.stop();
    if (!options.keepDir && !this.options.dir && !process.env.PAKE_KEEP_TEST_DIRS) {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private async startEtcd(): Promise<void> {
    const peerPort = await freePort();
    this.etcd = startProcess({
      name: "etcd",
      command: join(toolchain().k8sBin, "etcd"),
      logFile: join(this.dir, "etcd.log"),
      args: [
        "--name=default",
        `--data-dir=${join(this.dir, "etcd")}`,
        `--listen-client-urls=http://127.0.0.1:${this.etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${this.etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ],
    });
    await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${this.etcdPort}/health`);
        return res.ok && ((await res.json()) as { health?: string }).health === "true";
      },
      { what: "etcd /health", process: this.etcd },
    );
  }

  private async startControllerManager(): Promise<void> {
    const port = await freePort();
    this.controllerManager = startProcess({
      name: "kube-controller-manager",
      command: join(toolchain().k8sBin, "kube-controller-manager"),
      logFile: join(this.dir, "kube-controller-manager.log"),
      args: [
        `--kubeconfig=${this.kubeconfigPath}`,
        `--authentication-kubeconfig=${this.kubeconfigPath}`,
        `--authorization-kubeconfig=${this.kubeconfigPath}`,
        `--controllers=${controllers.join(",")}`,
        `--service-account-private-key-file=${this.serviceAccount.key}`,
        `--root-ca-file=${this.ca.cert}`,
        "--use-service-account-credentials=false",
        "--leader-elect=false",
        `--secure-port=${port}`,
        "--bind-address=127.0.0.1",
        `--cert-dir=${join(this.dir, "pki", "kcm")}`,
        "--concurrent-job-syncs=10",
      ],
    });
    // The service-account controller creating "default" shows the controllers run.
    await waitFor(
      async () =>
        (await this.get("/api/v1/namespaces/default/serviceaccounts/default")).status === 200,
      {
        what: "kube-controller-manager to create the default ServiceAccount",
        process: this.controllerManager,
      },
    );
  }
}

export type { KubectlResult };

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const cp = new ControlPlane(options);
  try {
    return await cp.start();
  } catch (error) {
    await cp.stop({ keepDir: true });
    throw error;
  }
}
