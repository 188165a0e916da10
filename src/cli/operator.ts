// `pake-operator operator [flags]`: runs the manager with every controller.
// The operator's modules (controllers, the Kubernetes client) are loaded when
// this command runs, not when the CLI starts: the same binary runs task and
// backup Jobs, which need none of them.
import type { KubeConfig } from "@kubernetes/client-node";
import {
  ConfigError,
  operatorFlagsUsage,
  parseOperatorConfig,
  type OperatorConfig,
} from "./operator-config.ts";
import type { RequestAuthorizer } from "../runtime/auth.ts";
import { log } from "../runtime/log.ts";
import type { Command, CommandContext } from "./types.ts";

function operatorUsage(): string {
  return `Usage: pake-operator operator [flags]\n\nRuns the operator: controllers (while leader), /healthz, /readyz and /metrics.\n\nFlags:\n${operatorFlagsUsage()}`;
}

async function loadKubeConfig(config: OperatorConfig): Promise<KubeConfig> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

/** The guard of /metrics and the detailed health API, unless --endpoint-auth=false. */
async function endpointAuthorizer(
  config: OperatorConfig,
  kubeConfig: KubeConfig,
): Promise<RequestAuthorizer | undefined> {
  if (!config.endpointAuth) {
    log.warn("Serving /metrics and the detailed health API without authorization");
    return undefined;
  }
  const [{ KubeRequestAuthorizer }, { KubeClient }] = await Promise.all([
    import("../runtime/auth.ts"),
    import("../runtime/kube.ts"),
  ]);
  return new KubeRequestAuthorizer({ client: new KubeClient(kubeConfig) });
}

function parseOrReport(args: string[], ctx: CommandContext): OperatorConfig | undefined {
  try {
    return parseOperatorConfig(args, { env: ctx.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const problems = err.problems.map((p) => `  ${p}`).join("\n");
    ctx.stderr(
      `pake-operator operator: invalid configuration:\n${problems}\n\nRun "pake-operator help operator" for the flags.\n`,
    );
    return undefined;
  }
}

async function runOperator(args: string[], ctx: CommandContext): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    ctx.stdout(`${operatorUsage()}\n`);
    return 0;
  }
  const config = parseOrReport(args, ctx);
  if (!config) return 2;
  log.level = config.logLevel;
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = await loadKubeConfig(config);
  } catch (err) {
    ctx.stderr(`pake-operator operator: cannot load kubeconfig: ${(err as Error).message}\n`);
    return 1;
  }
  const [{ Manager }, { createOperatorContext }, { registerControllers }] = await Promise.all([
    import("../runtime/manager.ts"),
    import("../controllers/kit/context.ts"),
    import("../controllers/index.ts"),
  ]);
  const authorizer = await endpointAuthorizer(config, kubeConfig);
  const manager = new Manager({ config, kubeConfig, logger: log, authorizer });
  const context = createOperatorContext({
    kubeConfig,
    logger: log,
    config: {
      namespaces: config.namespaces,
      runnerImage: config.runnerImage,
      operatorNamespace: config.operatorNamespace,
      incidentPolicy: config.incidentPolicy,
      healthCheckTenantPolicy: config.healthCheckTenantPolicy,
      allowCustomServiceAccount: config.allowCustomServiceAccount,
      env: ctx.env,
    },
  });
  const controllers = registerControllers(context, manager);
  log.info(
    {
      controllers,
      namespaces: config.namespaces.length > 0 ? config.namespaces : "all",
      leaderElection: config.leaderElection.enabled,
    },
    "Configured operator",
  );
  return manager.run();
}

export const operatorCommand: Command = {
  name: "operator",
  summary: "Run the operator (controllers, health and metrics endpoints)",
  usage: operatorUsage,
  run: runOperator,
};
