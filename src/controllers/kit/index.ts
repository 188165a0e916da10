// The controller kit: what every kind's controller is built from.
export * from "./context.ts";
export * from "./kind-controller.ts";
export * from "./module.ts";
export * from "./spec-validation.ts";
