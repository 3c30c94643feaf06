import { describe, expect, it } from 'vitest';
import { formatPairingString, parsePairingString, PairingStringError, type PairingString } from '../../src/shared/pairing-string';

const FP = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

const bad = (text: string, message: RegExp) => {
  expect(() => parsePairingString(text)).toThrow(PairingStringError);
  expect(() => parsePairingString(text)).toThrow(message);
};

describe('parsePairingString', () => {
  it('reads Nabto Edge pairing strings', () => {
    expect(parsePairingString('p=pr-fatqcwj9,d=de-ab12cd34,u=admin,pwd=Ue3kGAtNVRY7,sct=demosct')).toEqual({
      productId: 'pr-fatqcwj9',
      deviceId: 'de-ab12cd34',
      username: 'admin',
      password: 'Ue3kGAtNVRY7',
      serverConnectToken: 'demosct',
    });
    expect(parsePairingString('p=pr-fatqcwj9,d=de-ab12cd34,pwd=open-password')).toEqual({
      productId: 'pr-fatqcwj9',
      deviceId: 'de-ab12cd34',
      password: 'open-password',
    });
  });

  it('reads the fp= extension and lower-cases it', () => {
    expect(parsePairingString(`d=de-1,fp=${FP}`)).toEqual({ deviceId: 'de-1', fingerprint: FP });
    expect(parsePairingString(`d=de-1,fp=${FP.toUpperCase()}`).fingerprint).toBe(FP);
  });

  it('accepts keys in any order and surrounding whitespace, and ignores unknown keys', () => {
    expect(parsePairingString(`  fp=${FP},x=whatever,d=de-1,future=1 \n`)).toEqual({ deviceId: 'de-1', fingerprint: FP });
  });

  it('requires d=', () => {
    bad('p=pr-1,u=bob,pwd=secret', /no device id/);
  });

  it('refuses a bad fingerprint', () => {
    bad(`d=de-1,fp=${FP.slice(1)}`, /fp=.*64 hex/);
    bad(`d=de-1,fp=${FP.slice(1)}g`, /fp=.*64 hex/);
    bad(`d=de-1,fp=${FP.match(/.{4}/g)!.join(':')}`, /fp=.*64 hex/);
  });

  it('reads them as Nabto\'s apps write them: a later duplicate wins, an empty value is absent', () => {
    expect(parsePairingString('d=de-1,d=de-2')).toEqual({ deviceId: 'de-2' });
    expect(parsePairingString('d=de-1,pwd=abcd,pwd=efgh')).toEqual({ deviceId: 'de-1', password: 'efgh' });
    expect(parsePairingString('d=de-1,x=1,x=2')).toEqual({ deviceId: 'de-1' });
    expect(parsePairingString('d=de-1,u=')).toEqual({ deviceId: 'de-1' });
    expect(parsePairingString('d=de-1,u=bob,u=')).toEqual({ deviceId: 'de-1' });
    expect(parsePairingString('p=,d=de-1,sct=')).toEqual({ deviceId: 'de-1' });
    bad('d=', /no device id/);
    bad('d=de-1,d=', /no device id/);
  });

  it('takes spaces after commas (and around parts), as Nabto\'s apps print them', () => {
    expect(parsePairingString(`p=pr-fatqcwj9, d=de-vma9qrox, u=admin, pwd=buKVmisdxETM, sct=ov9X3JE4aVEK, fp=${FP}`)).toEqual({
      productId: 'pr-fatqcwj9',
      deviceId: 'de-vma9qrox',
      username: 'admin',
      password: 'buKVmisdxETM',
      serverConnectToken: 'ov9X3JE4aVEK',
      fingerprint: FP,
    });
    expect(parsePairingString(' p = pr-1 ,  d=de-1 ')).toEqual({ productId: 'pr-1', deviceId: 'de-1' });
  });

  it("reads the URL query form that Nabto's WebRTC demo prints", () => {
    expect(parsePairingString(`https://demo.smartcloud.nabto.com/?p=pr-abc&d=de-xyz&u=alice&pwd=p%2Cw%3Dd!&sct=s1&fp=${FP}`)).toEqual({
      productId: 'pr-abc',
      deviceId: 'de-xyz',
      username: 'alice',
      password: 'p,w=d!',
      serverConnectToken: 's1',
      fingerprint: FP,
    });
    expect(parsePairingString('?d=de-1&u=&d=de-2#ignored')).toEqual({ deviceId: 'de-2' });
    bad('https://x.example/?p=pr-1', /no device id/);
    bad('https://x.example/?d=de-1&pwd=%E0%A4%A', /broken %-escape/);
    bad('https://x.example/?d=de-1&novalue', /not key=value/);
  });

  it('refuses empty parts', () => {
    bad('d=de-1,,u=bob', /empty part/);
    bad('d=de-1,', /empty part/);
    bad('', /empty/);
    bad('   ', /empty/);
  });

  it('refuses values with "=" and parts that are not key=value', () => {
    bad('d=de-1,pwd=ab=cd', /contains "="/);
    bad('d=de-1,hello', /not key=value/);
    bad('=x,d=de-1', /no key/);
  });

  it('checks each known value', () => {
    bad('d=de 1', /d= must be/);
    bad('d=de-1,p=pr/1', /p= must be/);
    bad('d=de-1,u=Bob', /u= must be a username/);
    bad('d=de-1,pwd=abc', /pwd= must be a password of 4-64 bytes/);
    bad(`d=de-1,pwd=${'x'.repeat(65)}`, /pwd=/);
    bad(`d=${'x'.repeat(65)}`, /d= must be/);
    bad(`d=de-1,sct=${'x'.repeat(65)}`, /sct=/);
    bad('d=de-1,pwd=ab\tcd', /control characters/);
    bad(`d=de-1,x=${'y'.repeat(2000)}`, /longer than/);
  });

  it('does not put the password into error messages', () => {
    for (const text of ['d=de-1,pwd=s3cr=et', 'pwd=s3cret99,u=BAD', 'pwd=s3cret99']) {
      try {
        parsePairingString(text);
        expect.unreachable();
      } catch (err) {
        expect((err as Error).message).not.toContain('s3cr');
      }
    }
  });
});

