// The project's two hashes, neither for secrets (no salt, no key):
// - SHA-256 for deterministic Job names, schedule seeds and connection
//   fingerprints;
// - 32-bit FNV-1a for the short suffixes of Event and Incident names, where
//   8 hex digits are enough and the names already in clusters must not change.
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

/** 32-bit FNV-1a of a text's UTF-16 code units, as 8 hex digits. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}
