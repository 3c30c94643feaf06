/**
 * Remote-access grants this client holds (relay secrets), in the home directory, encrypted:
 * AES-256-GCM under a key derived (HKDF-SHA256) from this client's private key, so the file alone
 * is useless to whoever copies it, and a tampered file fails authentication instead of loading.
 * Written atomically; a file that fails to decrypt or validate is an error, never overwritten.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { readJsonFile, writeJsonAtomic } from '../../net/atomic-file';
import { parseRemoteAccess, formatRemoteAccess, type RemoteAccessGrant } from '../../shared/remote-access-string';
import { CompanionError } from '../errors';

const fileSchema = z.object({ version: z.literal(1), iv: z.string(), tag: z.string(), data: z.string() });

export class RemoteAccessStore {
  private readonly key: Buffer;

  constructor(
    readonly file: string,
    clientKey: KeyObject,
  ) {
    const ikm = clientKey.export({ type: 'pkcs8', format: 'der' });
    this.key = Buffer.from(hkdfSync('sha256', ikm, Buffer.from('lancam-remote-access-v1'), Buffer.from('store'), 32));
  }

  async list(): Promise<RemoteAccessGrant[]> {
    const json = await readJsonFile(this.file).catch((err: unknown) => {
      throw new CompanionError('bad-store', `${(err as Error).message}; the file is kept as it is`);
    });
    if (json === undefined) return [];
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) throw new CompanionError('bad-store', `${this.file} is not a remote-access store; the file is kept as it is`);
    let text: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(parsed.data.iv, 'base64'));
      decipher.setAuthTag(Buffer.from(parsed.data.tag, 'base64'));
      text = Buffer.concat([decipher.update(Buffer.from(parsed.data.data, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new CompanionError('bad-store', `${this.file} cannot be decrypted with this client's key (tampered, or from another install); the file is kept as it is`);
    }
    return (JSON.parse(text) as string[]).map(parseRemoteAccess);
  }

  async get(deviceId: string): Promise<RemoteAccessGrant | undefined> {
    return (await this.list()).find((g) => g.deviceId === deviceId);
  }

  /** Adds or replaces the grant for its device. */
  async put(grant: RemoteAccessGrant): Promise<void> {
    const grants = (await this.list()).filter((g) => g.deviceId !== grant.deviceId);
    await this.write([...grants, grant]);
  }

  async remove(deviceId: string): Promise<boolean> {
    const grants = await this.list();
    const kept = grants.filter((g) => g.deviceId !== deviceId);
    if (kept.length === grants.length) return false;
    await this.write(kept);
    return true;
  }

  private async write(grants: RemoteAccessGrant[]): Promise<void> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(grants.map(formatRemoteAccess)), 'utf8'), cipher.final()]);
    await writeJsonAtomic(this.file, { version: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') }, 0o600);
  }
}
