// cacheCleanup: delete Redis keys matching a pattern and/or idle for longer
// than idleTime (OBJECT IDLETIME), walking the keyspace with SCAN … COUNT and
// deleting with UNLINK (non-blocking), batch by batch; or FLUSHDB, only when
// the config carries confirmFlush: true. The URL comes from the environment.
import { Redis } from "ioredis";
import { z } from "zod";
import { DURATION_PATTERN, AGE_PATTERN, parseDuration } from "../lib/duration.ts";
import { parseConfig } from "./config.ts";
import { envOf, redisUrl } from "./env.ts";
import { runTaskBody } from "./result.ts";
import type { TaskContext, TaskOutcome, TaskResult } from "./types.ts";

const durationText = z
  .string()
  .refine(
    (v) => DURATION_PATTERN.test(v) || AGE_PATTERN.test(v),
    'a duration such as "30m", "24h" or "7d"',
  );

/** The CRD's cacheCleanup fields (urlSecretRef becomes PAKE_REDIS_URL in the Job). */
export const CacheCleanupConfig = z
  .object({
    pattern: z.string().min(1).max(256).optional(),
    idleTime: durationText.optional(),
    batchSize: z.int().min(10).max(10000).default(1000),
    maxKeys: z.int().min(1).optional(),
    flush: z.boolean().default(false),
    confirmFlush: z.boolean().default(false),
    dryRun: z.boolean().default(false),
  })
  .refine((c) => c.flush || c.pattern !== undefined || c.idleTime !== undefined, {
    message: "cacheCleanup needs pattern, idleTime or flush",
  })
  .refine((c) => !c.flush || (c.pattern === undefined && c.idleTime === undefined), {
    message: "flush cannot be combined with pattern or idleTime",
    path: ["flush"],
  });
export type CacheCleanupConfig = z.output<typeof CacheCleanupConfig>;
export type CacheCleanupInput = z.input<typeof CacheCleanupConfig>;

interface Tally {
  scanned: number;
  matched: number;
  removed: number;
  sample: string[];
}

const SAMPLE = 20;

/** Keys of a batch idle for at least `idleSeconds` (keys gone meanwhile are dropped). */
async function idleKeys(client: Redis, keys: string[], idleSeconds: number): Promise<string[]> {
  const pipeline = client.pipeline();
  for (const key of keys) pipeline.object("IDLETIME", key);
  const replies = (await pipeline.exec()) ?? [];
  const out: string[] = [];
  replies.forEach(([err, idle], i) => {
    if (err) throw new Error(`OBJECT IDLETIME failed: ${err.message}`);
    if (typeof idle === "number" && idle >= idleSeconds) out.push(keys[i]!);
  });
  return out;
}

async function removeBatch(
  client: Redis,
  keys: string[],
  config: CacheCleanupConfig,
  tally: Tally,
): Promise<void> {
  const room = config.maxKeys === undefined ? keys.length : config.maxKeys - tally.matched;
  const chosen = keys.slice(0, Math.max(0, room));
  tally.matched += chosen.length;
  for (const key of chosen) if (tally.sample.length < SAMPLE) tally.sample.push(key);
  if (chosen.length === 0) return;
  tally.removed += config.dryRun ? chosen.length : await client.unlink(...chosen);
}

async function scanAndRemove(
  client: Redis,
  config: CacheCleanupConfig,
  signal?: AbortSignal,
): Promise<Tally> {
  const tally: Tally = { scanned: 0, matched: 0, removed: 0, sample: [] };
  const idleSeconds =
    config.idleTime === undefined ? undefined : parseDuration(config.idleTime) / 1000;
  let cursor = "0";
  do {
    if (signal?.aborted) throw new Error("aborted");
    const [next, keys] = await client.scan(
      cursor,
      "MATCH",
      config.pattern ?? "*",
      "COUNT",
      config.batchSize,
    );
    cursor = next;
    tally.scanned += keys.length;
    const candidates = idleSeconds === undefined ? keys : await idleKeys(client, keys, idleSeconds);
    await removeBatch(client, candidates, config, tally);
  } while (cursor !== "0" && (config.maxKeys === undefined || tally.matched < config.maxKeys));
  return tally;
}

async function flush(client: Redis, config: CacheCleanupConfig): Promise<TaskOutcome> {
  if (!config.confirmFlush) {
    return {
      result: "Failed",
      summary: "refused to flush: set confirmFlush: true to confirm deleting every key",
      details: { flushed: false },
      error: "flush requires confirmFlush: true",
    };
  }
  const before = await client.dbsize();
  if (!config.dryRun) await client.flushdb("ASYNC");
  return {
    summary: `${config.dryRun ? "would flush" : "flushed"} the database (${before} key(s))`,
    details: {
      flushed: !config.dryRun,
      keysRemoved: config.dryRun ? 0 : before,
      keysBefore: before,
      dryRun: config.dryRun,
    },
  };
}

function describeFilter(config: CacheCleanupConfig): string {
  const parts = [];
  if (config.pattern !== undefined) parts.push(`matching ${JSON.stringify(config.pattern)}`);
  if (config.idleTime !== undefined) parts.push(`idle ≥ ${config.idleTime}`);
  return parts.join(" and ");
}

async function clean(
  client: Redis,
  config: CacheCleanupConfig,
  signal?: AbortSignal,
): Promise<TaskOutcome> {
  if (config.flush) return flush(client, config);
  const tally = await scanAndRemove(client, config, signal);
  const verb = config.dryRun ? "would remove" : "removed";
  return {
    summary: `${verb} ${config.dryRun ? tally.matched : tally.removed} key(s) ${describeFilter(config)} of ${tally.scanned} scanned`,
    details: {
      keysScanned: tally.scanned,
      keysMatched: tally.matched,
      keysRemoved: tally.removed,
      dryRun: config.dryRun,
      ...(config.maxKeys !== undefined && tally.matched >= config.maxKeys
        ? { stoppedAtMaxKeys: true }
        : {}),
    },
    data: { sample: tally.sample },
  };
}

export async function runCacheCleanup(
  input: CacheCleanupInput,
  ctx: TaskContext = {},
): Promise<TaskResult> {
  return runTaskBody("cacheCleanup", ctx.now, async () => {
    const config = parseConfig("cacheCleanup", CacheCleanupConfig, input);
    const client = new Redis(redisUrl(envOf(ctx)), {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      connectTimeout: 10_000,
      connectionName: "pake-operator-task",
    });
    client.on("error", () => undefined); // reported through the failing command
    try {
      await client.connect();
      return await clean(client, config, ctx.signal);
    } finally {
      client.disconnect();
    }
  });
}
