/**
 * Issue 10, item 2, against a real lancam-device: a LAN attacker parked at the camera can no
 * longer win the pairing window. Only administrators are told it opened; two keys in one window
 * is an overlap (both refused, window closed, said on the console, to the clients and to the
 * administrators); the key that paired is shown in full with a one-step undo.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { groupFingerprint } from '../../src/shared/fingerprint';
import { cleanupAll, REPO, runCli, startDevice, tempDir, type DeviceProcess } from '../helpers/processes';
import { adminOf, deviceClient, type RawClient } from '../helpers/raw-client';

const run = promisify(execFile);
afterEach(cleanupAll);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function deviceCommand(device: DeviceProcess, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(REPO, 'bin/lancam-device'), ...args, '--state-dir', device.stateDir]);
  return stdout;
}

function collectEvents(client: RawClient): { event: string; body: unknown }[] {
  const events: { event: string; body: unknown }[] = [];
  client.channel.peer.on('event', (e: { event: string; body?: unknown }) => events.push({ event: e.event, body: e.body }));
  return events;
}

/** A parked attacker: tries local open pairing again and again until it pairs or is stopped. */
function parkedAttacker(client: RawClient): { statuses: number[]; stop(): Promise<void> } {
  const statuses: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const res = await client.call('POST', '/iam/pairing/local-open', { Username: 'mallory', FingerprintName: 'totally bob' });
      statuses.push(res.status);
      if (res.status === 201) return;
      await sleep(30);
    }
  })();
  return {
    statuses,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

describe('item 2: the pairing window', () => {
  it('a parked attacker learns nothing, and two keys in one window are an overlap: both refused, window closed, everyone told why', async () => {
    const device = await startDevice({ mdns: false, args: ['--pairing-settle', '2'] });
    const admin = await adminOf(device);
    const adminEvents = collectEvents(admin);
    const mallory = await deviceClient(device, { localAddress: '127.0.0.66' });
    const malloryEvents = collectEvents(mallory);
    const attack = parkedAttacker(mallory);
    await sleep(300);

    await deviceCommand(device, 'pair-window', '--seconds', '60');
    const pairing = (await mallory.call('GET', '/iam/pairing')).body as { Modes: string[]; PairingWindowSeconds?: number };
    expect(pairing.PairingWindowSeconds).toBeUndefined();
    await sleep(500);
    // The person who pressed the button pairs from their laptop.
    const bob = await deviceClient(device, { localAddress: '127.0.0.5' });
    const res = await bob.call('POST', '/iam/pairing/local-open', { Username: 'bob', FingerprintName: 'bob laptop' });
    await attack.stop();

    expect(res.status).toBe(409);
    expect(JSON.stringify(res.body)).toContain('more than one client tried to pair in this pairing window');
    expect(attack.statuses).not.toContain(201);
    expect(attack.statuses).toContain(409);
    expect(((await admin.call('GET', '/iam/users')).body as string[]).sort()).toEqual(['admin']);
    // The window is closed, and says why.
    expect((await admin.call('GET', '/iam/settings')).body).toMatchObject({ PairingWindowSeconds: 0 });
    expect(device.stdout()).toContain('PAIRING REFUSED: 2 different keys tried local open pairing in one window');
    expect(device.stdout()).toContain(groupFingerprint(mallory.identity.fingerprint));
    expect(device.stdout()).toContain(groupFingerprint(bob.identity.fingerprint));
    expect(adminEvents.map((e) => e.event)).toEqual(expect.arrayContaining(['pairing-window', 'pairing-alert']));
    const alert = adminEvents.find((e) => e.event === 'pairing-alert')!.body as { Reason: string; Fingerprints: string[] };
    expect(alert.Reason).toBe('overlap');
    expect(alert.Fingerprints.sort()).toEqual([mallory.identity.fingerprint, bob.identity.fingerprint].sort());
    // The attacker was never told that the window opened or closed.
    expect(malloryEvents).toEqual([]);

    // Without the attacker, the next press pairs bob, and the camera shows exactly which key paired.
    mallory.close();
    await sleep(100);
    await deviceCommand(device, 'pair-window', '--seconds', '60');
    const bobAgain = await deviceClient(device, { localAddress: '127.0.0.5' });
    const ok = await bobAgain.call('POST', '/iam/pairing/local-open', { Username: 'bob', FingerprintName: 'bob laptop' });
    expect(ok.status).toBe(201);
    expect(device.stdout()).toContain('PAIRED "bob" (Guest) by local-open pairing from 127.0.0.5');
    expect(device.stdout()).toContain(`  key   ${groupFingerprint(bobAgain.identity.fingerprint)}  "bob laptop"`);
    await expect.poll(() => adminEvents.some((e) => e.event === 'paired')).toBe(true);
    const paired = adminEvents.find((e) => e.event === 'paired')?.body;
    expect(paired).toMatchObject({ Username: 'bob', Fingerprint: bobAgain.identity.fingerprint, FingerprintName: 'bob laptop', Mode: 'local-open', RemoteAddress: '127.0.0.5', CreatedUser: true });
    const recent = (await admin.call('GET', '/iam/pairing/recent')).body as { Username: string }[];
    expect(recent.map((r) => r.Username)).toEqual(['admin', 'bob']);
    // Unpaired clients (and Guests) may not read the pairing history.
    expect((await (await deviceClient(device)).call('GET', '/iam/pairing/recent')).status).toBe(403);
    expect((await bobAgain.call('GET', '/iam/pairing/recent')).status).toBe(403);
  });

  it('when an attacker is faster than the person at the camera, that person is told, and one step at the camera undoes it', async () => {
    const device = await startDevice({ mdns: false, args: ['--pairing-settle', '0.5'] });
    const admin = await adminOf(device);
    await deviceCommand(device, 'pair-window', '--seconds', '60');
    // The attacker guesses the moment and pairs alone (no one else tried in the window).
    const mallory = await deviceClient(device, { localAddress: '127.0.0.66' });
    const malloryEvents = collectEvents(mallory);
    expect((await mallory.call('POST', '/iam/pairing/local-open', { Username: 'mallory', FingerprintName: 'bob laptop' })).status).toBe(201);
    expect(device.stdout()).toContain(`PAIRED "mallory" (Guest) by local-open pairing from 127.0.0.66`);
    expect(device.stdout()).toContain(groupFingerprint(mallory.identity.fingerprint));
    // The real person arrives: told the window was used by another key; the camera warns.
    const bob = await deviceClient(device, { localAddress: '127.0.0.5' });
    const late = await bob.call('POST', '/iam/pairing/local-open', { Username: 'bob' });
    expect(late.status).toBe(403);
    expect(JSON.stringify(late.body)).toContain('the pairing window was used');
    expect(device.stdout()).toContain(`WARNING: the key ${groupFingerprint(bob.identity.fingerprint)} tried local open pairing after the window was used by ${groupFingerprint(mallory.identity.fingerprint)} ("mallory")`);
    // One step at the camera removes the attacker, whose channel is told at once.
    expect(await deviceCommand(device, 'unpair-last')).toContain('removed user "mallory"');
    expect(((await admin.call('GET', '/iam/users')).body as string[]).sort()).toEqual(['admin']);
    await sleep(200);
    expect(malloryEvents).toContainEqual({ event: 'access-changed', body: { reason: 'removed' } });
    expect((await mallory.call('GET', '/iam/me')).status).toBe(404);
    // And the owner pairs the right person with the next press.
    await deviceCommand(device, 'pair-window', '--seconds', '60');
    const bobAgain = await deviceClient(device, { localAddress: '127.0.0.5', identity: bob.identity });
    expect((await bobAgain.call('POST', '/iam/pairing/local-open', { Username: 'bob' })).status).toBe(201);
    // An administrator can undo the last pairing over the API as well, naming the key he saw.
    expect((await admin.call('DELETE', '/iam/pairing/recent/last', { Fingerprint: bobAgain.identity.fingerprint })).status).toBe(202);
    expect(((await admin.call('GET', '/iam/users')).body as string[]).sort()).toEqual(['admin']);
  });

  it('lancam pairings shows administrators the key that paired and undoes it in one step', async () => {
    const device = await startDevice({ mdns: false, args: ['--pairing-settle', '0.3'] });
    const home = await tempDir('lancam-home-');
    const address = `127.0.0.1:${device.port}`;
    expect((await runCli(['pair', '--address', address], { home })).code).toBe(0);
    await deviceCommand(device, 'pair-window', '--seconds', '60');
    const eve = await deviceClient(device, { localAddress: '127.0.0.77' });
    expect((await eve.call('POST', '/iam/pairing/local-open', { Username: 'eve', FingerprintName: 'kitchen tablet' })).status).toBe(201);
    const list = await runCli(['pairings', '--address', address], { home });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('"eve" (Guest) by local-open from 127.0.0.77');
    expect(list.stdout).toContain(`key  ${groupFingerprint(eve.identity.fingerprint)}  "kitchen tablet"`);
    expect(list.stdout).toContain('--undo-last');
    expect(list.stdout).toContain(`--undo-last ${eve.identity.fingerprint}`);
    // Naming another key (grouped, as people copy it) undoes nothing.
    const wrong = await runCli(['pairings', '--address', address, '--undo-last', groupFingerprint(device.fingerprint)], { home });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('the last pairing is no longer that key: "eve" paired');
    expect((await eve.call('GET', '/iam/me')).status).toBe(205);
    const bad = await runCli(['pairings', '--address', address, '--undo-last', 'eve'], { home });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--undo-last takes the key\'s 64 hex characters');
    const undo = await runCli(['pairings', '--address', address, '--undo-last', groupFingerprint(eve.identity.fingerprint)], { home });
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stdout).toContain('Undone.');
    expect(undo.stdout).not.toContain('"eve"');
    expect((await eve.call('GET', '/iam/me')).status).toBe(404);
    // Bare --undo-last names the last key it reads (now the owner's own first pairing, which the camera keeps).
    const bare = await runCli(['pairings', '--address', address, '--undo-last'], { home });
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain('the owner\'s first pairing (local initial) is not undone this way');
  });

  it('the undo names the key the administrator saw: a pairing made in between is not removed in its place (race)', async () => {
    const device = await startDevice({ mdns: false, args: ['--pairing-settle', '0.3'] });
    const admin = await adminOf(device);
    await deviceCommand(device, 'pair-window', '--seconds', '60');
    const eve = await deviceClient(device, { localAddress: '127.0.0.77' });
    expect((await eve.call('POST', '/iam/pairing/local-open', { Username: 'eve' })).status).toBe(201);
    // The administrator's desktop reads the recent pairings and shows eve's key...
    const seen = (await admin.call('GET', '/iam/pairing/recent')).body as { Fingerprint: string; Username: string }[];
    expect(seen.at(-1)).toMatchObject({ Username: 'eve', Fingerprint: eve.identity.fingerprint });
    // ...and before he presses Remove, bob pairs (the person he was expecting).
    await sleep(3500);
    await deviceCommand(device, 'pair-window', '--seconds', '60');
    const bob = await deviceClient(device, { localAddress: '127.0.0.5' });
    expect((await bob.call('POST', '/iam/pairing/local-open', { Username: 'bob' })).status).toBe(201);
    // Remove (of eve's key) arrives now: refused, bob stays, eve stays, both keep working.
    const late = await admin.call('DELETE', '/iam/pairing/recent/last', { Fingerprint: eve.identity.fingerprint });
    expect(late.status).toBe(409);
    expect(JSON.stringify(late.body)).toContain('the last pairing is no longer that key: \\"bob\\" paired');
    expect(((await admin.call('GET', '/iam/users')).body as string[]).sort()).toEqual(['admin', 'bob', 'eve']);
    expect((await bob.call('GET', '/iam/me')).status).toBe(205);
    expect((await eve.call('GET', '/iam/me')).status).toBe(205);
    // No key named, or not a fingerprint: 400, nothing removed.
    expect((await admin.call('DELETE', '/iam/pairing/recent/last')).status).toBe(400);
    expect((await admin.call('DELETE', '/iam/pairing/recent/last', { Fingerprint: 'bob' })).status).toBe(400);
    expect((await admin.call('DELETE', '/iam/pairing/recent/last', { Fingerprint: bob.identity.fingerprint, Extra: 1 })).status).toBe(400);
    // A guest cannot undo at all.
    expect((await bob.call('DELETE', '/iam/pairing/recent/last', { Fingerprint: bob.identity.fingerprint })).status).toBe(403);
    expect(((await admin.call('GET', '/iam/users')).body as string[]).sort()).toEqual(['admin', 'bob', 'eve']);
    // The key that is last is removed when named.
    expect((await admin.call('DELETE', '/iam/pairing/recent/last', { Fingerprint: bob.identity.fingerprint })).status).toBe(202);
    expect(((await admin.call('GET', '/iam/users')).body as string[]).sort()).toEqual(['admin', 'eve']);
    expect((await eve.call('GET', '/iam/me')).status).toBe(205);
  });
});
