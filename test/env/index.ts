// The test environment: real parts started as local processes. Shared by the
// integration tests and `make dev` (tools/dev.ts).
export {
  ControlPlane,
  startControlPlane,
  baseDir,
  type ControlPlaneOptions,
} from "./control-plane.ts";
export {
  runKubectl,
  mintUserKubeconfig,
  mintServiceAccountKubeconfig,
  writeKubeconfig,
  type ClusterAccess,
  type KubectlResult,
} from "./credentials.ts";
export { Postgres, startPostgres, type PostgresOptions } from "./postgres.ts";
export { Redis, startRedis, redisCommand, type RedisOptions } from "./redis.ts";
export {
  Alertmanager,
  startAlertmanager,
  ALERTMANAGER_BIN,
  type AlertmanagerAlertState,
} from "./alertmanager.ts";
export { ManagedProcess, startProcess, waitFor, sweepRecordedPids } from "./processes.ts";
export { freePort } from "./ports.ts";
export { toolchain } from "./toolchain.ts";
export {
  useSharedEnv,
  createTestNamespace,
  installCrds,
  type SharedEnv,
  type SharedEnvInfo,
} from "./shared.ts";
export {
  endpointReaderToken,
  serviceAccountToken,
  ENDPOINT_READER,
  ENDPOINT_READER_PATHS,
} from "./endpoint-reader.ts";
export {
  startOperator,
  killOperators,
  repoRoot,
  type OperatorOptions,
  type OperatorProcess,
} from "./operator.ts";
export {
  startPodRunner,
  POD_RUNNER_SELECTOR,
  type PodRunner,
  type PodRunnerOptions,
  type PodRun,
} from "./pod-runner.ts";
export {
  startOperatorWithJobs,
  createClaims,
  E2E_RUNNER_IMAGE,
  type OperatorWithJobs,
} from "./operator-with-jobs.ts";
export { createUriSecret, databaseUri, sqlOn } from "./databases.ts";
export { CANARY_MARKER, canaryValue } from "./canary.ts";
export { reconcileContext } from "./reconcile-context.ts";
