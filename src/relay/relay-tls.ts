/**
 * The relay's TLS certificate: the operator's (`--cert`/`--key`, e.g. from an ACME client), or a
 * self-signed one made from the relay key in the state directory, which clients and cameras pin
 * by fingerprint. Either way the fingerprint (SHA-256 of the certificate key's SPKI) is printed.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { certificateKeyProblem, fingerprintOfCertificate, identityFromKey, loadOrCreateKeyFile } from '../net/keys';
import type { RelayTls } from './relay-server';

export const RELAY_KEY_FILE = 'relay-key.pem';

export interface RelayTlsMaterial extends RelayTls {
  fingerprint: string;
  source: 'operator' | 'self-signed';
  /** The self-signed key was created on this start. */
  created: boolean;
}

export async function loadOperatorTls(certFile: string, keyFile: string): Promise<RelayTlsMaterial> {
  const read = async (file: string, what: string) => {
    try {
      return await fs.readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  };
  const certPem = await read(certFile, 'certificate');
  const keyPem = await read(keyFile, 'key');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new Error(`${certFile}: not a PEM certificate (${(err as Error).message})`, { cause: err });
  }
  // Cameras and clients pin the relay like any other lancam peer: its key must be P-256 too.
  const problem = certificateKeyProblem(cert);
  if (problem) throw new Error(`${certFile}: ${problem} (ask the ACME client for one, e.g. certbot --key-type ecdsa --elliptic-curve secp256r1)`);
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new Error(`${keyFile}: not a PEM private key (${(err as Error).message})`, { cause: err });
  }
  const der = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
  if (!der(createPublicKey(key)).equals(der(cert.publicKey))) throw new Error(`${keyFile} is not the key of the certificate in ${certFile}`);
  return { certPem, keyPem, fingerprint: fingerprintOfCertificate(cert), source: 'operator', created: false };
}

export async function loadSelfSignedTls(stateDir: string): Promise<RelayTlsMaterial> {
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const { key, created } = await loadOrCreateKeyFile(path.join(stateDir, RELAY_KEY_FILE));
  const identity = await identityFromKey(key, 'lancam-relay');
  return { certPem: identity.certPem, keyPem: identity.keyPem, fingerprint: identity.fingerprint, source: 'self-signed', created };
}
