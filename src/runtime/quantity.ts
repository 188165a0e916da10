// Kubernetes resource quantities ("250m", "1536Mi", "123456789n") as numbers.

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The quantity in base units (cores, bytes); NaN when it cannot be parsed. */
export function parseQuantity(value: string | number | undefined): number {
  if (typeof value === "number") return value;
  if (value === undefined) return Number.NaN;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const factor = SUFFIX[m[2] ?? ""];
  return factor === undefined ? Number.NaN : Number(m[1]) * factor;
}
