// Lint budgets follow Pepr's: small functions, shallow nesting, few parameters,
// and no promise left floating (an unawaited reconcile is a silent bug).
// The layering of src/ (which folder may import which) is a local rule below.
import { dirname, relative, resolve } from "node:path";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// What each part of src/ may import (relative imports; npm packages are free).
// A part is a folder of src/, or a folder of src/controllers/; "controllers"
// alone is a file directly in src/controllers/ (index.ts wires every module).
// Nothing under src/ imports src/cli or test/. docs/architecture.md explains why.
const PURE = ["lib", "crds", "schedule", "health", "config"];
const SERVICES = [...PURE, "runtime", "probes", "tasks"];
const LAYERS = {
  lib: [],
  runtime: ["lib"],
  crds: ["lib", "schedule"],
  schedule: ["lib"],
  // Operator-level configuration files (schemas, defaults, checks).
  config: ["lib", "crds", "schedule"],
  // health grades the HealthCheck status types of crds/healthcheck.ts.
  health: ["lib", "crds"],
  probes: ["lib", "runtime", "health", "crds", "schedule"],
  tasks: ["lib", "runtime", "crds", "schedule"],
  "controllers/kit": SERVICES,
  "controllers/jobrun": ["controllers/kit", "lib", "runtime", "crds", "schedule"],
  // Any other folder of src/controllers/ is a kind's module.
  "controllers/<kind>": [
    ...SERVICES,
    "controllers/kit",
    "controllers/jobrun",
    "controllers/incident/source.ts",
  ],
  controllers: [...SERVICES, "controllers/*"],
  cli: [...SERVICES, "controllers", "controllers/*"],
};

const SRC = resolve(import.meta.dirname, "src");

/** The part of src/ a path is in ("runtime", "controllers/kit"…); undefined outside src/. */
function partOf(path) {
  const rel = relative(SRC, path).split("\\").join("/");
  if (rel.startsWith("..")) return undefined;
  const [top, sub, file] = rel.split("/");
  if (top !== "controllers" || file === undefined) return top;
  return `controllers/${sub}`;
}

const TEST = resolve(import.meta.dirname, "test");

function isTest(path) {
  return !relative(TEST, path).startsWith("..");
}

function layerOf(part) {
  if (LAYERS[part] !== undefined) return part;
  return part.startsWith("controllers/") ? "controllers/<kind>" : undefined;
}

/** Whether code in `from` may import the file `target` (a path relative to src/). */
function mayImport(from, to, target) {
  if (to === from) return true;
  const allowed = LAYERS[layerOf(from)] ?? [];
  return allowed.some(
    (entry) =>
      entry === to ||
      entry === target ||
      (entry === "controllers/*" && to.startsWith("controllers/")),
  );
}

/** The part of src/ (or "test") that `from` may not import `path` from; undefined when allowed. */
function forbiddenPart(from, path) {
  const to = partOf(path) ?? (isTest(path) ? "test" : undefined);
  if (to === undefined || mayImport(from, to, relative(SRC, path))) return undefined;
  return to;
}

const layering = {
  meta: {
    type: "problem",
    docs: { description: "Enforce the folder layering of src/ (see docs/architecture.md)" },
    schema: [],
  },
  create(context) {
    const from = partOf(context.filename);
    if (from === undefined) return {};
    const check = (node) => {
      const source = node.source?.value;
      if (typeof source !== "string" || !source.startsWith(".")) return;
      const to = forbiddenPart(from, resolve(dirname(context.filename), source));
      if (to === undefined) return;
      const allowed = (LAYERS[layerOf(from)] ?? []).join(", ") || "nothing else in src/";
      const target = to === "test" ? "test/" : `src/${to}`;
      context.report({
        node: node.source,
        message: `Layering: src/${from} must not import ${target} (${source}). src/${from} may import: ${allowed}.`,
      });
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".dev/", "coverage/", "tools/k8s/", "tools/helm/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      complexity: ["error", 10],
      "max-depth": ["error", 3],
      "max-params": ["error", 4],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["src/**/*.ts"],
    plugins: { pake: { rules: { layering } } },
    rules: { "pake/layering": "error" },
  },
  {
    files: ["**/*.js"],
    ...tseslint.configs.disableTypeChecked,
  },
);
