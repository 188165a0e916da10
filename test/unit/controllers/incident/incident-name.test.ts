// Incident names must be valid DNS subdomains for any source name the API
// server accepts (up to 253 characters). Cutting a long name can leave a dot
// right before the "-" of the suffix (".-"), which the API server rejects.
import { describe, expect, it } from "vitest";
import {
  incidentName,
  type IncidentSourceRef,
} from "../../../../src/controllers/incident/source.ts";

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const UID = "11111111-2222-3333-4444-555555555555";

/** A valid 253-character name with `separator` at `at` (a run of two for "-"). */
function nameWithSeparatorAt(at: number, separator: "." | "-"): string {
  const chars = Array.from({ length: 253 }, () => "a");
  chars[at] = separator;
  if (separator === "-") chars[at - 1] = "-";
  return chars.join("");
}

const sourceNamed = (name: string): IncidentSourceRef => ({
  kind: "MaintenanceTask",
  namespace: "ns",
  name,
  uid: UID,
});

// The suffix is "-" and 8 hex digits: the cut is at 244; look around it.
const cases = Array.from({ length: 18 }, (_, i) => 234 + i).flatMap((at) => [
  [at, "."],
  [at, "-"],
]) as [number, "." | "-"][];

describe("Given a source name of 253 characters", () => {
  it.each(cases)(
    "When the cut falls next to position %i holding %j, then the Incident name is a valid DNS subdomain",
    (at, separator) => {
      const source = sourceNamed(nameWithSeparatorAt(at, separator));
      expect(source.name).toMatch(DNS_SUBDOMAIN);
      const name = incidentName(source, "episode-1");
      expect(name.length).toBeLessThanOrEqual(253);
      expect(name).toMatch(DNS_SUBDOMAIN);
    },
  );

  it("When two episodes differ, then their names differ and stay valid", () => {
    const source = sourceNamed(nameWithSeparatorAt(243, "."));
    const a = incidentName(source, "1");
    const b = incidentName(source, "2");
    expect(a).not.toBe(b);
    expect([a, b].every((n) => DNS_SUBDOMAIN.test(n))).toBe(true);
  });
});
