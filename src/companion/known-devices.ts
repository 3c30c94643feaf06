/**
 * The known-device store: every camera this client has paired with, and the key fingerprint it
 * pinned. JSON in the home directory, written atomically under a lock file so that two
 * `lancam` processes never lose each other's changes. A store that fails validation is an error
 * that names the file; it is never overwritten.
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import { z } from 'zod';
import { readJsonFile, writeJsonAtomic } from '../net/atomic-file';
import { FINGERPRINT_RE } from '../shared/fingerprint';
import { deviceIdSchema } from '../shared/protocol/device-api';

const knownDeviceSchema = z.object({
  deviceId: deviceIdSchema,
  productId: deviceIdSchema,
  fingerprint: z.string().regex(FINGERPRINT_RE),
  friendlyName: z.string().max(64),
  username: z.string().max(64).optional(),
  role: z.string().max(64).optional(),
  lastAddress: z.object({ host: z.string().max(255), port: z.number().int().min(1).max(65535) }).optional(),
  pairedAt: z.string(),
  lastSeenAt: z.string().optional(),
});
export type KnownDevice = z.infer<typeof knownDeviceSchema>;

/** What touch() may change: never the identity (unknown keys such as deviceId are stripped). */
const touchSchema = knownDeviceSchema.omit({ deviceId: true, fingerprint: true }).partial();

const storeSchema = z.object({ version: z.literal(1), devices: z.array(knownDeviceSchema) });
type StoreFile = z.infer<typeof storeSchema>;

export class KnownDeviceStoreError extends Error {
  override name = 'KnownDeviceStoreError';
}

export class KnownDeviceStore {
  constructor(readonly file: string) {}

  async list(): Promise<KnownDevice[]> {
    return (await this.read()).devices;
  }

  async get(deviceId: string): Promise<KnownDevice | undefined> {
    return (await this.list()).find((d) => d.deviceId === deviceId);
  }

  /** Finds by device id, or by friendly name when exactly one device has it. */
  async resolve(nameOrId: string): Promise<KnownDevice | undefined> {
    const devices = await this.list();
    const byId = devices.find((d) => d.deviceId === nameOrId);
    if (byId) return byId;
    const byName = devices.filter((d) => d.friendlyName.toLowerCase() === nameOrId.toLowerCase());
    if (byName.length > 1) throw new KnownDeviceStoreError(`more than one known camera is called "${nameOrId}"; use its device id (${byName.map((d) => d.deviceId).join(', ')})`);
    return byName[0];
  }

  /** Adds or replaces the device with this id. */
  async put(device: KnownDevice): Promise<void> {
    const parsed = knownDeviceSchema.parse(device);
    await this.update((store) => {
      store.devices = [...store.devices.filter((d) => d.deviceId !== parsed.deviceId), parsed];
    });
  }

  /** Updates fields of a known device (never its pinned fingerprint). */
  async touch(deviceId: string, patch: Partial<Omit<KnownDevice, 'deviceId' | 'fingerprint'>>): Promise<void> {
    await this.update((store) => {
      const device = store.devices.find((d) => d.deviceId === deviceId);
      if (device) Object.assign(device, touchSchema.parse(patch));
    });
  }

  async remove(deviceId: string): Promise<boolean> {
    let removed = false;
    await this.update((store) => {
      const before = store.devices.length;
      store.devices = store.devices.filter((d) => d.deviceId !== deviceId);
      removed = store.devices.length !== before;
    });
    return removed;
  }

  private async read(): Promise<StoreFile> {
    let json: unknown;
    try {
      json = await readJsonFile(this.file);
    } catch (err) {
      throw new KnownDeviceStoreError(`${(err as Error).message}; fix or move the file away (it is kept as it is)`);
    }
    if (json === undefined) return { version: 1, devices: [] };
    const parsed = storeSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new KnownDeviceStoreError(`${this.file} is not a valid device store (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}); fix or move the file away (it is kept as it is)`);
    }
    return parsed.data;
  }

  private async update(change: (store: StoreFile) => void): Promise<void> {
    const release = await acquireLock(`${this.file}.lock`);
    try {
      const store = await this.read();
      change(store);
      await writeJsonAtomic(this.file, store, 0o600);
    } finally {
      await release();
    }
  }
}

/** An exclusive lock file; a lock older than `staleMs` (a crashed process) is taken over. */
async function acquireLock(lockFile: string, timeoutMs = 5000, staleMs = 10_000): Promise<() => Promise<void>> {
  const start = Date.now();
  for (;;) {
    try {
      const handle = await fs.open(lockFile, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => fs.rm(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const stat = await fs.stat(lockFile).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > staleMs) {
      await fs.rm(lockFile, { force: true });
      continue;
    }
    if (Date.now() - start > timeoutMs) throw new KnownDeviceStoreError(`the device store is locked by another lancam process (${lockFile})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
