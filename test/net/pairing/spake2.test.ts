import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import {
  computeShare,
  deriveKeys,
  passwordToScalar,
  Spake2Client,
  Spake2ConfirmationError,
  Spake2Device,
  Spake2Error,
  type Spake2Options,
} from '../../../src/net/pairing/spake2';

interface Vector {
  A: string;
  B: string;
  w: string;
  x: string;
  y: string;
  pA: string;
  pB: string;
  K: string;
  TT: string;
  hashTT: string;
  Ke: string;
  Ka: string;
  KcA: string;
  KcB: string;
  cA: string;
  cB: string;
}

// CI clones the repository with shared/ beside it: <repo>/../shared/vectors.
const vectorFile = JSON.parse(
  readFileSync(new URL('../../../../shared/vectors/rfc9382-spake2-p256.json', import.meta.url), 'utf8'),
) as { M: string; N: string; vectors: Vector[] };

const hex = (value: string): Uint8Array => hexToBytes(value);
const CLIENT_FP = 'a1'.repeat(32);
const DEVICE_FP = 'b2'.repeat(32);

function options(overrides: Partial<Spake2Options> = {}): Spake2Options {
  return { password: 'correct horse battery staple', idA: CLIENT_FP, idB: DEVICE_FP, aad: hex('11'.repeat(32)), ...overrides };
}

/**
 * What a client with these options would send as cA, computed with the core (the real client
 * refuses to produce cA once cB fails, so an attacker's cA has to be built by hand).
 */
function forgedClientConfirmation(opts: Spake2Options, device: (pA: Uint8Array) => Spake2Device): { device: Spake2Device; cA: Uint8Array } {
  const w = passwordToScalar(opts.password);
  const x = 0x1234567890abcdefn;
  const d = device(computeShare('A', w, x));
  const keys = deriveKeys({ role: 'A', w, scalar: x, idA: utf8ToBytes(opts.idA), idB: utf8ToBytes(opts.idB), aad: opts.aad, peerShare: d.pB });
  return { device: d, cA: keys.cA };
}

describe('RFC 9382 constants', () => {
  // RFC 9382 appendix A: hash the seed with SHA-256 repeatedly, take 33 bytes from iterations
  // i and i+1, force a compressed-point prefix, and keep the first i that decodes on the curve.
  it.each(['M', 'N'] as const)('%s is derived from the RFC seed (nothing up the sleeve)', (label) => {
    const seed = utf8ToBytes(`1.2.840.10045.3.1.7 point generation seed (${label})`);
    const iterate = (n: number): Uint8Array => {
      let h = seed;
      for (let i = 0; i < n; i++) h = sha256(h);
      return h;
    };
    let found: string | undefined;
    for (let i = 1; found === undefined; i++) {
      const candidate = concatBytes(iterate(i), iterate(i + 1)).slice(0, 33);
      candidate[0] = (candidate[0]! & 1) | 2;
      try {
        p256.Point.fromBytes(candidate);
        found = bytesToHex(candidate);
      } catch {
        // not on the curve: next i
      }
    }
    expect(found).toBe(vectorFile[label]);
  });
});

describe('RFC 9382 test vectors (P256-SHA256-HKDF-HMAC-SHA256)', () => {
  it('has the four vectors', () => {
    expect(vectorFile.vectors).toHaveLength(4);
  });

  describe.each(vectorFile.vectors.map((v) => [`A=${JSON.stringify(v.A)} B=${JSON.stringify(v.B)}`, v] as const))('%s', (_name, v) => {
    const w = BigInt('0x' + v.w);
    const x = BigInt('0x' + v.x);
    const y = BigInt('0x' + v.y);
    const common = { w, idA: utf8ToBytes(v.A), idB: utf8ToBytes(v.B), aad: new Uint8Array(0) };

    it('computes pA and pB', () => {
      expect(bytesToHex(computeShare('A', w, x))).toBe(v.pA);
      expect(bytesToHex(computeShare('B', w, y))).toBe(v.pB);
    });

    it.each([
      ['A', x, v.pB],
      ['B', y, v.pA],
    ] as const)('side %s derives every intermediate', (role, scalar, peerShare) => {
      const keys = deriveKeys({ ...common, role, scalar, peerShare: hex(peerShare) });
      expect(bytesToHex(keys.pA)).toBe(v.pA);
      expect(bytesToHex(keys.pB)).toBe(v.pB);
      expect(bytesToHex(keys.K)).toBe(v.K);
      expect(bytesToHex(keys.TT)).toBe(v.TT);
      expect(bytesToHex(keys.Ke) + bytesToHex(keys.Ka)).toBe(v.hashTT);
      expect(bytesToHex(keys.Ke)).toBe(v.Ke);
      expect(bytesToHex(keys.Ka)).toBe(v.Ka);
      expect(bytesToHex(keys.KcA)).toBe(v.KcA);
      expect(bytesToHex(keys.KcB)).toBe(v.KcB);
      expect(bytesToHex(keys.cA)).toBe(v.cA);
      expect(bytesToHex(keys.cB)).toBe(v.cB);
    });
  });
});

