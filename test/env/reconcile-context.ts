// A ReconcileContext for tests that drive one reconcile by hand (with a
// FakeClock) against the real API server: what the controller runtime hands
// a reconcile, with a silent logger.
import { randomUUID } from "node:crypto";
import type { Clock } from "../../src/runtime/clock.ts";
import type { ReconcileContext } from "../../src/runtime/controller.ts";
import { EventRecorder } from "../../src/runtime/events.ts";
import type { KubeClient } from "../../src/runtime/kube.ts";
import { createLogger } from "../../src/runtime/log.ts";

export function reconcileContext(
  client: KubeClient,
  clock: Clock,
  controller = "test",
): ReconcileContext {
  return {
    controller,
    key: "test",
    reconcileId: randomUUID(),
    log: createLogger({ level: "silent" }),
    client,
    events: new EventRecorder({ client, component: "pake-operator", clock }),
    clock,
    signal: new AbortController().signal,
  };
}
