/**
 * Issue 10 item 8: one Guest takes every viewer slot. Against a real `lancam-device`: Guests send
 * SETUP_REQUESTs and never answer the offers. On the old code every one was accepted (4 per
 * connection, any number of connections) and none ever expired, so the owner got 503. Now each
 * user has a cap, unanswered sessions expire, and an administrator gets a slot on a full camera.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, type DeviceProcess } from '../helpers/processes';
import { adminOf, deviceClient, invite, passwordAuth, type RawClient } from '../helpers/raw-client';
import { cleanupVideo, openViewer, pairedClient, sleep, startVideoDevice, waitForLog } from '../helpers/video';
import { SIGNALING_PATH } from '../../src/shared/protocol/webrtc-api';

let device: DeviceProcess;
let admin: RawClient;
const SETUP_TIMEOUT_S = 3;

beforeAll(async () => {
  device = await startVideoDevice({ args: ['--max-viewers', '4', '--max-viewers-per-user', '2', '--video-setup-timeout', String(SETUP_TIMEOUT_S)] });
  admin = await adminOf(device);
});
afterEach(cleanupVideo);
afterAll(cleanupAll);

async function guest(username: string): Promise<RawClient> {
  const password = await invite(admin, username, 'Guest');
  const client = await deviceClient(device);
  expect(await passwordAuth(client, username, password)).toMatchObject({ stage: 'finish', response: { status: 204 } });
  expect((await client.call('POST', '/iam/pairing/password-invite', {})).status).toBe(201);
  return client;
}

const setup = async (client: RawClient, session: string) => (await client.call('POST', SIGNALING_PATH, { Session: session, Message: { type: 'SETUP_REQUEST' } })).status;

describe('viewer slots under a greedy Guest (item 8)', () => {
  it('caps each user, gives an administrator a slot on a full camera, and expires unanswered sessions', async () => {
    const greedy = await guest('greedy');
    expect(await setup(greedy, 'g1')).toBe(204);
    expect(await setup(greedy, 'g2')).toBe(204);
    // Beyond the per-user cap, on this connection and on another one with the same key.
    expect(await setup(greedy, 'g3')).toBe(429);
    const greedyAgain = await deviceClient(device, { identity: greedy.identity });
    expect(await setup(greedyAgain, 'g4')).toBe(429);

    // A second Guest fills the camera (4 viewers).
    const other = await guest('other');
    expect(await setup(other, 'o1')).toBe(204);
    expect(await setup(other, 'o2')).toBe(204);
    const third = await guest('third');
    expect(await setup(third, 't1')).toBe(503);

    // The owner (an administrator) still watches: a guest's newest session gives way.
    const boss = await pairedClient(device, admin, 'boss', 'Administrator');
    const { frameTimes } = await openViewer(await boss.open());
    const t0 = performance.now();
    while (frameTimes.length < 10 && performance.now() - t0 < 20_000) await sleep(100);
    expect(frameTimes.length).toBeGreaterThanOrEqual(10);
    expect(device.stderr()).toContain('an administrator needs a viewer slot');

    // Unanswered sessions expire at the setup deadline; the slots are free again.
    await waitForLog(device, /no WebRTC connection within 3 s of the setup request/, (SETUP_TIMEOUT_S + 5) * 1000, 3);
    expect(await setup(greedy, 'g5')).toBe(204);
    expect(await setup(third, 't2')).toBe(204);
    // The owner's live session was answered, so the deadline did not touch it.
    const before = frameTimes.length;
    await sleep(1000);
    expect(frameTimes.length).toBeGreaterThan(before + 10);
  }, 90_000);
});
