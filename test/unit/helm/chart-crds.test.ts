// The chart's CRD templates and appVersion are generated from the same
// sources as deploy/crds: same definitions, Helm conditionals around them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  CHART_CRD_DIR,
  REPO_ROOT,
  escapeHelmTemplate,
  renderChartCrdFiles,
  renderChartYaml,
  renderCrdFiles,
  staleFiles,
} from "../../../tools/generate-crds.ts";

/** What Helm would print with crds.install=true and crds.keep=true, minus the labels. */
function asRendered(content: string): string {
  return content
    .split("\n")
    .filter((line) => !/^\s*\{\{-? (if|end)\b.*\}\}$/.test(line) && !line.includes("include "))
    .join("\n")
    .replace(/\n {2}labels:\n/, "\n");
}

describe("Given the chart's generated CRD templates", () => {
  it("Then they are up to date, like deploy/crds (npm run generate)", () => {
    expect(staleFiles(renderChartCrdFiles())).toEqual([]);
    expect(staleFiles([renderChartYaml()])).toEqual([]);
  });

  it("Then each is the plain CRD wrapped in crds.install, with labels and the keep annotation behind crds.keep", () => {
    const plain = renderCrdFiles();
    const chart = renderChartCrdFiles();
    expect(chart).toHaveLength(plain.length);
    for (const [i, file] of chart.entries()) {
      expect(file.path).toBe(join(CHART_CRD_DIR, plain[i]!.path.split("/").pop()!));
      expect(file.content.startsWith("{{- if .Values.crds.install }}\n")).toBe(true);
      expect(file.content.endsWith("{{- end }}\n")).toBe(true);
      expect(file.content).toContain("  {{- if .Values.crds.keep }}\n  annotations:\n");
      const rendered = parse(asRendered(file.content).split("\n---\n")[1]!) as {
        metadata: { annotations: Record<string, string> };
      };
      const original = parse(plain[i]!.content.split("\n---\n")[1]!) as Record<string, unknown>;
      expect(rendered.metadata.annotations).toEqual({ "helm.sh/resource-policy": "keep" });
      expect({ ...rendered, metadata: original.metadata }).toEqual(original);
    }
  });

  it("Then anything that looks like a template action is printed as written", () => {
    expect(escapeHelmTemplate("a {{ b }} c")).toBe('a {{ "{{" }} b }} c');
  });

  it("Then Chart.yaml's appVersion is package.json's version", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    const chart = parse(renderChartYaml().content) as { appVersion: string; apiVersion: string };
    expect(chart).toMatchObject({ apiVersion: "v2", appVersion: pkg.version });
  });
});
