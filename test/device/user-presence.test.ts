/**
 * The IAM user object's `Lancam` extension on a real lancam-device: when each key was added (kept
 * in key-times.json across restarts, never invented for keys of unknown age), who is connected,
 * and when a user was last seen. A corrupted key-times.json is reported and left alone.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lancamUserExtensionSchema } from '../../src/shared/protocol/lancam-presence';
import { adminOf, deviceClient, invite, passwordAuth } from '../helpers/raw-client';
import { cleanupAll, startDevice } from '../helpers/processes';

afterEach(cleanupAll);

const ext = (body: unknown) => lancamUserExtensionSchema.parse((body as { Lancam?: unknown }).Lancam);

describe('user presence and key times', () => {
  it('reports key added times, connected now and last seen; keeps key times across a restart', async () => {
    const device = await startDevice({ mdns: false });
    const admin = await adminOf(device);
    const password = await invite(admin, 'gina', 'Guest');
    const gina = await deviceClient(device);
    const before = Date.now();
    expect(await passwordAuth(gina, 'gina', password)).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await gina.call('POST', '/iam/pairing/password-invite', { FingerprintName: 'gina@phone' })).status).toBe(201);

    const view = await admin.call('GET', '/iam/users/gina');
    expect(view.status).toBe(205);
    const e = ext(view.body);
    const added = Date.parse(e.KeysAdded[gina.identity.fingerprint]!);
    expect(added).toBeGreaterThanOrEqual(before - 1000);
    expect(added).toBeLessThanOrEqual(Date.now());
    expect(e.ConnectedNow).toBe(true);
    expect(e.WatchingNow).toBe(false);
    expect(Date.parse(e.LastSeen!)).toBeGreaterThanOrEqual(before - 1000);
    // Her own view has it too.
    expect(ext((await gina.call('GET', '/iam/me')).body).KeysAdded[gina.identity.fingerprint]).toBe(e.KeysAdded[gina.identity.fingerprint]);

    gina.close();
    await expect.poll(async () => ext((await admin.call('GET', '/iam/users/gina')).body).ConnectedNow, { timeout: 5000 }).toBe(false);
    expect(ext((await admin.call('GET', '/iam/users/gina')).body).LastSeen).toBeDefined();

    // The admin's key predates tracking? No: it was added after start, so it has a time too.
    expect(ext((await admin.call('GET', '/iam/me')).body).KeysAdded[admin.identity.fingerprint]).toBeDefined();

    // A restart keeps the key times (presence starts again).
    const times = JSON.parse(await fs.readFile(path.join(device.stateDir, 'key-times.json'), 'utf8')) as { keys: Record<string, string> };
    expect(times.keys[gina.identity.fingerprint]).toBe(e.KeysAdded[gina.identity.fingerprint]);
    await device.stop();
    const again = await startDevice({ mdns: false, stateDir: device.stateDir });
    const admin2 = await deviceClient(again, { identity: admin.identity });
    const after = ext((await admin2.call('GET', '/iam/users/gina')).body);
    expect(after.KeysAdded[gina.identity.fingerprint]).toBe(e.KeysAdded[gina.identity.fingerprint]);
    expect(after.ConnectedNow).toBe(false);
    expect(after.LastSeen).toBeUndefined();
  });

  it('leaves a corrupted key-times.json alone and says so, and answers without made-up times', async () => {
    const first = await startDevice({ mdns: false });
    const admin = await adminOf(first);
    await first.stop();
    const file = path.join(first.stateDir, 'key-times.json');
    await fs.writeFile(file, '{"version":1,"keys":{"zz":');
    const device = await startDevice({ mdns: false, stateDir: first.stateDir });
    await expect.poll(() => device.stdout() + device.stderr()).toContain('key-times.json');
    const client = await deviceClient(device, { identity: admin.identity });
    const password = await invite(client, 'hal', 'Guest');
    const hal = await deviceClient(device);
    expect(await passwordAuth(hal, 'hal', password)).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await hal.call('POST', '/iam/pairing/password-invite', {})).status).toBe(201);
    const e = ext((await client.call('GET', '/iam/me')).body);
    expect(e.KeysAdded).toEqual({});
    expect(await fs.readFile(file, 'utf8')).toBe('{"version":1,"keys":{"zz":');
  });
});
