// The Secrets a HealthCheck references, read and watched by name only.
//
// There is no Secret cache of a namespace or of the cluster: for each
// referenced Secret (namespace/name) one informer runs with the field
// selector `metadata.name=<name>`, so the API server sends this one Secret
// and nothing else. The informer lives while at least one HealthCheck
// references the Secret; a change (or creation, or deletion) of the Secret
// enqueues the HealthChecks that reference it, whose reconcile passes the
// Secret's resourceVersion to the probe engine as `connectionVersion`, which
// closes the old connections and reconnects.
import type { KubeConfig } from "@kubernetes/client-node";
import { isNotFound } from "../../runtime/errors.ts";
import { Informer } from "../../runtime/informer.ts";
import type { KubeClient, KubeObject } from "../../runtime/kube.ts";
import type { Logger } from "../../runtime/log.ts";
import { SecretKind } from "../../lib/kinds.ts";
import { decodeSecretData, type SecretData } from "../../probes/resolve.ts";

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

export interface ReadSecret {
  data: SecretData;
  resourceVersion: string;
}

export interface SecretWatcherOptions {
  kubeConfig: KubeConfig;
  client: KubeClient;
  logger: Logger;
  /** Called with the keys ("ns/name") of HealthChecks whose Secret changed. */
  onChange: (checkKeys: string[]) => void;
  /** Informer factory (tests). */
  informer?: (namespace: string, name: string) => Informer<SecretObject>;
}

interface Watch {
  informer: Informer<SecretObject>;
  checks: Set<string>;
}

const secretKey = (namespace: string, name: string): string => `${namespace}/${name}`;

export class SecretWatcher {
  private readonly opts: SecretWatcherOptions;
  private readonly watches = new Map<string, Watch>();
  /** check key → the secret keys it references. */
  private readonly refs = new Map<string, Set<string>>();
  private stopped = false;

  constructor(opts: SecretWatcherOptions) {
    this.opts = opts;
  }

  /** Number of Secrets watched (each by name). */
  get size(): number {
    return this.watches.size;
  }

  /** Sets the Secrets a check references; starts and stops the per-Secret watches. */
  track(checkKey: string, namespace: string, names: string[]): void {
    if (this.stopped) return;
    const wanted = new Set(names.map((n) => secretKey(namespace, n)));
    const before = this.refs.get(checkKey) ?? new Set<string>();
    for (const key of before) if (!wanted.has(key)) this.release(checkKey, key);
    for (const name of names) this.acquire(checkKey, namespace, name);
    if (wanted.size > 0) this.refs.set(checkKey, wanted);
    else this.refs.delete(checkKey);
  }

  /** The check no longer exists (or no longer references anything). */
  forget(checkKey: string): void {
    this.track(checkKey, "", []);
  }

  /** Reads a Secret: from its by-name watch once synced, else with one GET. */
  async read(namespace: string, name: string): Promise<ReadSecret | undefined> {
    const watch = this.watches.get(secretKey(namespace, name));
    if (watch?.informer.hasSynced()) {
      const cached = watch.informer.get(namespace, name);
      return cached ? toRead(cached) : undefined;
    }
    try {
      const secret = await this.opts.client.get<SecretObject>(SecretKind, { namespace, name });
      return toRead(secret);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const watches = [...this.watches.values()];
    this.watches.clear();
    this.refs.clear();
    await Promise.all(watches.map((w) => w.informer.stop()));
  }

  private acquire(checkKey: string, namespace: string, name: string): void {
    const key = secretKey(namespace, name);
    const existing = this.watches.get(key);
    if (existing) {
      existing.checks.add(checkKey);
      return;
    }
    const informer = this.opts.informer?.(namespace, name) ?? this.makeInformer(namespace, name);
    const watch: Watch = { informer, checks: new Set([checkKey]) };
    const notify = (): void => this.opts.onChange([...watch.checks]);
    informer.on({ add: notify, update: notify, delete: notify });
    this.watches.set(key, watch);
    void informer.start();
    this.opts.logger.debug({ secret: key }, "Started watching Secret by name");
  }

  private release(checkKey: string, key: string): void {
    const watch = this.watches.get(key);
    if (!watch) return;
    watch.checks.delete(checkKey);
    if (watch.checks.size > 0) return;
    this.watches.delete(key);
    void watch.informer.stop();
    this.opts.logger.debug({ secret: key }, "Stopped watching Secret");
  }

  private makeInformer(namespace: string, name: string): Informer<SecretObject> {
    return new Informer<SecretObject>({
      kubeConfig: this.opts.kubeConfig,
      client: this.opts.client,
      kind: SecretKind,
      namespaces: [namespace],
      fieldSelector: `metadata.name=${name}`,
      logger: this.opts.logger,
    });
  }
}

function toRead(secret: SecretObject): ReadSecret {
  return {
    data: decodeSecretData(secret.data),
    resourceVersion: secret.metadata.resourceVersion ?? "",
  };
}
