import { defineConfig } from "vitest/config";

// Three projects: fast unit tests of pure logic (no processes), integration
// tests against a real control plane, PostgreSQL and Redis started by the
// harness in test/env, and the secret canary scan that runs after them.
// Integration files run at most two at a time: the machine has two cores and
// each file may start its own API server.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/env/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: "forks",
          maxWorkers: 2,
          fileParallelism: true,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The secret canary scan: after every integration file (a later group),
        // while the integration project's control plane still runs.
        test: {
          name: "canary",
          include: ["test/canary/**/*.test.ts"],
          testTimeout: 120_000,
          pool: "forks",
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
