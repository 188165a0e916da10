// The module contract: each kind is a module that registers what it runs
// (its controller, and any companion such as the probe engine or an HTTP
// API) with the manager. controllers/index.ts is just the list of modules.
import type { MountOptions, RouteHandler } from "../../runtime/http-server.ts";
import type { Runnable } from "../../runtime/runnable.ts";
import type { OperatorContext } from "./context.ts";

/** Where a module puts what it runs; the Manager satisfies it. */
export interface Registrar {
  add(runnable: Runnable): void;
  http: { mount(prefix: string, handler: RouteHandler, options?: MountOptions): void };
}

export interface ControllerModule {
  /** The controller's name, e.g. "maintenancetask". */
  name: string;
  register(ctx: OperatorContext, registrar: Registrar): void;
}
