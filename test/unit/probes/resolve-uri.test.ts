// A postgres Secret's `uri` with a malformed percent escape is reported as
// "not a valid URI" (InvalidTarget), never as a URIError thrown out of the
// resolver, and the message does not quote the URI.
import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { HealthCheckTarget } from "../../../src/crds/healthcheck.ts";
import { TargetResolutionError, resolveTarget } from "../../../src/probes/resolve.ts";

function resolveUri(uri: string): Promise<unknown> {
  const ctx = {
    namespace: "shop",
    readSecret: () => Promise.resolve({ uri }),
    kubeConfig: new KubeConfig(),
  };
  const target = HealthCheckTarget.parse({ postgres: { connectionSecretRef: { name: "db" } } });
  return resolveTarget(target, ctx).catch((e: unknown) => e);
}

describe("Given a postgres Secret whose uri has a malformed percent escape", () => {
  it.each([
    ["in the password", "postgres://u:%zz@h/db"],
    ["in the user", "postgresql://%E0%A4%A@h/db"],
    ["in the database", "postgresql://u:pw@h/%zzdb"],
    ["a lone percent sign", "postgresql://u:50%@h/db"],
  ])("When it is %s, then the target is InvalidTarget: not a valid URI", async (_case, uri) => {
    const err = await resolveUri(uri);
    expect(err).toBeInstanceOf(TargetResolutionError);
    expect((err as TargetResolutionError).reason).toBe("InvalidTarget");
    expect((err as Error).message).toBe("Secret db: key uri is not a valid URI");
  });

  it("When the escapes are well formed, then the password is decoded", async () => {
    expect(await resolveUri("postgresql://u:p%40ss%25@h/db")).toMatchObject({
      user: "u",
      password: "p@ss%",
      database: "db",
    });
  });
});
