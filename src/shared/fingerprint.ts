/**
 * Fingerprints: SHA-256 of a public key's DER SubjectPublicKeyInfo, 64 lowercase hex
 * characters (the value `openssl pkey -pubout -outform DER | sha256sum` prints, and Nabto's).
 */

export const FINGERPRINT_RE = /^[0-9a-f]{64}$/;

export function isFingerprint(value: unknown): value is string {
  return typeof value === 'string' && FINGERPRINT_RE.test(value);
}

/**
 * Accepts what people paste (upper case, spaces, colons, dashes) and returns the canonical
 * 64-hex form, or undefined when it is not a fingerprint.
 */
export function normalizeFingerprint(input: string): string | undefined {
  const compact = input.trim().toLowerCase().replace(/[\s:-]/g, '');
  return FINGERPRINT_RE.test(compact) ? compact : undefined;
}

/**
 * The grouped, checkable form shown to people: 16 groups of 4 hex digits in 4 lines of 4,
 * e.g. "3f2a 91c0 …". Reading it aloud group by group is how two people compare keys.
 */
export function groupFingerprint(fingerprint: string, separator = ' '): string {
  if (!isFingerprint(fingerprint)) throw new Error('not a fingerprint: expected 64 lowercase hex characters');
  const groups = fingerprint.match(/.{4}/g) ?? [];
  return groups.join(separator);
}

/** Short form for lists (first 4 groups); never use it for a security decision. */
export function shortFingerprint(fingerprint: string): string {
  return groupFingerprint(fingerprint).slice(0, 19);
}
