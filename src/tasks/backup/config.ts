// The backup runner's config (`pake-operator run backup`), built by the
// BackupPolicy controller from the policy's spec. Credentials are never in it:
// the connection comes from the environment (../env.ts).
import { join } from "node:path";
import { z } from "zod";
import { AGE_PATTERN } from "../../lib/duration.ts";
import { validateTimeZone } from "../../schedule/zone.ts";
import { BACKUP_ROOT, timeOfBackupId } from "./manifest.ts";

const keep = z.int().min(0).max(1000).optional();

export const BackupConfig = z.object({
  policy: z.object({ namespace: z.string().min(1), name: z.string().min(1).max(253) }),
  /** The slot's backup id, chosen by the controller and stable across pod retries. */
  id: z
    .string()
    .refine((id) => timeOfBackupId(id) !== undefined, "a backup id such as 20261201T010000Z"),
  /** Where the storage volume is mounted. */
  root: z.string().min(1).default(BACKUP_ROOT),
  /** spec.storage.path: the directory on the volume. */
  path: z
    .string()
    .regex(/^\//, "an absolute path")
    .refine((p) => !p.split("/").includes(".."), "no .. segments")
    .default("/"),
  databases: z.array(z.string().min(1).max(63)).max(64).optional(),
  format: z.enum(["custom", "plain", "directory"]).default("custom"),
  compression: z
    .object({
      algorithm: z.enum(["none", "gzip", "lz4", "zstd"]).default("gzip"),
      level: z.int().min(1).max(22).optional(),
    })
    .default({ algorithm: "gzip" }),
  retention: z
    .object({
      keepLast: keep,
      keepDaily: keep,
      keepWeekly: keep,
      keepMonthly: keep,
      maxAge: z.string().regex(AGE_PATTERN, 'an age such as "30d" or "2w"').optional(),
    })
    .default({ keepLast: 7 }),
  /** Retention's calendar; checked up front, so a bad zone fails before dumping, not after. */
  timeZone: z
    .string()
    .min(1)
    .refine((zone) => validateTimeZone(zone).valid, "an IANA time zone such as Europe/Berlin")
    .default("UTC"),
});
export type BackupConfig = z.output<typeof BackupConfig>;
export type BackupInput = z.input<typeof BackupConfig>;
export type BackupFormat = BackupConfig["format"];
export type BackupCompression = BackupConfig["compression"];

/** The storage directory on the volume: <root><path>. */
export function storageRoot(config: Pick<BackupConfig, "root" | "path">): string {
  return join(config.root, config.path);
}
