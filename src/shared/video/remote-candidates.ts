/**
 * Which ICE candidates a viewer may name to the camera. Every remote candidate makes the camera
 * send STUN connectivity checks (UDP, or TCP connects) to its address, so a viewer that may name
 * anything turns the camera into a packet cannon aimed at third parties (issue 10, item 11).
 *
 * A LAN viewer can only have: the address its channel comes from, private (RFC 1918, IPv6 ULA),
 * link-local and loopback addresses, and relayed candidates of a TURN server the camera itself
 * knows. Anything else (public addresses, hostnames such as mDNS `.local` names, malformed lines)
 * is refused. Addresses other than the viewer's own and the TURN server's ("unknown" ones) are
 * capped per session and rate-limited per user, and every session has a cap on candidates.
 *
 * Pure and independent of the WebRTC stack: it works on candidate strings (trickled CANDIDATE
 * messages and `a=candidate` lines of an SDP) before anything reaches the peer connection.
 */
import { parseIp } from '../net-address';

export const MAX_REMOTE_CANDIDATES_PER_SESSION = 40;
export const MAX_UNKNOWN_ADDRESSES_PER_SESSION = 8;
/** Distinct unknown addresses one user may make the camera check, per minute (burst the same). */
export const UNKNOWN_ADDRESSES_PER_MINUTE = 32;

export interface ParsedCandidate {
  foundation: string;
  component: string;
  transport: string;
  address: string;
  port: number;
  type: string;
}

/** `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...` (RFC 8839). */
export function parseCandidate(line: string): ParsedCandidate | undefined {
  const text = line.trim().replace(/^a=/, '').replace(/^candidate:/, '');
  const parts = text.split(/\s+/);
  if (parts.length < 8 || parts[6] !== 'typ') return undefined;
  const [foundation, component, transport, priority, address, portText, , type] = parts as [string, string, string, string, string, string, string, string];
  if (!/^[A-Za-z0-9+/]{1,32}$/.test(foundation) || !/^\d{1,3}$/.test(component) || !/^\d{1,10}$/.test(priority)) return undefined;
  if (!/^(udp|tcp)$/i.test(transport) || !/^(host|srflx|prflx|relay)$/.test(type)) return undefined;
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) return undefined;
  return { foundation, component, transport: transport.toLowerCase(), address, port, type };
}

/** RFC 1918, IPv6 unique local (fc00::/7), link-local, loopback. */
export function isPrivateOrLinkLocal(address: string): boolean {
  const raw = parseIp(address);
  if (!raw) return false;
  const b = unmapped(raw);
  if (b.length === 4) {
    const [x, y] = [b[0]!, b[1]!];
    return x === 10 || x === 127 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 169 && y === 254);
  }
  if (b.slice(0, 15).every((v) => v === 0) && b[15] === 1) return true; // ::1
  return (b[0]! & 0xfe) === 0xfc || (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80);
}

/** Host part of stun:/turn:/turns: URLs that are IP literals (hostnames cannot be compared without I/O). */
export function turnAddresses(urls: readonly string[]): string[] {
  const out: string[] = [];
  for (const url of urls) {
    const m = /^turns?:(\[[^\]]+\]|[^:?/]+)/i.exec(url.trim());
    if (!m) continue;
    const host = m[1]!.replace(/^\[|\]$/g, '');
    if (parseIp(host)) out.push(canonical(host));
  }
  return out;
}

/** One spelling per address (IPv4-mapped IPv6 as IPv4, IPv6 in any notation), for comparing. */
function canonical(address: string): string {
  const raw = parseIp(address);
  if (!raw) return address.toLowerCase();
  return Array.from(unmapped(raw)).join('.');
}

function unmapped(raw: Uint8Array): Uint8Array {
  const mapped = raw.length === 16 && raw.slice(0, 10).every((b) => b === 0) && raw[10] === 0xff && raw[11] === 0xff;
  return mapped ? raw.slice(12) : raw;
}

/** A per-user budget of new unknown addresses (token bucket, per minute). */
export class UnknownAddressBudget {
  private tokens: number;
  private last: number;
  constructor(
    private readonly perMinute = UNKNOWN_ADDRESSES_PER_MINUTE,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.tokens = perMinute;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.perMinute, this.tokens + ((t - this.last) / 60_000) * this.perMinute);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface CandidatePolicy {
  /** The address the viewer's channel comes from (LAN); undefined through a relay. */
  viewerAddress?: string | undefined;
  /** Addresses of the TURN servers the camera itself uses (configured or handed by its relay). */
  turnAddresses: readonly string[];
}

export type CandidateVerdict = { ok: true; candidate: ParsedCandidate } | { ok: false; reason: string };

/** One video session's gate for remote candidates. */
export class RemoteCandidateFilter {
  private accepted = 0;
  private readonly unknown = new Set<string>();
  private readonly turn: Set<string>;
  private readonly viewer: string | undefined;

  constructor(
    private readonly policy: CandidatePolicy,
    private readonly budget: UnknownAddressBudget,
    private readonly limits = { candidates: MAX_REMOTE_CANDIDATES_PER_SESSION, unknownAddresses: MAX_UNKNOWN_ADDRESSES_PER_SESSION },
  ) {
    this.turn = new Set(policy.turnAddresses.map(canonical));
    this.viewer = policy.viewerAddress && parseIp(policy.viewerAddress) ? canonical(policy.viewerAddress) : undefined;
  }

  /** Decides one candidate line; an accepted one counts against the session's caps. */
  check(line: string): CandidateVerdict {
    const candidate = parseCandidate(line);
    if (!candidate) return { ok: false, reason: 'malformed candidate' };
    if (!parseIp(candidate.address)) return { ok: false, reason: `address ${clip(candidate.address)} is not an IP address (hostnames and mDNS names are not resolved)` };
    if (this.accepted >= this.limits.candidates) return { ok: false, reason: `more than ${this.limits.candidates} candidates in this session` };
    const address = canonical(candidate.address);
    const own = address === this.viewer;
    const turn = this.turn.has(address);
    if (candidate.type === 'relay' && !turn) return { ok: false, reason: `relay candidate ${candidate.address} is not on a TURN server this camera uses` };
    if (!own && !turn) {
      if (!isPrivateOrLinkLocal(candidate.address)) return { ok: false, reason: `address ${candidate.address} is neither the viewer's own, private, link-local nor a TURN server` };
      if (!this.unknown.has(address)) {
        if (this.unknown.size >= this.limits.unknownAddresses) return { ok: false, reason: `more than ${this.limits.unknownAddresses} addresses in this session` };
        if (!this.budget.take()) return { ok: false, reason: 'too many new addresses from this user; slow down' };
        this.unknown.add(address);
      }
    }
    this.accepted++;
    return { ok: true, candidate };
  }

  /** Removes refused `a=candidate` lines from an SDP; returns it with the reasons. */
  filterSdp(sdp: string): { sdp: string; refused: string[] } {
    const refused: string[] = [];
    const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
    const lines = sdp.split(/\r?\n/).filter((line) => {
      if (!line.startsWith('a=candidate:')) return true;
      const verdict = this.check(line);
      if (!verdict.ok) refused.push(verdict.reason);
      return verdict.ok;
    });
    return { sdp: lines.join(eol), refused };
  }
}

function clip(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}
