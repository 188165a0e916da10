// Retention after a successful backup: explainRetention (schedule/retention.ts)
// decides, this deletes what it does not keep. A pruned backup is first
// renamed to a temporary name (one atomic step: from then on it is not
// listed, and a run killed mid-prune leaves a .tmp-* leftover the next run
// removes), then its files are deleted, the manifest last.
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { explainRetention, type RetentionRules } from "../../schedule/retention.ts";
import { removeQuietly } from "./files.ts";
import {
  MANIFEST_FILE,
  TEMP_PREFIX,
  listBackups,
  policyDir,
  timeOfBackupId,
  type Manifest,
} from "./manifest.ts";

export interface PruneInput {
  /** The storage directory (<root><path>). */
  storage: string;
  policy: string;
  rules: RetentionRules;
  timeZone: string;
  now: Date;
}

async function deleteBackup(dir: string, manifest: Manifest): Promise<void> {
  const doomed = join(dir, "..", `${TEMP_PREFIX}prune-${manifest.id}`);
  await rename(dir, doomed);
  for (const file of manifest.files) await rm(join(doomed, file.path), { force: true });
  await rm(join(doomed, MANIFEST_FILE), { force: true });
  await removeQuietly(doomed);
}

/** Applies retention to a policy's complete backups; returns the ids deleted, newest first. */
export async function pruneBackups(input: PruneInput): Promise<string[]> {
  const { complete } = await listBackups(input.storage, input.policy);
  const byId = new Map(complete.map((m) => [m.id, m]));
  const decisions = explainRetention(
    complete.map((m) => ({ id: m.id, time: timeOfBackupId(m.id)!, result: "Succeeded" as const })),
    input.rules,
    { timeZone: input.timeZone, now: input.now },
  );
  const pruned: string[] = [];
  for (const decision of decisions.filter((d) => !d.kept)) {
    const dir = join(policyDir(input.storage, input.policy), decision.id);
    await deleteBackup(dir, byId.get(decision.id)!);
    pruned.push(decision.id);
  }
  return pruned;
}
