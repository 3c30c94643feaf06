/**
 * The companion's home directory: the client key and the known-device store.
 * `--home DIR`, else `LANCAM_HOME`, else the platform's config directory.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generatePrivateKey, identityFromKey, loadOrCreateKeyFile, parsePrivateKeyPem, type Identity } from '../net/keys';

export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const home = os.homedir();
  switch (platform) {
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'lancam');
    case 'win32':
      return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'lancam');
    default:
      return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'lancam');
  }
}

export function resolveHome(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(explicit ?? env.LANCAM_HOME ?? defaultHome(env));
}

export interface ClientHome {
  dir: string;
  identity: Identity;
  keyFile: string;
  devicesFile: string;
}

/**
 * Where the private key lives when not in the default 0600 file: the desktop app keeps it
 * encrypted by the OS keychain (Electron safeStorage).
 */
export interface KeyStore {
  /** The file that holds the key (encrypted or not), for messages. */
  file: string;
  /** The PEM, or undefined when there is no key yet. */
  load(): Promise<string | undefined>;
  save(pem: string): Promise<void>;
}

/** Opens (creating on first use) the home directory and the client key (mode 0600, or a KeyStore). */
export async function openHome(dir: string, keyStore?: KeyStore): Promise<ClientHome> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const keyFile = keyStore?.file ?? path.join(dir, 'client.key');
  let key;
  if (keyStore) {
    const pem = await keyStore.load();
    key = pem === undefined ? generatePrivateKey() : parsePrivateKeyPem(pem, keyStore.file);
    if (pem === undefined) await keyStore.save(key.export({ type: 'pkcs8', format: 'pem' }).toString());
  } else {
    ({ key } = await loadOrCreateKeyFile(keyFile));
  }
  return {
    dir,
    identity: await identityFromKey(key, 'lancam client'),
    keyFile,
    devicesFile: path.join(dir, 'devices.json'),
  };
}
