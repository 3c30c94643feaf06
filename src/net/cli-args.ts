/** Parsers for the daemons' command-line options (lancam-device, lancam-relay): clear errors, sane bounds. */

export function parseSeconds(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new Error(`${flag} must be a number of seconds (0 < s <= 86400), not "${text}"`);
  return n;
}

export function parseCount(text: string, flag: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > 100_000) throw new Error(`${flag} must be a whole number from ${min} to 100000, not "${text}"`);
  return n;
}

/** commander's accumulator for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
