import { describe, expect, it } from "vitest";
import { COMMANDS, main, VERSION } from "../../../src/cli/commands.ts";
import { capture } from "../cli/capture.ts";

describe("Given the pake-operator command line", () => {
  it.each([
    { argv: ["version"], code: 0, out: `pake-operator ${VERSION}\n` },
    { argv: ["--version"], code: 0, out: `pake-operator ${VERSION}\n` },
  ])("When run with $argv, then it prints the version", async ({ argv, code, out }) => {
    const ctx = capture();
    expect(await main(argv, ctx)).toBe(code);
    expect(ctx.out).toBe(out);
  });

  it.each([["help"], ["--help"], ["-h"]])(
    "When run with %s, then it lists every command and exits 0",
    async (arg) => {
      const ctx = capture();
      expect(await main([arg], ctx)).toBe(0);
      for (const c of COMMANDS) expect(ctx.out).toContain(`  ${c.name} `);
    },
  );

  it.each([{ argv: [] as string[] }, { argv: ["frobnicate"] }, { argv: ["help", "frobnicate"] }])(
    "When run with $argv, then it prints usage to stderr and exits 2",
    async ({ argv }) => {
      const ctx = capture();
      expect(await main(argv, ctx)).toBe(2);
      expect(ctx.err).toContain("Usage: pake-operator <command>");
      expect(ctx.out).toBe("");
    },
  );

  it("When asked for help on operator, then it lists the operator's flags", async () => {
    const ctx = capture();
    expect(await main(["help", "operator"], ctx)).toBe(0);
    expect(ctx.out).toContain("--leader-election-lease-duration");
    expect(ctx.out).toContain("--metrics-bind-address");
  });

  it("When the operator gets bad flags, then it names them and exits 2 without starting", async () => {
    const ctx = capture();
    expect(await main(["operator", "--metrics-bind-address", "nowhere", "--bogus"], ctx)).toBe(2);
    expect(ctx.err).toContain('--metrics-bind-address: invalid address "nowhere"');
    expect(ctx.err).toContain("unknown flag --bogus");
  });

  it("When the operator is given a kubeconfig that does not exist, then it exits 1 with the reason", async () => {
    const ctx = capture();
    expect(await main(["operator", "--kubeconfig", "/nonexistent/kubeconfig"], ctx)).toBe(1);
    expect(ctx.err).toContain("cannot load kubeconfig");
  });
});
