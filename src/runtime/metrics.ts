// One Prometheus registry for the whole operator. Each subsystem defines its
// own metrics in its own module and registers them here; /metrics serves it.
import { Registry, collectDefaultMetrics } from "prom-client";

export const registry = new Registry();
registry.setDefaultLabels({ app: "pake-operator" });

let defaultsCollected = false;
/** Process metrics (CPU, RSS, event-loop lag); called once by the manager. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry, prefix: "pake_" });
}
