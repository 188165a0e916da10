// Per-check connection resources, reused across probes (see ResourcePool).
import type { ResourcePool, ResourceSpec } from "./types.ts";

interface Entry {
  resource: unknown;
  configKey: string | undefined;
  dispose: ((resource: unknown) => Promise<void> | void) | undefined;
}

async function disposeEntry(entry: Entry): Promise<void> {
  try {
    await entry.dispose?.(entry.resource);
  } catch {
    // A connection that fails to close is gone anyway.
  }
}

export class CheckResourcePool implements ResourcePool {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  get<T>(name: string, spec: ResourceSpec<T>): T {
    if (this.closed) throw new Error("connection pool of this check is closed");
    const existing = this.entries.get(name);
    if (existing && existing.configKey === spec.configKey) return existing.resource as T;
    if (existing) void disposeEntry(existing);
    const resource = spec.create();
    this.entries.set(name, {
      resource,
      configKey: spec.configKey,
      dispose: spec.dispose as Entry["dispose"],
    });
    return resource;
  }

  async discard(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) return;
    this.entries.delete(name);
    await disposeEntry(entry);
  }

  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map(disposeEntry));
  }

  /** Names of the live resources (for tests and debugging). */
  names(): string[] {
    return [...this.entries.keys()];
  }
}
