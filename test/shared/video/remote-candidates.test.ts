import { describe, expect, it } from 'vitest';
import {
  isPrivateOrLinkLocal,
  MAX_REMOTE_CANDIDATES_PER_SESSION,
  MAX_UNKNOWN_ADDRESSES_PER_SESSION,
  parseCandidate,
  RemoteCandidateFilter,
  turnAddresses,
  UnknownAddressBudget,
} from '../../../src/shared/video/remote-candidates';

const cand = (address: string, type = 'host', port = 40000, transport = 'udp') => `candidate:1 1 ${transport} 2122260223 ${address} ${port} typ ${type}`;

function filter(viewerAddress?: string, turn: string[] = [], budget = new UnknownAddressBudget()) {
  return new RemoteCandidateFilter({ viewerAddress, turnAddresses: turnAddresses(turn) }, budget);
}

describe('parseCandidate', () => {
  it('reads RFC 8839 candidate lines, with and without a= and candidate: prefixes', () => {
    expect(parseCandidate('candidate:842163049 1 udp 1677729535 192.168.1.5 50000 typ srflx raddr 0.0.0.0 rport 0 generation 0')).toMatchObject({ address: '192.168.1.5', port: 50000, type: 'srflx', transport: 'udp' });
    expect(parseCandidate('a=candidate:1 1 TCP 2105524479 10.0.0.2 9 typ host tcptype active')).toMatchObject({ transport: 'tcp', port: 9 });
  });

  it('refuses malformed lines', () => {
    for (const bad of ['', 'candidate:', cand('10.0.0.1').replace('typ', 'type'), cand('10.0.0.1', 'bogus'), cand('10.0.0.1', 'host', 70000), cand('10.0.0.1', 'host', 1, 'sctp'), 'candidate:1 1 udp x 10.0.0.1 1 typ host']) {
      expect(parseCandidate(bad)).toBeUndefined();
    }
  });
});

describe('which addresses a viewer may name', () => {
  it('private, link-local and loopback ranges, IPv4 and IPv6', () => {
    for (const a of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.9', '169.254.3.4', '127.0.0.1', '::1', 'fd00::1', 'fe80::1', '::ffff:192.168.1.1']) expect(isPrivateOrLinkLocal(a), a).toBe(true);
    for (const a of ['8.8.8.8', '172.32.0.1', '172.15.0.1', '198.51.100.7', '2001:db8::1', '100.64.0.1', 'ff02::1', 'host.local']) expect(isPrivateOrLinkLocal(a), a).toBe(false);
  });

  it('refuses third-party public addresses, hostnames and mDNS names; accepts the viewer its own address', () => {
    const f = filter('203.0.113.5');
    expect(f.check(cand('198.51.100.7'))).toMatchObject({ ok: false });
    expect(f.check(cand('8.8.8.8', 'srflx'))).toMatchObject({ ok: false });
    expect(f.check(cand('4a1f0c8e-1111-2222-3333-444455556666.local'))).toMatchObject({ ok: false, reason: expect.stringContaining('not an IP address') });
    expect(f.check(cand('203.0.113.5', 'srflx'))).toMatchObject({ ok: true });
    expect(f.check(cand('::ffff:203.0.113.5'))).toMatchObject({ ok: true });
    expect(f.check(cand('192.168.1.20'))).toMatchObject({ ok: true });
  });

  it('relay candidates only on a TURN server the camera uses', () => {
    const f = filter(undefined, ['turn:198.51.100.9:3478?transport=udp', 'stun:198.51.100.10', 'turn:turn.example.org']);
    expect(f.check(cand('198.51.100.9', 'relay'))).toMatchObject({ ok: true });
    expect(f.check(cand('198.51.100.10', 'relay'))).toMatchObject({ ok: false });
    expect(f.check(cand('10.0.0.1', 'relay'))).toMatchObject({ ok: false });
    expect(turnAddresses(['turn:[2001:db8::3]:3478', 'turns:192.0.2.1'])).toHaveLength(2);
  });
});

describe('caps', () => {
  it('at most MAX_UNKNOWN_ADDRESSES_PER_SESSION distinct private addresses besides the viewer its own', () => {
    const f = filter('192.168.1.2');
    for (let i = 0; i < MAX_UNKNOWN_ADDRESSES_PER_SESSION; i++) expect(f.check(cand(`10.0.0.${i + 1}`)).ok).toBe(true);
    expect(f.check(cand('10.0.0.200'))).toMatchObject({ ok: false, reason: expect.stringContaining('addresses in this session') });
    // The same addresses again (another port) and the viewer's own still pass.
    expect(f.check(cand('10.0.0.1', 'host', 40001)).ok).toBe(true);
    expect(f.check(cand('192.168.1.2', 'host', 5)).ok).toBe(true);
  });

  it('at most MAX_REMOTE_CANDIDATES_PER_SESSION candidates', () => {
    const f = filter('192.168.1.2');
    let ok = 0;
    for (let i = 0; i < MAX_REMOTE_CANDIDATES_PER_SESSION + 10; i++) if (f.check(cand('192.168.1.2', 'host', 1000 + i)).ok) ok++;
    expect(ok).toBe(MAX_REMOTE_CANDIDATES_PER_SESSION);
  });

  it('new unknown addresses are rate-limited per user across sessions, and the budget refills', () => {
    let now = 0;
    const budget = new UnknownAddressBudget(10, () => now);
    let accepted = 0;
    for (let s = 0; s < 5; s++) {
      const f = filter('192.168.1.2', [], budget);
      for (let i = 0; i < 8; i++) if (f.check(cand(`10.0.${s}.${i + 1}`)).ok) accepted++;
    }
    expect(accepted).toBe(10);
    now += 60_000;
    const f = filter('192.168.1.2', [], budget);
    expect(f.check(cand('10.9.9.9')).ok).toBe(true);
  });
});

describe('SDP', () => {
  it('cuts refused a=candidate lines and keeps the rest byte for byte', () => {
    const sdp = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 'm=video 9 UDP/TLS/RTP/SAVPF 96', `a=${cand('192.168.1.7')}`, `a=${cand('198.51.100.7')}`, 'a=end-of-candidates', ''].join('\r\n');
    const { sdp: out, refused } = filter('192.168.1.2').filterSdp(sdp);
    expect(refused).toHaveLength(1);
    expect(out).toBe(sdp.replace(`a=${cand('198.51.100.7')}\r\n`, ''));
  });
});
