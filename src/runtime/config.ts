// The runtime's settings: what the manager (HTTP server, leader election,
// shutdown) needs, whoever reads them. The operator's flags and their parsing
// are in src/cli/operator-config.ts.
export interface BindAddress {
  /** "" means all interfaces. */
  host: string;
  /** 0 asks the OS for a free port. */
  port: number;
}

export interface LeaderElectionConfig {
  enabled: boolean;
  leaseName: string;
  leaseNamespace: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface ManagerConfig {
  metricsBindAddress: BindAddress;
  leaderElection: LeaderElectionConfig;
  shutdownTimeoutMs: number;
}
