// Durations, ages and cron strings: what the admission patterns accept.
import { describe, expect, it } from "vitest";
import { CRON_PATTERN, TIME_ZONE_PATTERN } from "../../../src/crds/index.ts";
import { AGE_PATTERN, DURATION_PATTERN, parseDuration } from "../../../src/lib/duration.ts";

describe("Given duration strings", () => {
  it.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
    ["7d", 604_800_000],
    ["2w", 1_209_600_000],
  ])("Then %s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "30", "5 m", "1.5h", "-1s", "30sec", "forever"])(
    "Then %j is not a duration",
    (text) => {
      expect(DURATION_PATTERN.test(text)).toBe(false);
      expect(() => parseDuration(text)).toThrow();
    },
  );

  it.each(["7d", "36h", "2w", "1d12h"])("Then %s is an age", (text) => {
    expect(AGE_PATTERN.test(text)).toBe(true);
  });
});

describe("Given cron strings", () => {
  it.each([
    "0 2 * * *",
    "*/15 * * * *",
    "0 3 * * SUN",
    "0 0 1 JAN *",
    "@daily",
    "@hourly-random",
    "@weekly-random",
    "0 9-17 * * 1-5",
  ])("Then %j passes the admission pattern", (text) => {
    expect(CRON_PATTERN.test(text)).toBe(true);
  });

  it.each([
    "",
    "0 2 * *",
    "0 2 * * * *",
    "TZ=UTC 0 2 * * *",
    "@daily-randomly",
    "@every 5m",
    "daily",
  ])("Then %j fails the admission pattern", (text) => {
    expect(CRON_PATTERN.test(text)).toBe(false);
  });
});

describe("Given time zones", () => {
  it.each(["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5"])(
    "Then %s is accepted",
    (tz) => {
      expect(TIME_ZONE_PATTERN.test(tz)).toBe(true);
    },
  );
  it.each(["", "Not A Zone", "/UTC", "Europe//Berlin"])("Then %j is rejected", (tz) => {
    expect(TIME_ZONE_PATTERN.test(tz)).toBe(false);
  });
});
