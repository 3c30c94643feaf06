/**
 * The device's files in its state directory (Nabto's layout and formats):
 *   device.json        {"ProductId": "pr-…", "DeviceId": "de-…"} (or --device-json FILE). A Nabto
 *                      device.json (with `Server`, `Client`, … as Nabto's example apps write it)
 *                      is used as is: the device keeps its Nabto ids and the file is never rewritten.
 *   device.key         PEM private key, mode 0600 (or --key FILE, used in place)
 *   iam_config.json    Nabto IAM config, Version 1 (or --iam-config FILE)
 *   iam_state.json     Nabto IAM state, Version 2 (or --iam-state FILE)
 * The first run creates what is missing; a file that exists but does not validate is an error
 * that names the file and the reason, and the file is left untouched.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { deviceIdSchema } from '../../shared/protocol/device-api';
import { readJsonFile, writeJsonAtomic } from '../../net/atomic-file';
import { loadKeyFile, loadOrCreateKeyFile } from '../../net/keys';
import type { KeyObject } from 'node:crypto';

export class DeviceStateError extends Error {
  override name = 'DeviceStateError';
}

const deviceJsonSchema = z.looseObject({ ProductId: deviceIdSchema, DeviceId: deviceIdSchema });

export interface DevicePaths {
  stateDir: string;
  deviceJson: string;
  keyFile: string;
  iamConfigFile: string;
  iamStateFile: string;
}

export function devicePaths(options: { stateDir: string; deviceJsonFile?: string | undefined; keyFile?: string | undefined; iamConfigFile?: string | undefined; iamStateFile?: string | undefined }): DevicePaths {
  const dir = path.resolve(options.stateDir);
  return {
    stateDir: dir,
    deviceJson: path.resolve(options.deviceJsonFile ?? path.join(dir, 'device.json')),
    keyFile: path.resolve(options.keyFile ?? path.join(dir, 'device.key')),
    iamConfigFile: path.resolve(options.iamConfigFile ?? path.join(dir, 'iam_config.json')),
    iamStateFile: path.resolve(options.iamStateFile ?? path.join(dir, 'iam_state.json')),
  };
}

/** A Nabto-style id: prefix, dash, 8 characters of [a-z0-9]. */
export function randomId(prefix: 'de' | 'pr'): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < 8; i++) out += alphabet[randomInt(alphabet.length)];
  return `${prefix}-${out}`;
}

export async function ensureStateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
}

/** The device ids; an explicit --device-json file must exist, the default one is created on first run. */
export async function loadOrCreateDeviceIds(file: string, explicit = false): Promise<{ productId: string; deviceId: string; created: boolean }> {
  const json = await readJsonFileOrExplain(file);
  if (json === undefined && explicit) throw new DeviceStateError(`${file} (--device-json) does not exist`);
  if (json !== undefined) {
    const parsed = deviceJsonSchema.safeParse(json);
    if (!parsed.success) throw new DeviceStateError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    return { productId: parsed.data.ProductId, deviceId: parsed.data.DeviceId, created: false };
  }
  const ids = { ProductId: randomId('pr'), DeviceId: randomId('de') };
  await writeJsonAtomic(file, ids, 0o644);
  return { productId: ids.ProductId, deviceId: ids.DeviceId, created: true };
}

/** The device key: an explicit --key file must exist; the default one is created on first run. */
export async function loadDeviceKey(paths: DevicePaths, explicit: boolean): Promise<{ key: KeyObject; created: boolean }> {
  if (explicit) return { key: await loadKeyFile(paths.keyFile), created: false };
  return loadOrCreateKeyFile(paths.keyFile);
}

export async function readJsonFileOrExplain(file: string): Promise<unknown | undefined> {
  try {
    return await readJsonFile(file);
  } catch (err) {
    throw new DeviceStateError((err as Error).message);
  }
}
