// Pure schedule semantics of MaintenanceTask (and BackupPolicy): cron parsing,
// hashed-random macros, time zones, next/previous times across DST, the
// run/wait/missed decision, Job names and the concurrency policy.
export {
  CRON_MACROS,
  CronError,
  dayMatches,
  expandMacro,
  parseCron,
  tryParseCron,
  type CronExpression,
} from "./cron.ts";
export {
  assertTimeZone,
  formatInZone,
  offsetAt,
  validateTimeZone,
  wallTime,
  wallToInstant,
  type ZoneValidation,
} from "./zone.ts";
export { nextTime, nextTimes, prevTime } from "./next.ts";
export {
  RANDOM_MACRO_NAMES,
  resolveSchedule,
  type ResolvedSchedule,
  type ScheduleOwner,
} from "./resolve.ts";
export {
  MISSED_COUNT_LIMIT,
  decide,
  type DecideInput,
  type Decision,
  type DecisionAction,
} from "./decide.ts";
export {
  MAX_NAME_LENGTH,
  isDnsLabel,
  keyedJobName,
  onceJobName,
  runNowJobName,
  scheduledJobName,
} from "./names.ts";
export {
  decideConcurrency,
  type ConcurrencyDecision,
  type ConcurrencyInput,
  type ConcurrencyPolicy,
} from "./concurrency.ts";
export { explainSchedule, type ExplainInput, type ExplainOutput } from "./explain.ts";
export {
  explainRetention,
  type BackupResult,
  type RetentionBackup,
  type RetentionDecision,
  type RetentionOptions,
  type RetentionRules,
} from "./retention.ts";
