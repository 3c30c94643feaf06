import { describe, expect, it } from 'vitest';
import { FINGERPRINT_RE, groupFingerprint, isFingerprint, normalizeFingerprint, shortFingerprint } from '../../src/shared/fingerprint';

const FP = '2aa02d0595655115395fdf64ddbdf2ccd86a42498af84b751ea7b1b485df837f';

describe('isFingerprint', () => {
  it('accepts exactly 64 lowercase hex characters', () => {
    expect(isFingerprint(FP)).toBe(true);
    expect(FINGERPRINT_RE.test(FP)).toBe(true);
  });

  it.each([
    ['63 characters', FP.slice(0, 63)],
    ['65 characters', `${FP}0`],
    ['upper case', FP.toUpperCase()],
    ['a non-hex character', `${FP.slice(0, 63)}g`],
    ['grouped', groupFingerprint(FP)],
    ['empty', ''],
  ])('rejects %s', (_label, value) => {
    expect(isFingerprint(value)).toBe(false);
  });

  it('rejects non-strings', () => {
    expect(isFingerprint(undefined)).toBe(false);
    expect(isFingerprint(42)).toBe(false);
    expect(isFingerprint({ toString: () => FP })).toBe(false);
  });
});

describe('groupFingerprint', () => {
  it('gives 16 groups of 4 hex digits separated by single spaces', () => {
    const grouped = groupFingerprint(FP);
    expect(grouped).toBe('2aa0 2d05 9565 5115 395f df64 ddbd f2cc d86a 4249 8af8 4b75 1ea7 b1b4 85df 837f');
    expect(grouped).toHaveLength(79);
    expect(grouped.split(' ')).toHaveLength(16);
    expect(grouped.replace(/ /g, '')).toBe(FP);
  });

  it('uses the separator given', () => {
    expect(groupFingerprint(FP, ':')).toBe('2aa0:2d05:9565:5115:395f:df64:ddbd:f2cc:d86a:4249:8af8:4b75:1ea7:b1b4:85df:837f');
  });

  it('round-trips through normalizeFingerprint', () => {
    expect(normalizeFingerprint(groupFingerprint(FP))).toBe(FP);
    expect(normalizeFingerprint(groupFingerprint(FP, '-'))).toBe(FP);
  });

  it.each([FP.slice(0, 63), `${FP}a`, FP.toUpperCase(), `${FP.slice(0, 63)}z`, ''])('throws for a non-fingerprint (%s)', (value) => {
    expect(() => groupFingerprint(value)).toThrow(/not a fingerprint/);
  });

  it('shortFingerprint is the first four groups', () => {
    expect(shortFingerprint(FP)).toBe('2aa0 2d05 9565 5115');
  });
});

describe('normalizeFingerprint', () => {
  it.each([
    ['canonical', FP],
    ['upper case', FP.toUpperCase()],
    ['grouped with spaces', '2aa0 2d05 9565 5115 395f df64 ddbd f2cc d86a 4249 8af8 4b75 1ea7 b1b4 85df 837f'],
    ['grouped on four lines', '2aa0 2d05 9565 5115\n395f df64 ddbd f2cc\n  d86a 4249 8af8 4b75\n1ea7 b1b4 85df 837f\n'],
    ['colon-separated bytes (openssl style)', FP.toUpperCase().match(/../g)!.join(':')],
    ['dashes', FP.match(/.{8}/g)!.join('-')],
    ['surrounding whitespace and tabs', `\t ${FP}  \r\n`],
    // `openssl pkey -pubout -outform DER | sha256sum` prints "<hex>  -".
    ['a pasted sha256sum line', `${FP}  -`],
  ])('accepts %s', (label, value) => {
    expect(normalizeFingerprint(value), label).toBe(FP);
  });

  it.each([
    ['63 hex characters', FP.slice(0, 63)],
    ['65 hex characters', `${FP}0`],
    ['63 characters, grouped', groupFingerprint(FP).slice(0, -1)],
    ['65 characters, grouped', `${groupFingerprint(FP)}a`],
    ['a non-hex letter', `${FP.slice(0, 63)}g`],
    ['a non-hex punctuation', `${FP.slice(0, 32)}.${FP.slice(33)}`],
    ['SHA256: prefix', `SHA256:${FP}`],
    ['base64', Buffer.from(FP, 'hex').toString('base64')],
    ['empty', ''],
    ['only separators', ' :- '],
  ])('rejects %s', (_label, value) => {
    expect(normalizeFingerprint(value)).toBeUndefined();
  });
});
