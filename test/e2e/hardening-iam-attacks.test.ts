/**
 * Issue 10, items 1, 6 and 18, against real lancam-device processes: password proofs that
 * outlive their credential, binding someone else's key to one's own user, and requests that run
 * after the requester lost the right to make them.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, startDevice, type DeviceProcess } from '../helpers/processes';
import { adminOf, deviceClient, invite, passwordAuth, type RawClient } from '../helpers/raw-client';

afterEach(cleanupAll);

async function authenticated(device: DeviceProcess, username: string, password: string): Promise<RawClient> {
  const client = await deviceClient(device);
  const auth = await passwordAuth(client, username, password);
  expect(auth.stage === 'finish' && auth.response.status, JSON.stringify(auth)).toBe(204);
  return client;
}

const statusOf = async (p: Promise<{ status: number }>) => (await p).status;

describe('item 1: a password proof is bound to its exact credential', () => {
  it('deleting and re-creating the user as Administrator with the same password voids the proof', async () => {
    const device = await startDevice({ mdns: false });
    const admin = await adminOf(device);
    const password = await invite(admin, 'bob', 'Guest');
    const thief = await authenticated(device, 'bob', password);
    // The owner withdraws the invitation and re-creates bob, now as Administrator, same password.
    expect(await statusOf(admin.call('DELETE', '/iam/users/bob'))).toBe(202);
    await invite(admin, 'bob', 'Administrator', password);
    const res = await thief.call('POST', '/iam/pairing/password-invite', { FingerprintName: 'thief' });
    expect(res.status).toBe(401);
    expect((await admin.call('GET', '/iam/users/bob')).body).toMatchObject({ Fingerprints: [], HasPassword: true });
    // The invitee, authenticating against the current credential, pairs.
    const real = await authenticated(device, 'bob', password);
    expect((await real.call('POST', '/iam/pairing/password-invite', {})).body).toMatchObject({ Username: 'bob', Role: 'Administrator' });
  });

  it('rotating the invite password, or any change to the user, voids it', async () => {
    const device = await startDevice({ mdns: false });
    const admin = await adminOf(device);
    const password = await invite(admin, 'bob', 'Guest');
    const a = await authenticated(device, 'bob', password);
    expect(await statusOf(admin.call('PUT', '/iam/users/bob/password', 'a-new-password'))).toBe(204);
    expect(await statusOf(a.call('POST', '/iam/pairing/password-invite', {}))).toBe(401);
    const b = await authenticated(device, 'bob', 'a-new-password');
    expect(await statusOf(admin.call('PUT', '/iam/users/bob/role', 'Standard'))).toBe(204);
    expect(await statusOf(b.call('POST', '/iam/pairing/password-invite', {}))).toBe(401);
    // A change that was undone again still voids it (delete and re-create identically).
    const c = await authenticated(device, 'bob', 'a-new-password');
    expect(await statusOf(admin.call('PUT', '/iam/users/bob/display-name', 'Bob'))).toBe(204);
    expect(await statusOf(admin.call('PUT', '/iam/users/bob/display-name', ''))).toBe(204);
    expect(await statusOf(c.call('POST', '/iam/pairing/password-invite', {}))).toBe(401);
    // Switching invite pairing off and on again voids it as well.
    const d = await authenticated(device, 'bob', 'a-new-password');
    expect(await statusOf(admin.call('PUT', '/iam/settings/password-invite-pairing', false))).toBe(204);
    expect(await statusOf(admin.call('PUT', '/iam/settings/password-invite-pairing', true))).toBe(204);
    expect(await statusOf(d.call('POST', '/iam/pairing/password-invite', {}))).toBe(401);
    const e = await authenticated(device, 'bob', 'a-new-password');
    expect(await statusOf(e.call('POST', '/iam/pairing/password-invite', {}))).toBe(201);
  });

  it('an open-password proof dies when the open password or the role it gives changes', async () => {
    const device = await startDevice({ mdns: false });
    const admin = await adminOf(device);
    expect(await statusOf(admin.call('PUT', '/iam/settings/password-open-password', 'open-sesame'))).toBe(204);
    expect(await statusOf(admin.call('PUT', '/iam/settings/password-open-pairing', true))).toBe(204);
    const early = await authenticated(device, '', 'open-sesame');
    expect(await statusOf(admin.call('PUT', '/iam/settings/open-pairing-role', 'Administrator'))).toBe(204);
    expect(await statusOf(early.call('POST', '/iam/pairing/password-open', { Username: 'mallory' }))).toBe(401);
    const before = await authenticated(device, '', 'open-sesame');
    expect(await statusOf(admin.call('PUT', '/iam/settings/password-open-password', 'rotated-pw'))).toBe(204);
    expect(await statusOf(before.call('POST', '/iam/pairing/password-open', { Username: 'mallory' }))).toBe(401);
    expect(((await admin.call('GET', '/iam/users')).body as string[]).includes('mallory')).toBe(false);
  });

  it('is consumed by an attempt, voided by any failed request, and expires within seconds', async () => {
    const device = await startDevice({ mdns: false, args: ['--password-proof', '1'] });
    const admin = await adminOf(device);
    expect(await statusOf(admin.call('PUT', '/iam/settings/password-open-password', 'open-sesame'))).toBe(204);
    expect(await statusOf(admin.call('PUT', '/iam/settings/password-open-pairing', true))).toBe(204);
    expect(await statusOf(admin.call('POST', '/iam/users', { Username: 'taken' }))).toBe(201);
    // Consumed: a failed pairing (name taken) uses the proof up.
    const a = await authenticated(device, '', 'open-sesame');
    expect(await statusOf(a.call('POST', '/iam/pairing/password-open', { Username: 'taken' }))).toBe(409);
    expect(await statusOf(a.call('POST', '/iam/pairing/password-open', { Username: 'fresh' }))).toBe(401);
    // Voided by any failure on the connection (here a request it may not make).
    const b = await authenticated(device, '', 'open-sesame');
    expect(await statusOf(b.call('GET', '/iam/users'))).toBe(403);
    expect(await statusOf(b.call('POST', '/iam/pairing/password-open', { Username: 'fresh' }))).toBe(401);
    // Expires (here after 1 s).
    const c = await authenticated(device, '', 'open-sesame');
    await new Promise((r) => setTimeout(r, 1300));
    const late = await c.call('POST', '/iam/pairing/password-open', { Username: 'fresh' });
    expect(late.status).toBe(401);
    expect(JSON.stringify(late.body)).toContain('expired');
    // In time, it works.
    const d = await authenticated(device, '', 'open-sesame');
    expect((await d.call('POST', '/iam/pairing/password-open', { Username: 'fresh' })).body).toMatchObject({ Username: 'fresh', Role: 'Guest' });
  });
});

describe('item 6: binding a key to a user', () => {
  it("a Standard user cannot add another person's key to himself; the victim's invitation still works; an admin can", async () => {
    const device = await startDevice({ mdns: false });
    const admin = await adminOf(device);
    const bobPassword = await invite(admin, 'bob', 'Standard');
    const bob = await deviceClient(device);
    const auth = await passwordAuth(bob, 'bob', bobPassword);
    expect(auth.stage === 'finish' && auth.response.status).toBe(204);
    expect(await statusOf(bob.call('POST', '/iam/pairing/password-invite', {}))).toBe(201);
    const carolPassword = await invite(admin, 'carol', 'Guest');
    const carol = await deviceClient(device);
    // The attack: bob claims carol's key (he knows its fingerprint, e.g. from mDNS or a screen).
    const claim = await bob.call('PUT', `/iam/users/bob/fingerprints/${carol.identity.fingerprint}`, { Name: 'mine' });
    expect(claim.status).toBe(403);
    expect(JSON.stringify(claim.body)).toContain('only an administrator can add a key');
    expect(((await admin.call('GET', '/iam/users/bob')).body as { Fingerprints: unknown[] }).Fingerprints).toHaveLength(1);
    const carolAuth = await passwordAuth(carol, 'carol', carolPassword);
    expect(carolAuth.stage === 'finish' && carolAuth.response.status).toBe(204);
    expect((await carol.call('POST', '/iam/pairing/password-invite', {})).body).toMatchObject({ Username: 'carol' });
    // Bob may still rename his own key; the administrator may add a key to anyone.
    expect(await statusOf(bob.call('PUT', `/iam/users/bob/fingerprints/${bob.identity.fingerprint}`, { Name: 'bob laptop' }))).toBe(204);
    expect(await statusOf(admin.call('PUT', `/iam/users/bob/fingerprints/${'cd'.repeat(32)}`, { Name: 'bob phone' }))).toBe(204);
  });
});

describe('item 18: permission is checked again when the change is written', () => {
  it('requests queued before a demotion are refused once the demotion is written', async () => {
    const device = await startDevice({ mdns: false });
    const owner = await adminOf(device);
    const password = await invite(owner, 'alice', 'Administrator');
    const alice = await deviceClient(device);
    const auth = await passwordAuth(alice, 'alice', password);
    expect(auth.stage === 'finish' && auth.response.status).toBe(204);
    expect(await statusOf(alice.call('POST', '/iam/pairing/password-invite', {}))).toBe(201);
    expect(await statusOf(owner.call('POST', '/iam/users', { Username: 'target' }))).toBe(201);

    // The owner queues a burst of writes and then demotes alice; alice fires her requests while
    // the demotion waits in the queue (each of them passes the check made on arrival).
    let demoted = false;
    // (32 requests in flight per connection: the burst uses ten connections of the owner's key.)
    const lanes = await Promise.all(Array.from({ length: 10 }, () => deviceClient(device, { identity: owner.identity })));
    const burst = lanes.flatMap((lane, l) => Array.from({ length: 25 }, (_, i) => lane.call('PUT', '/iam/users/target/display-name', `n${l}-${i}`)));
    const demotion = owner.call('PUT', '/iam/users/alice/role', 'Guest').then((r) => ((demoted = true), r));
    await burst[0];
    expect(demoted, 'the write queue drained before alice could send: the test proves nothing').toBe(false);
    const attack = Array.from({ length: 20 }, (_, i) => alice.call('POST', '/iam/users', { Username: `planted${i}` }));
    expect(demoted).toBe(false);
    expect((await demotion).status).toBe(204);
    const answers = await Promise.all(attack);
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(403));
    await Promise.all(burst);
    const state = JSON.parse(await readFile(path.join(device.stateDir, 'iam_state.json'), 'utf8')) as { Users: { Username: string; Role?: string }[] };
    expect(state.Users.filter((u) => u.Username.startsWith('planted'))).toEqual([]);
    expect(state.Users.find((u) => u.Username === 'alice')?.Role).toBe('Guest');
    // The owner keeps working.
    expect(await statusOf(owner.call('POST', '/iam/users', { Username: 'after' }))).toBe(201);
  });
});