describe('passwordToScalar', () => {
  it('is SHA-256(UTF-8(password)) as a big-endian integer mod n', () => {
    const n = p256.Point.Fn.ORDER;
    for (const password of ['admin', 'pæsswörd', '🔑'.repeat(40)]) {
      expect(passwordToScalar(password)).toBe(BigInt('0x' + bytesToHex(sha256(utf8ToBytes(password)))) % n);
    }
  });
});

describe('two-party exchange', () => {
  it('agrees on Ke with the same password', () => {
    const client = Spake2Client.start(options());
    const device = Spake2Device.respond({ ...options(), pA: client.message });
    const { cA } = client.finish({ pB: device.pB, cB: device.cB });
    device.verify(cA);
    expect(client.sharedKey).toHaveLength(16);
    expect(bytesToHex(client.sharedKey)).toBe(bytesToHex(device.sharedKey));
  });

  it('uses fresh scalars: two runs with the same inputs share nothing', () => {
    const first = Spake2Client.start(options());
    const second = Spake2Client.start(options());
    expect(first.message).toHaveLength(65);
    expect(bytesToHex(first.message)).not.toBe(bytesToHex(second.message));
  });

  describe('fails on both sides when the sides disagree', () => {
    // MITM case: a man in the middle terminating TLS sees two connections, so the two sides
    // compute different TLS exporters even when he relays every SPAKE2 message unchanged.
    const cases: [string, Partial<Spake2Options>][] = [
      ['wrong password', { password: 'correct horse battery stapler' }],
      ['different AAD (TLS exporter), the man-in-the-middle case', { aad: hex('22'.repeat(32)) }],
      ['different idA', { idA: 'c3'.repeat(32) }],
      ['different idB', { idB: 'd4'.repeat(32) }],
    ];

    it.each(cases)('%s: the client rejects cB', (_name, clientSide) => {
      const client = Spake2Client.start(options(clientSide));
      const device = Spake2Device.respond({ ...options(), pA: client.message });
      expect(() => client.finish({ pB: device.pB, cB: device.cB })).toThrow(Spake2ConfirmationError);
      expect(() => client.sharedKey).toThrow(/not been confirmed/);
    });

    it.each(cases)('%s: the device rejects cA', (_name, clientSide) => {
      const { device, cA } = forgedClientConfirmation(options(clientSide), (pA) => Spake2Device.respond({ ...options(), pA }));
      expect(() => device.verify(cA)).toThrow(Spake2ConfirmationError);
      expect(() => device.sharedKey).toThrow(/not been confirmed/);
    });

    it('the forged-confirmation helper itself is accepted when the sides agree', () => {
      const { device, cA } = forgedClientConfirmation(options(), (pA) => Spake2Device.respond({ ...options(), pA }));
      device.verify(cA);
      expect(device.sharedKey).toHaveLength(16);
    });
  });

  it('rejects a tampered cB', () => {
    const client = Spake2Client.start(options());
    const device = Spake2Device.respond({ ...options(), pA: client.message });
    const cB = device.cB.slice();
    cB[31]! ^= 1;
    expect(() => client.finish({ pB: device.pB, cB })).toThrow(Spake2ConfirmationError);
  });

  it('rejects a tampered, truncated or empty cA', () => {
    for (const tamper of [
      (c: Uint8Array) => {
        c[0]! ^= 0x80;
        return c;
      },
      (c: Uint8Array) => c.slice(0, 31),
      () => new Uint8Array(0),
    ]) {
      const client = Spake2Client.start(options());
      const device = Spake2Device.respond({ ...options(), pA: client.message });
      const { cA } = client.finish({ pB: device.pB, cB: device.cB });
      expect(() => device.verify(tamper(cA.slice()))).toThrow(Spake2ConfirmationError);
      expect(() => device.sharedKey).toThrow();
    }
  });

  it('rejects a tampered pB (cB no longer matches)', () => {
    const client = Spake2Client.start(options());
    const device = Spake2Device.respond({ ...options(), pA: client.message });
    const otherDevice = Spake2Device.respond({ ...options(), pA: client.message });
    expect(() => client.finish({ pB: otherDevice.pB, cB: device.cB })).toThrow(Spake2ConfirmationError);
  });

  it('finish() and verify() run once, and a failed verify never exposes Ke', () => {
    const client = Spake2Client.start(options());
    const device = Spake2Device.respond({ ...options(), pA: client.message });
    expect(() => device.sharedKey).toThrow(/not been confirmed/);
    const { cA } = client.finish({ pB: device.pB, cB: device.cB });
    expect(() => client.finish({ pB: device.pB, cB: device.cB })).toThrow(/only once/);

    const bad = cA.slice();
    bad[5]! ^= 1;
    expect(() => device.verify(bad)).toThrow(Spake2ConfirmationError);
    // The right cA after a wrong one is refused: no second guess at the same exchange.
    expect(() => device.verify(cA)).toThrow(/only once/);
    expect(() => device.sharedKey).toThrow(/not been confirmed/);
  });

  it('a client whose finish() failed cannot be retried', () => {
    const client = Spake2Client.start(options({ password: 'wrong' }));
    const device = Spake2Device.respond({ ...options(), pA: client.message });
    expect(() => client.finish({ pB: device.pB, cB: device.cB })).toThrow(Spake2ConfirmationError);
    expect(() => client.finish({ pB: device.pB, cB: device.cB })).toThrow(/only once/);
  });

  it('sharedKey returns a copy', () => {
    const client = Spake2Client.start(options());
    const device = Spake2Device.respond({ ...options(), pA: client.message });
    device.verify(client.finish({ pB: device.pB, cB: device.cB }).cA);
    client.sharedKey.fill(0);
    expect(bytesToHex(client.sharedKey)).toBe(bytesToHex(device.sharedKey));
  });
});

