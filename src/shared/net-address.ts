/**
 * Address arithmetic without I/O: is an address loopback, link-local, or inside a subnet?
 * "Local" pairing is allowed only for clients on one of the device's own subnets,
 * link-local or loopback (ARCHITECTURE.md, Pairing); this is the check.
 */

export interface InterfaceAddress {
  address: string;
  netmask: string;
  family: 'IPv4' | 'IPv6';
}

/** Parses an IPv4 or IPv6 address into 4 or 16 bytes; undefined when it is neither. */
export function parseIp(input: string): Uint8Array | undefined {
  let address = input.trim();
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    const parts = address.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return Uint8Array.from(parts);
  }
  if (!address.includes(':')) return undefined;
  // IPv4-mapped / embedded IPv4 tail
  let tail: number[] = [];
  const lastColon = address.lastIndexOf(':');
  const maybeV4 = address.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    const v4 = parseIp(maybeV4);
    if (!v4 || v4.length !== 4) return undefined;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    address = address.slice(0, lastColon) + ':0:0';
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const words = groups.map((g) => parseInt(g, 16));
  if (tail.length === 2) words.splice(6, 2, tail[0]!, tail[1]!);
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

/** ::ffff:a.b.c.d -> a.b.c.d bytes; anything else unchanged. */
function unmapV4(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return bytes.slice(12);
  }
  return bytes;
}

export function isLoopback(address: string): boolean {
  const raw = parseIp(address);
  if (!raw) return false;
  const b = unmapV4(raw);
  if (b.length === 4) return b[0] === 127;
  return b.slice(0, 15).every((x) => x === 0) && b[15] === 1;
}

export function isLinkLocal(address: string): boolean {
  const raw = parseIp(address);
  if (!raw) return false;
  const b = unmapV4(raw);
  if (b.length === 4) return b[0] === 169 && b[1] === 254;
  return b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
}

export function inSubnet(address: string, network: string, netmask: string): boolean {
  const a = parseIp(address);
  const n = parseIp(network);
  const m = parseIp(netmask);
  if (!a || !n || !m) return false;
  const [x, y] = [unmapV4(a), unmapV4(n)];
  if (x.length !== y.length || m.length !== x.length) return false;
  for (let i = 0; i < x.length; i++) if ((x[i]! & m[i]!) !== (y[i]! & m[i]!)) return false;
  return true;
}

/** True when a client at `address` is on loopback, link-local, or one of these subnets. */
export function isLocalClient(address: string, interfaces: readonly InterfaceAddress[]): boolean {
  if (isLoopback(address) || isLinkLocal(address)) return true;
  return interfaces.some((i) => inSubnet(address, i.address, i.netmask));
}

/**
 * The unit a source is counted in for limits: an IPv4 address, or an IPv6 /64 (one host usually
 * holds a whole /64, so counting single IPv6 addresses would give it 2^64 budgets).
 */
export function sourceKey(address: string): string {
  const bytes = parseIp(address);
  if (!bytes) return address;
  const b = unmapV4(bytes);
  if (b.length === 4) return b.join('.');
  return `${Array.from(b.slice(0, 8), (x) => x.toString(16).padStart(2, '0')).join('')}::/64`;
}
