// SHA-256, the one hash of the project: deterministic names, schedule seeds,
// connection fingerprints. Not for secrets (no salt, no key).
import { createHash } from "node:crypto";

/** The SHA-256 digest of a UTF-8 text. */
export function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The SHA-256 digest of a UTF-8 text in lower-case hex, cut to `length` characters if given. */
export function sha256Hex(text: string, length?: number): string {
  const hex = createHash("sha256").update(text).digest("hex");
  return length === undefined ? hex : hex.slice(0, length);
}
