// Key files and fingerprints against openssl (the reference the architecture names), and
// lancam-device's --key. Devices listen on 127.0.0.1 without mDNS (test/helpers/processes.ts).
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  KeyFileError,
  fingerprintOfCertificate,
  fingerprintOfPublicKey,
  identityFromKey,
  loadKeyFile,
  loadOrCreateKeyFile,
  parsePrivateKeyPem,
} from '../../src/net/keys';
import { DeviceExitError, cleanupAll, startDevice, tempDir } from '../helpers/processes';

afterEach(cleanupAll);

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
}

/** `openssl pkey -pubout -outform DER | sha256sum`, literally. */
function opensslFingerprint(keyFile: string): string {
  const out = execFileSync('sh', ['-c', 'openssl pkey -in "$1" -pubout -outform DER | sha256sum', 'sh', keyFile], { encoding: 'utf8' });
  const m = /^([0-9a-f]{64})\s+-\s*$/.exec(out);
  if (!m) throw new Error(`unexpected sha256sum output: ${out}`);
  return m[1]!;
}

async function keyFile(dir: string, name: string, args: string[]): Promise<string> {
  const file = path.join(dir, name);
  openssl([...args, '-out', file]);
  return file;
}

const SEC1 = ['ecparam', '-name', 'prime256v1', '-genkey', '-noout'];
const PKCS8 = ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
const P384 = ['ecparam', '-name', 'secp384r1', '-genkey', '-noout'];
const RSA = ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
const ED25519 = ['genpkey', '-algorithm', 'ed25519'];

async function snapshot(file: string): Promise<{ bytes: Buffer; mode: number; mtimeMs: number }> {
  const stat = await fs.stat(file);
  return { bytes: await fs.readFile(file), mode: stat.mode & 0o777, mtimeMs: stat.mtimeMs };
}

