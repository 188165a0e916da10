// Runs held back: when an owner's runs could only fail (a referenced object
// is missing), planning goes on but nothing starts or stops and no slot or
// run-now token is used up, so the run happens once the reference is there.
// The owner reports why (Ready=False naming the field), with one Warning
// Event per new reason, and looks again after a minute: never a hot loop.
import { CommonConditionType } from "../../crds/conditions.ts";
import type { EventInput } from "../../runtime/events.ts";
import type { SchedulePlan } from "./plan.ts";

/** How often an owner whose runs are held looks again (besides its watches). */
export const HELD_RETRY_MS = 60_000;

/** Why an owner's runs are held; the message names the field. */
export interface Blocked {
  reason: string;
  message: string;
}

/** A plan that starts and stops nothing and consumes no slot or token. */
export function heldPlan(plan: SchedulePlan): SchedulePlan {
  return {
    ...(plan.resolved !== undefined ? { resolved: plan.resolved } : {}),
    ...(plan.next !== undefined ? { next: plan.next } : {}),
    start: [],
    stop: [],
    events: [],
  };
}

/** The Warning Event of a held owner, only when its Ready condition would say something new. */
export function blockedEvents(
  status: { conditions?: { type: string; reason: string; message: string }[] } | undefined,
  blocked: Blocked | undefined,
): EventInput[] {
  if (blocked === undefined) return [];
  const ready = status?.conditions?.find((c) => c.type === CommonConditionType.Ready);
  if (ready?.reason === blocked.reason && ready.message === blocked.message) return [];
  return [{ type: "Warning", reason: blocked.reason, message: blocked.message }];
}

/** The re-queue of an owner: its own wake-up, and at most HELD_RETRY_MS while held. */
export function requeueWhileHeld(
  wake: number | undefined,
  blocked: Blocked | undefined,
): number | undefined {
  if (blocked === undefined) return wake;
  return Math.min(wake ?? HELD_RETRY_MS, HELD_RETRY_MS);
}
