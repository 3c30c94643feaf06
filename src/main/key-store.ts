/**
 * The desktop's private key, encrypted with Electron safeStorage (the OS keychain: Keychain,
 * DPAPI, or libsecret/kwallet). On Linux without a keyring safeStorage falls back to a hard-coded
 * password ("basic_text"): that is no protection, so we do not pretend: the key is then kept as a
 * 0600 file like the CLI's, and the UI says plainly that it is unprotected.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { safeStorage } from 'electron';
import { writeFileAtomic } from '../net/atomic-file';
import type { KeyStore } from '../companion/home';
import type { IdentityView } from '../shared/ui/api';

export interface DesktopKeyStore {
  store: KeyStore | undefined;
  protection: Omit<IdentityView, 'fingerprint'>;
}

export function desktopKeyStore(homeDir: string): DesktopKeyStore {
  const backend = process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : 'os';
  if (!safeStorage.isEncryptionAvailable() || backend === 'basic_text' || backend === 'unknown') {
    return {
      store: undefined,
      protection: {
        keyProtection: 'unprotected',
        keyProtectionNote: `No OS keychain is available (${backend}), so your key is stored without encryption in ${path.join(homeDir, 'client.key')} (readable only by you).`,
      },
    };
  }
  const file = path.join(homeDir, 'client.key.enc');
  return {
    store: {
      file,
      async load() {
        let data: Buffer;
        try {
          data = await fs.readFile(file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw err;
        }
        return safeStorage.decryptString(data);
      },
      async save(pem) {
        await writeFileAtomic(file, safeStorage.encryptString(pem), 0o600);
      },
    },
    protection: { keyProtection: 'os-keychain', keyProtectionNote: `Your key is encrypted by the operating system's keychain (${backend}).` },
  };
}