function rejection(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('fingerprints agree with openssl', () => {
  it.each([
    ['SEC1 ("EC PRIVATE KEY")', SEC1, '-----BEGIN EC PRIVATE KEY-----'],
    ['PKCS#8 ("PRIVATE KEY")', PKCS8, '-----BEGIN PRIVATE KEY-----'],
  ])('%s key', async (_label, args, header) => {
    const dir = await tempDir('lancam-keys-');
    const file = await keyFile(dir, 'key.pem', args);
    const pem = await fs.readFile(file, 'utf8');
    expect(pem.startsWith(header)).toBe(true);

    const expected = opensslFingerprint(file);
    const key = parsePrivateKeyPem(pem);
    expect(fingerprintOfPublicKey(key)).toBe(expected);
    // The same from the public key alone, and from the self-signed certificate we make.
    const publicPem = openssl(['pkey', '-in', file, '-pubout']);
    expect(fingerprintOfPublicKey(createPublicKey(publicPem))).toBe(expected);
    expect((await loadKeyFile(file)).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const identity = await identityFromKey(key, 'test');
    expect(identity.fingerprint).toBe(expected);
    expect(fingerprintOfCertificate(new X509Certificate(identity.certPem))).toBe(expected);
    // The certificate's key, as openssl reads it from the certificate.
    const certFile = path.join(dir, 'cert.pem');
    await fs.writeFile(certFile, identity.certPem);
    const certKeyDer = execFileSync('sh', ['-c', 'openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum', 'sh', certFile], { encoding: 'utf8' });
    expect(certKeyDer.slice(0, 64)).toBe(expected);
  });
});

describe('unsupported keys are rejected clearly', () => {
  it.each([
    ['a P-384 key', P384, /expected an ECDSA P-256 key, got EC secp384r1/],
    ['an RSA key', RSA, /expected an ECDSA P-256 key, got rsa/],
    ['an Ed25519 key', ED25519, /expected an ECDSA P-256 key, got ed25519/],
  ])('%s', async (_label, args, message) => {
    const dir = await tempDir('lancam-keys-');
    const file = await keyFile(dir, 'key.pem', args);
    const err = rejection(() => parsePrivateKeyPem(openssl(['pkey', '-in', file]), 'my.key'));
    expect(err).toBeInstanceOf(KeyFileError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message.startsWith('my.key: ')).toBe(true);
    await expect(loadKeyFile(file)).rejects.toThrow(message);
  });

  it.each([
    ['garbage', 'this is not a key\n'],
    ['an empty file', ''],
    ['a public key', 'PUBLIC'],
    ['a truncated PEM', 'TRUNCATED'],
  ])('%s', async (label, content) => {
    const dir = await tempDir('lancam-keys-');
    let pem = content;
    if (content === 'PUBLIC' || content === 'TRUNCATED') {
      const file = await keyFile(dir, 'key.pem', SEC1);
      pem = content === 'PUBLIC' ? openssl(['pkey', '-in', file, '-pubout']) : (await fs.readFile(file, 'utf8')).slice(0, 120);
    }
    const err = rejection(() => parsePrivateKeyPem(pem, 'my.key'));
    expect(err, label).toBeInstanceOf(KeyFileError);
    expect((err as Error).message).toMatch(/^my\.key: not a PEM private key/);
  });

  it('a missing key file is a KeyFileError naming the file', async () => {
    const dir = await tempDir('lancam-keys-');
    await expect(loadKeyFile(path.join(dir, 'nope.pem'))).rejects.toThrow(new RegExp(`cannot read key file ${path.join(dir, 'nope.pem')}: ENOENT`));
  });
});

describe('loadOrCreateKeyFile', () => {
  it('creates a 0600 PKCS#8 P-256 key and loads the same key the second time', async () => {
    const dir = await tempDir('lancam-keys-');
    const file = path.join(dir, 'client.key');
    const first = await loadOrCreateKeyFile(file);
    expect(first.created).toBe(true);
    const stat = await fs.stat(file);
    expect(stat.mode & 0o777).toBe(0o600);
    const pem = await fs.readFile(file, 'utf8');
    expect(pem.startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true);
    expect(first.key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(fingerprintOfPublicKey(first.key)).toBe(opensslFingerprint(file));

    const second = await loadOrCreateKeyFile(file);
    expect(second.created).toBe(false);
    expect(fingerprintOfPublicKey(second.key)).toBe(fingerprintOfPublicKey(first.key));
    expect(await fs.readFile(file, 'utf8')).toBe(pem);
    expect((await fs.readdir(dir)).sort()).toEqual(['client.key']);
  });

  it('uses an existing SEC1 key as it is', async () => {
    const dir = await tempDir('lancam-keys-');
    const file = await keyFile(dir, 'sec1.pem', SEC1);
    const before = await snapshot(file);
    const { key, created } = await loadOrCreateKeyFile(file);
    expect(created).toBe(false);
    expect(fingerprintOfPublicKey(key)).toBe(opensslFingerprint(file));
    expect(await snapshot(file)).toEqual(before);
  });

  it('never overwrites an existing file that is not a P-256 key', async () => {
    const dir = await tempDir('lancam-keys-');
    const p384 = await keyFile(dir, 'p384.pem', P384);
    const garbage = path.join(dir, 'garbage.pem');
    await fs.writeFile(garbage, 'garbage\n', { mode: 0o600 });
    for (const file of [p384, garbage]) {
      const before = await snapshot(file);
      await expect(loadOrCreateKeyFile(file)).rejects.toBeInstanceOf(KeyFileError);
      expect(await snapshot(file)).toEqual(before);
    }
  });
});

describe('lancam-device --key', () => {
  it.each([
    ['SEC1', SEC1],
    ['PKCS#8', PKCS8],
  ])('uses a %s key in place and prints its openssl fingerprint', async (_label, args) => {
    const dir = await tempDir('lancam-keys-');
    const file = await keyFile(dir, 'deployed.pem', args);
    const before = await snapshot(file);
    const expected = opensslFingerprint(file);

    const device = await startDevice({ mdns: false, args: ['--key', file] });
    const printed = /fingerprint\s+([0-9a-f ]+)\n/.exec(device.stdout());
    expect(printed).not.toBeNull();
    expect(printed![1]!.trim()).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    expect(printed![1]!.replace(/ /g, '')).toBe(expected);
    expect(device.fingerprint).toBe(expected);

    await device.stop('SIGTERM');
    expect(await snapshot(file)).toEqual(before);
    // In place: no copy of the key in the state directory.
    expect(await fs.readdir(device.stateDir)).not.toContain('device.key');
  });

  it.each([
    ['a P-384 key', 'P384', /expected an ECDSA P-256 key, got EC secp384r1/],
    ['an RSA key', 'RSA', /expected an ECDSA P-256 key, got rsa/],
    ['garbage', 'garbage', /not a PEM private key/],
    ['a missing file', 'missing', /cannot read key file .*: ENOENT/],
  ])('refuses %s with one line on stderr and a non-zero exit', async (_label, kind, message) => {
    const dir = await tempDir('lancam-keys-');
    let file = path.join(dir, 'bad.pem');
    if (kind === 'P384') file = await keyFile(dir, 'bad.pem', P384);
    else if (kind === 'RSA') file = await keyFile(dir, 'bad.pem', RSA);
    else if (kind === 'garbage') await fs.writeFile(file, 'garbage\n');
    const before = kind === 'missing' ? undefined : await snapshot(file);

    const err = await startDevice({ mdns: false, args: ['--key', file] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeviceExitError);
    const exit = err as DeviceExitError;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(exit.stdout).not.toMatch(/listening on/);
    const lines = exit.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lancam-device: /);
    expect(lines[0]).toContain(file);
    expect(lines[0]).toMatch(message);
    if (before) expect(await snapshot(file)).toEqual(before);
    else await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('creates its own device.key with mode 0600 and prints its fingerprint', async () => {
    const device = await startDevice({ mdns: false });
    const file = path.join(device.stateDir, 'device.key');
    const stat = await fs.stat(file);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(opensslFingerprint(file)).toBe(device.fingerprint);
    expect(/^-----BEGIN (EC )?PRIVATE KEY-----/.test(await fs.readFile(file, 'utf8'))).toBe(true);
  });
});