describe('validation of received shares', () => {
  const valid = Spake2Client.start(options()).message;
  const offCurve = valid.slice();
  offCurve[64]! ^= 1;
  const p = p256.Point.Fp.ORDER;
  const xNotInField = concatBytes(Uint8Array.of(4), hexToBytes(p.toString(16)), valid.slice(33));

  const bad: [string, Uint8Array, RegExp][] = [
    ['the identity (SEC1 0x00)', Uint8Array.of(0), /identity/],
    ['an all-zero uncompressed point', concatBytes(Uint8Array.of(4), new Uint8Array(64)), /not a valid P-256 point/],
    ['a point off the curve', offCurve, /not a valid P-256 point/],
    ['a coordinate not below p', xNotInField, /not a valid P-256 point/],
    ['random garbage', concatBytes(Uint8Array.of(4), randomBytes(64)), /not a valid P-256 point/],
    ['the compressed form', p256.Point.fromBytes(valid).toBytes(true), /65-byte uncompressed/],
    ['a truncated point', valid.slice(0, 64), /65-byte uncompressed/],
    ['empty bytes', new Uint8Array(0), /65-byte uncompressed/],
    ['a wrong prefix', concatBytes(Uint8Array.of(6), valid.slice(1)), /65-byte uncompressed/],
  ];

  it.each(bad)('the device rejects %s as pA', (_name, pA, message) => {
    expect(() => Spake2Device.respond({ ...options(), pA })).toThrow(Spake2Error);
    expect(() => Spake2Device.respond({ ...options(), pA })).toThrow(message);
  });

  it.each(bad)('the client rejects %s as pB', (_name, pB, message) => {
    const client = Spake2Client.start(options());
    const device = Spake2Device.respond({ ...options(), pA: client.message });
    expect(() => client.finish({ pB, cB: device.cB })).toThrow(message);
    expect(() => client.sharedKey).toThrow();
  });

  it('rejects a share that makes K the identity (pA = w*M)', () => {
    const w = passwordToScalar(options().password);
    const M = p256.Point.fromHex(vectorFile.M);
    const pA = M.multiply(w).toBytes(false);
    expect(() => Spake2Device.respond({ ...options(), pA })).toThrow(/shared point is the identity/);
  });

  it('invalid-point errors are Spake2Error but not confirmation errors', () => {
    let caught: unknown;
    try {
      Spake2Device.respond({ ...options(), pA: Uint8Array.of(0) });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Spake2Error);
    expect(caught).not.toBeInstanceOf(Spake2ConfirmationError);
  });
});

describe('options', () => {
  it.each([
    ['an empty password', { password: '' }, /password/],
    ['idA that is not a fingerprint', { idA: 'A1'.repeat(32) }, /idA/],
    ['idB that is not a fingerprint', { idB: 'client' }, /idB/],
    ['an empty AAD', { aad: new Uint8Array(0) }, /aad/],
  ] as const)('refuses %s', (_name, override, message) => {
    expect(() => Spake2Client.start(options(override))).toThrow(message);
    expect(() => Spake2Device.respond({ ...options(override), pA: Spake2Client.start(options()).message })).toThrow(message);
  });

  it('copies the AAD, so a later change by the caller cannot alter the exchange', () => {
    const aad = hex('33'.repeat(32));
    const client = Spake2Client.start(options({ aad }));
    aad.fill(0x44);
    const device = Spake2Device.respond({ ...options({ aad: hex('33'.repeat(32)) }), pA: client.message });
    expect(() => client.finish({ pB: device.pB, cB: device.cB })).not.toThrow();
  });
});
