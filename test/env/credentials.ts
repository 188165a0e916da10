// Kubeconfigs for the local control plane: the admin's, and minted ones for
// other users (client certificates from the cluster CA) and for
// ServiceAccounts (TokenRequest tokens), so tests can exercise RBAC for real.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { issueClientCert } from "./pki.ts";
import { toolchain } from "./toolchain.ts";

const exec = promisify(execFile);

/** What it takes to mint credentials for a cluster: its URL, its PKI directory, the admin kubeconfig. */
export interface ClusterAccess {
  server: string;
  pkiDir: string;
  adminKubeconfig: string;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

function b64file(path: string): string {
  return readFileSync(path).toString("base64");
}

export function writeKubeconfig(
  path: string,
  access: Pick<ClusterAccess, "server" | "pkiDir">,
  user: { name: string; credentials: Record<string, string> },
): void {
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "pake-test",
        cluster: {
          server: access.server,
          "certificate-authority-data": b64file(join(access.pkiDir, "ca.crt")),
        },
      },
    ],
    users: [{ name: user.name, user: user.credentials }],
    contexts: [{ name: "pake-test", context: { cluster: "pake-test", user: user.name } }],
    "current-context": "pake-test",
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
}

/** Client-certificate credentials for a kubeconfig. */
export function certificateCredentials(pair: {
  cert: string;
  key: string;
}): Record<string, string> {
  return { "client-certificate-data": b64file(pair.cert), "client-key-data": b64file(pair.key) };
}

/** A kubeconfig for a user authenticated by a client certificate (CN=name, O=each group). */
export async function mintUserKubeconfig(
  access: ClusterAccess,
  name: string,
  groups: string[] = [],
): Promise<string> {
  const ca = { cert: join(access.pkiDir, "ca.crt"), key: join(access.pkiDir, "ca.key") };
  const pair = await issueClientCert(access.pkiDir, ca, { name, groups });
  const path = pair.cert.replace(/\.crt$/, ".kubeconfig");
  writeKubeconfig(path, access, { name, credentials: certificateCredentials(pair) });
  return path;
}

/** A kubeconfig carrying a TokenRequest token of a ServiceAccount, as a pod would have. */
export async function mintServiceAccountKubeconfig(
  access: ClusterAccess,
  namespace: string,
  name: string,
): Promise<string> {
  const result = await runKubectl(access.adminKubeconfig, [
    "create",
    "token",
    name,
    "-n",
    namespace,
    "--duration=2h",
  ]);
  if (result.code !== 0)
    throw new Error(`kubectl create token ${namespace}/${name} failed: ${result.stderr}`);
  const path = join(access.pkiDir, `sa-${namespace}-${name}.kubeconfig`);
  writeKubeconfig(path, access, {
    name: `system:serviceaccount:${namespace}:${name}`,
    credentials: { token: result.stdout.trim() },
  });
  return path;
}

/** Runs the real kubectl with a kubeconfig; never throws on a non-zero exit. */
export async function runKubectl(kubeconfig: string, args: string[]): Promise<KubectlResult> {
  try {
    const { stdout, stderr } = await exec(
      join(toolchain().k8sBin, "kubectl"),
      [`--kubeconfig=${kubeconfig}`, ...args],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return {
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
      code: typeof e.code === "number" ? e.code : 1,
    };
  }
}
