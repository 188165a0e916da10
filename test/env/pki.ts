// Certificates for the local control plane, made with the openssl CLI: a CA
// that signs the API server's serving certificate and every client
// certificate (admin in system:masters, and any user a test mints), plus the
// service-account signing key pair.
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);

export interface KeyPair {
  cert: string;
  key: string;
}

interface CertRequest {
  dir: string;
  name: string;
  subject: string;
  extensions: string[];
  ca?: KeyPair;
}

async function issue(request: CertRequest): Promise<KeyPair> {
  const config = join(request.dir, `${request.name}.cnf`);
  writeFileSync(
    config,
    [
      "[req]",
      "distinguished_name = dn",
      "prompt = no",
      "[dn]",
      "CN = unused",
      "[ext]",
      ...request.extensions,
      "",
    ].join("\n"),
  );
  const pair = {
    cert: join(request.dir, `${request.name}.crt`),
    key: join(request.dir, `${request.name}.key`),
  };
  const signer = request.ca ? ["-CA", request.ca.cert, "-CAkey", request.ca.key] : [];
  await exec("openssl", [
    "req",
    "-x509",
    ...signer,
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "30",
    "-config",
    config,
    "-extensions",
    "ext",
    "-subj",
    request.subject,
    "-keyout",
    pair.key,
    "-out",
    pair.cert,
  ]);
  return pair;
}

export function createCa(dir: string): Promise<KeyPair> {
  return issue({
    dir,
    name: "ca",
    subject: "/CN=pake-test-ca",
    extensions: [
      "basicConstraints = critical, CA:TRUE",
      "keyUsage = critical, keyCertSign, cRLSign, digitalSignature",
      "subjectKeyIdentifier = hash",
    ],
  });
}

export function issueServingCert(dir: string, ca: KeyPair, hosts: string[]): Promise<KeyPair> {
  const sans = hosts.map((h) => (/^[\d.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(", ");
  return issue({
    dir,
    ca,
    name: "apiserver",
    subject: "/CN=kube-apiserver",
    extensions: [
      "basicConstraints = critical, CA:FALSE",
      "keyUsage = critical, digitalSignature, keyEncipherment",
      "extendedKeyUsage = serverAuth",
      `subjectAltName = ${sans}`,
    ],
  });
}

/** A client certificate: CN is the user name, each O a group. */
export function issueClientCert(
  dir: string,
  ca: KeyPair,
  user: { name: string; groups?: string[] },
): Promise<KeyPair> {
  const orgs = (user.groups ?? []).map((g) => `/O=${g}`).join("");
  const safe = user.name.replace(/[^a-zA-Z0-9-]/g, "_");
  return issue({
    dir,
    ca,
    name: `client-${safe}`,
    subject: `/CN=${user.name}${orgs}`,
    extensions: [
      "basicConstraints = critical, CA:FALSE",
      "keyUsage = critical, digitalSignature, keyEncipherment",
      "extendedKeyUsage = clientAuth",
    ],
  });
}

export function createServiceAccountKeys(dir: string): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pair = { cert: join(dir, "sa.pub"), key: join(dir, "sa.key") };
  writeFileSync(pair.cert, publicKey.export({ type: "spki", format: "pem" }));
  writeFileSync(pair.key, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  return pair;
}
