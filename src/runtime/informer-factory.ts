// One informer per (kind, label selector) for the whole process, so two
// controllers that watch the same resource (say, Jobs) share one list+watch
// and one cache instead of opening two. Handles are reference-counted: the
// informer starts with its first user and stops with its last.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Clock } from "./clock.ts";
import { Informer, type InformerOptions } from "./informer.ts";
import type { KindDescriptor, KubeClient, KubeObject } from "./kube.ts";
import type { Logger } from "./log.ts";

/** A user's handle on a shared informer; start/stop count users. */
export interface SharedInformer<T extends KubeObject> {
  readonly informer: Informer<T>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface InformerSource {
  get<T extends KubeObject>(kind: KindDescriptor, labelSelector?: string): SharedInformer<T>;
}

export interface InformerFactoryOptions {
  kubeConfig: KubeConfig;
  client: KubeClient;
  /** Namespaces to watch; undefined or empty: all. */
  namespaces?: string[];
  clock?: Clock;
  logger?: Logger;
  informer?: Pick<InformerOptions, "timeoutSeconds" | "watchdogMarginMs" | "backoff" | "pageSize">;
}

interface Entry {
  informer: Informer;
  users: number;
}

export class InformerFactory implements InformerSource {
  private readonly entries = new Map<string, Entry>();
  private readonly opts: InformerFactoryOptions;

  constructor(opts: InformerFactoryOptions) {
    this.opts = opts;
  }

  get<T extends KubeObject>(kind: KindDescriptor, labelSelector?: string): SharedInformer<T> {
    const entry = this.entry(kind, labelSelector);
    let started = false;
    return {
      informer: entry.informer as unknown as Informer<T>,
      start: async () => {
        if (started) return;
        started = true;
        entry.users++;
        await entry.informer.start();
      },
      stop: async () => {
        if (!started) return;
        started = false;
        entry.users--;
        if (entry.users === 0) await entry.informer.stop();
      },
    };
  }

  /** Informers created so far (one per kind and selector). */
  size(): number {
    return this.entries.size;
  }

  private entry(kind: KindDescriptor, labelSelector: string | undefined): Entry {
    const key = `${kind.group}/${kind.version}/${kind.plural}?${labelSelector ?? ""}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = {
        users: 0,
        informer: new Informer({
          ...this.opts.informer,
          kubeConfig: this.opts.kubeConfig,
          kind,
          namespaces: this.opts.namespaces,
          labelSelector,
          client: this.opts.client,
          clock: this.opts.clock,
          logger: this.opts.logger,
        }),
      };
      this.entries.set(key, entry);
    }
    return entry;
  }
}
