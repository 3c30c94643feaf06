/**
 * Issue 10, item 3, against a real lancam-device: wrong guesses spread over many source
 * addresses no longer lock the real invitee out, and the owner can always pair others, while the
 * number of guesses at one password stays small.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, startDevice } from '../helpers/processes';
import { adminOf, deviceClient, guess, invite, passwordAuth } from '../helpers/raw-client';

afterEach(cleanupAll);

/** `perAddress` guesses at `username` from each loopback address, three connections per address. */
async function distributedGuessing(port: number, fingerprint: string, addresses: string[], username: string, perAddress: number): Promise<number[]> {
  const lanes = await Promise.all(addresses.flatMap((a) => [0, 1, 2].map(() => deviceClient({ port, fingerprint }, { localAddress: a }))));
  const statuses: number[] = [];
  for (let round = 0; round < Math.ceil(perAddress / 3); round++) {
    statuses.push(...(await Promise.all(lanes.map((lane, i) => guess(lane, username, `wrong-${round}-${i}`)))));
  }
  for (const lane of lanes) lane.close();
  return statuses;
}

describe('item 3: distributed guessing', () => {
  it('six attacking addresses do not lock out the invitee; the password gets at most 16 guesses', async () => {
    const device = await startDevice({ mdns: false, args: ['--max-connections-per-address', '64'] });
    const admin = await adminOf(device);
    const password = await invite(admin, 'bob', 'Guest', 'Right-Password-Kq7');
    const attackers = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'];
    const statuses = await distributedGuessing(device.port, device.fingerprint, attackers, 'bob', 12);
    const wrong = statuses.filter((s) => s === 401).length;
    // The per-password budget (10) and one reserve guess per attacking address (6), no more.
    expect(wrong).toBeGreaterThanOrEqual(10);
    expect(wrong).toBeLessThanOrEqual(16);
    expect(statuses.filter((s) => s === 429).length).toBe(statuses.length - wrong);
    // The attack goes on while the invitee, from their own address, pairs with the right password.
    const still = distributedGuessing(device.port, device.fingerprint, attackers, 'bob', 3);
    const bob = await deviceClient(device, { localAddress: '127.0.0.9' });
    expect(await passwordAuth(bob, 'bob', password)).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await bob.call('POST', '/iam/pairing/password-invite', {})).body).toMatchObject({ Username: 'bob' });
    expect((await still).every((s) => s === 429)).toBe(true);
    // Guessing at other names, the open password or unknown users does not touch anyone else's budget.
    const carolPassword = await invite(admin, 'carol', 'Guest', 'Carol-Password-3x');
    await distributedGuessing(device.port, device.fingerprint, ['127.0.0.10', '127.0.0.11'], 'nobody', 12);
    const carol = await deviceClient(device, { localAddress: '127.0.0.12' });
    expect(await passwordAuth(carol, 'carol', carolPassword)).toMatchObject({ stage: 'finish', response: { status: 204 } });
  });

  it('when enough addresses spend even the reserve, the owner pairs the invitee anyway with a new invitation', async () => {
    const device = await startDevice({ mdns: false, args: ['--max-connections-per-address', '64'] });
    const admin = await adminOf(device);
    await invite(admin, 'dan', 'Guest', 'First-Password-9z');
    const many = Array.from({ length: 14 }, (_, i) => `127.0.1.${i + 1}`);
    const statuses = await distributedGuessing(device.port, device.fingerprint, many, 'dan', 3);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(20);
    const dan = await deviceClient(device, { localAddress: '127.0.0.30' });
    expect(await passwordAuth(dan, 'dan', 'First-Password-9z')).toMatchObject({ stage: 'start', response: { status: 429 } });
    // The owner (already paired) issues a new password: a new credential with its own budget.
    expect((await admin.call('PUT', '/iam/users/dan/password', 'Second-Password-4w')).status).toBe(204);
    const again = await deviceClient(device, { localAddress: '127.0.0.30' });
    expect(await passwordAuth(again, 'dan', 'Second-Password-4w')).toMatchObject({ stage: 'finish', response: { status: 204 } });
    expect((await again.call('POST', '/iam/pairing/password-invite', {})).status).toBe(201);
  });
});
