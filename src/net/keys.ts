/**
 * Peer identity: an ECDSA P-256 key pair per peer, its fingerprint (SHA-256 of the DER
 * SubjectPublicKeyInfo, as `openssl pkey -pubout -outform DER | sha256sum` prints it) and a
 * self-signed certificate made from it for mutual TLS. The certificate carries no trust: each
 * side pins the other's key fingerprint.
 */
import 'reflect-metadata';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, webcrypto, type KeyObject, type X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as x509 from '@peculiar/x509';
import { writeFileAtomic } from './atomic-file';

export interface Identity {
  privateKey: KeyObject;
  /** PKCS#8 PEM of the private key. */
  keyPem: string;
  /** Self-signed certificate (PEM) for this key. */
  certPem: string;
  fingerprint: string;
}

type SelfSignedParams = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0];

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

export function fingerprintOfPublicKey(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

export function fingerprintOfCertificate(cert: X509Certificate): string {
  return fingerprintOfPublicKey(cert.publicKey);
}

/**
 * What kind of key this is, when it is not the ECDSA P-256 every lancam peer uses ("RSA",
 * "Ed25519", "EC secp384r1"); undefined for P-256.
 */
export function nonP256KeyKind(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return undefined;
  if (key.asymmetricKeyType === 'ec') return `EC ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown curve'}`;
  const names: Record<string, string> = { rsa: 'RSA', 'rsa-pss': 'RSA-PSS', ed25519: 'Ed25519', ed448: 'Ed448', dsa: 'DSA' };
  return names[key.asymmetricKeyType ?? ''] ?? key.asymmetricKeyType ?? 'unknown';
}

/** Why a peer's certificate is not acceptable (its key is not P-256), or undefined when it is. */
export function certificateKeyProblem(cert: X509Certificate): string | undefined {
  const kind = nonP256KeyKind(cert.publicKey);
  return kind === undefined ? undefined : `its key is ${kind}; lancam accepts only ECDSA P-256 keys`;
}

export function generatePrivateKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** Parses a PEM private key (SEC1 "EC PRIVATE KEY" or PKCS#8) and checks that it is P-256. */
export function parsePrivateKeyPem(pem: string, source = 'key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new KeyFileError(`${source}: not a PEM private key (${(err as Error).message})`);
  }
  if (nonP256KeyKind(key) !== undefined) {
    const kind = key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType;
    throw new KeyFileError(`${source}: expected an ECDSA P-256 key, got ${kind}`);
  }
  return key;
}

export async function identityFromKey(privateKey: KeyObject, commonName: string): Promise<Identity> {
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const subtle = webcrypto.subtle;
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = {
    privateKey: await subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), algorithm, false, ['sign']),
    publicKey: await subtle.importKey('spki', createPublicKey(privateKey).export({ type: 'spki', format: 'der' }), algorithm, true, ['verify']),
  };
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
      name: `CN=${commonName.replace(/[,=+<>#;"\\]/g, '_')}`,
      notBefore: new Date(now - 24 * 3600_000),
      notAfter: new Date(now + 20 * 365 * 24 * 3600_000),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      keys: keys as unknown as SelfSignedParams['keys'],
    },
    webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1],
  );
  return { privateKey, keyPem, certPem: cert.toString('pem'), fingerprint: fingerprintOfPublicKey(privateKey) };
}

/**
 * Loads the key in `file`, or creates one there (mode 0600) when the file does not exist.
 * An existing file that is not a P-256 key is an error, never overwritten.
 */
export async function loadOrCreateKeyFile(file: string): Promise<{ key: KeyObject; created: boolean }> {
  let pem: string | undefined;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (pem !== undefined) return { key: parsePrivateKeyPem(pem, file), created: false };
  const key = generatePrivateKey();
  await writeFileAtomic(file, key.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  return { key, created: true };
}

export async function loadKeyFile(file: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new KeyFileError(`cannot read key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parsePrivateKeyPem(pem, file);
}
