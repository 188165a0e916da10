// An in-memory LeaseStore with the API server's optimistic concurrency
// (resourceVersion, 409 on a stale write), for unit tests of election logic.
import {
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  type StoredLease,
} from "../../../src/runtime/leader-election.ts";

export class MemoryLeaseStore implements LeaseStore {
  readonly key: string;
  lease: StoredLease | undefined;
  /** While true every call rejects, like an unreachable API server. */
  failing = false;
  writes = 0;
  private version = 0;

  constructor(key = "test/lease") {
    this.key = key;
  }

  get(): Promise<StoredLease | undefined> {
    return this.guard(() => (this.lease ? structuredClone(this.lease) : undefined));
  }

  create(record: LeaseRecord): Promise<StoredLease> {
    return this.guard(() => {
      if (this.lease) throw new LeaseConflictError("already exists");
      return this.write(record);
    });
  }

  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease> {
    return this.guard(() => {
      if (this.lease?.resourceVersion !== resourceVersion) throw new LeaseConflictError("stale");
      return this.write(record);
    });
  }

  /** Writes a record as some other party would (no concurrency check). */
  force(record: LeaseRecord): StoredLease {
    return this.write(record);
  }

  private write(record: LeaseRecord): StoredLease {
    this.writes++;
    this.lease = { record: structuredClone(record), resourceVersion: String(++this.version) };
    return structuredClone(this.lease);
  }

  private guard<T>(fn: () => T): Promise<T> {
    if (this.failing) return Promise.reject(new Error("connection refused"));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
