// A ServiceAccount allowed to read the operator's protected endpoints
// (/metrics, /health/detailed, /health/<namespace>/<name>), as Prometheus
// would be: the RBAC rule is a non-resource `get` on those paths. Tests read
// the operator's endpoints with its token; set up once per cluster.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runKubectl } from "./credentials.ts";

export const ENDPOINT_READER = { namespace: "default", name: "pake-test-endpoint-reader" };
/** The paths the reader may get. */
export const ENDPOINT_READER_PATHS = ["/metrics", "/health", "/health/*"];

const MANIFEST = `apiVersion: v1
kind: ServiceAccount
metadata: {name: ${ENDPOINT_READER.name}, namespace: ${ENDPOINT_READER.namespace}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ${ENDPOINT_READER.name}}
rules:
  - nonResourceURLs: ${JSON.stringify(ENDPOINT_READER_PATHS)}
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ${ENDPOINT_READER.name}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${ENDPOINT_READER.name}}
subjects:
  - {kind: ServiceAccount, name: ${ENDPOINT_READER.name}, namespace: ${ENDPOINT_READER.namespace}}
`;

const tokens = new Map<string, Promise<string>>();

/** A TokenRequest token of a ServiceAccount (2 h). */
export async function serviceAccountToken(
  adminKubeconfig: string,
  namespace: string,
  name: string,
): Promise<string> {
  const res = await runKubectl(adminKubeconfig, [
    "create",
    "token",
    name,
    "-n",
    namespace,
    "--duration=2h",
  ]);
  if (res.code !== 0) throw new Error(`kubectl create token ${namespace}/${name}: ${res.stderr}`);
  return res.stdout.trim();
}

async function setUp(adminKubeconfig: string, runDir: string): Promise<string> {
  const file = join(runDir, `endpoint-reader-${process.pid}.yaml`);
  writeFileSync(file, MANIFEST);
  // Several test workers may apply at once: server-side apply converges; retry a lost race.
  for (let attempt = 0; ; attempt++) {
    const res = await runKubectl(adminKubeconfig, ["apply", "--server-side", "-f", file]);
    if (res.code === 0) break;
    if (attempt >= 3) throw new Error(`Failed to create the endpoint reader: ${res.stderr}`);
  }
  return serviceAccountToken(adminKubeconfig, ENDPOINT_READER.namespace, ENDPOINT_READER.name);
}

/** The endpoint reader's token for the cluster of adminKubeconfig (created on first use). */
export function endpointReaderToken(adminKubeconfig: string, runDir: string): Promise<string> {
  let token = tokens.get(adminKubeconfig);
  if (!token) {
    token = setUp(adminKubeconfig, runDir);
    tokens.set(adminKubeconfig, token);
    token.catch(() => tokens.delete(adminKubeconfig));
  }
  return token;
}
