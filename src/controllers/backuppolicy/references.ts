// What a backup needs before its Job can do anything: the connection Secret
// (and the verification server's, when it has its own) and the storage
// claim. Each is read by name only (nothing of a Secret is kept or logged);
// a missing one holds the policy's runs (jobrun/held.ts) and is reported on
// the policy with the field that names it, instead of a Job that could only
// hang or fail.
import type { BackupPolicySpec } from "../../crds/backuppolicy.ts";
import { CommonReason } from "../../crds/conditions.ts";
import { PersistentVolumeClaimKind, SecretKind } from "../../lib/kinds.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { isNotFound } from "../../runtime/errors.ts";
import type { KindDescriptor } from "../../runtime/kube.ts";
import type { Blocked } from "../jobrun/index.ts";

interface Reference {
  field: string;
  kind: KindDescriptor;
  name: string;
}

/** The objects a policy refers to, each with the field that names it. */
export function referencesOf(spec: BackupPolicySpec): Reference[] {
  const refs: Reference[] = [
    {
      field: "spec.database.connectionSecretRef",
      kind: SecretKind,
      name: spec.database.connectionSecretRef.name,
    },
    {
      field: "spec.storage.persistentVolumeClaim.claimName",
      kind: PersistentVolumeClaimKind,
      name: spec.storage.persistentVolumeClaim.claimName,
    },
  ];
  const verifyServer = spec.verify?.enabled ? spec.verify.connectionSecretRef : undefined;
  if (verifyServer)
    refs.push({
      field: "spec.verify.connectionSecretRef",
      kind: SecretKind,
      name: verifyServer.name,
    });
  return refs;
}

/** The first missing reference as a reason to hold the runs; undefined when all exist. */
export async function missingReference(
  spec: BackupPolicySpec,
  namespace: string,
  ctx: ReconcileContext,
): Promise<Blocked | undefined> {
  for (const ref of referencesOf(spec)) {
    try {
      await ctx.client.get(ref.kind, { namespace, name: ref.name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return {
        reason: CommonReason.ReferenceNotFound,
        message: `${ref.field}: ${ref.kind.kind} ${ref.name} not found in namespace ${namespace}`,
      };
    }
  }
  return undefined;
}