describe('formatPairingString', () => {
  const full: PairingString = { productId: 'pr-1', deviceId: 'de-1', username: 'bob', password: 'Ab3dEf6hJk8mNp2q', serverConnectToken: 'tok', fingerprint: FP };

  it('writes p, d, u, pwd, sct, fp in that order and round-trips', () => {
    const text = formatPairingString({ fingerprint: FP, password: 'Ab3dEf6hJk8mNp2q', username: 'bob', deviceId: 'de-1', productId: 'pr-1', serverConnectToken: 'tok' });
    expect(text).toBe(`p=pr-1,d=de-1,u=bob,pwd=Ab3dEf6hJk8mNp2q,sct=tok,fp=${FP}`);
    expect(parsePairingString(text)).toEqual(full);
  });

  it('leaves out what is not given', () => {
    expect(formatPairingString({ deviceId: 'de-1' })).toBe('d=de-1');
    expect(formatPairingString({ deviceId: 'de-1', fingerprint: FP, username: undefined })).toBe(`d=de-1,fp=${FP}`);
  });

  it('refuses values the format cannot carry', () => {
    expect(() => formatPairingString({ deviceId: 'de-1', password: 'abc,def' })).toThrow(/contains "," or "="/);
    expect(() => formatPairingString({ deviceId: 'de-1', password: 'abc=def' })).toThrow(/contains "," or "="/);
    expect(() => formatPairingString({ deviceId: '' })).toThrow(/d= is empty/);
    expect(() => formatPairingString({ deviceId: 'de-1', fingerprint: 'abc' })).toThrow(/fp=/);
    expect(() => formatPairingString({} as PairingString)).toThrow(/device id/);
  });
});
