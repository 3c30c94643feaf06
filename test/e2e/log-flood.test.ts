/**
 * Issue 10 item 9: log flooding. Against a real `lancam-device`: unpaired connections from three
 * addresses send denied requests as fast as the channel lets them. On the old code every denial
 * was one log line (hundreds of KiB a second); now each source gets a few lines per window and one
 * summary line, and the owner's own actions are still in the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startDevice, type DeviceProcess } from '../helpers/processes';
import { adminOf, deviceClient, type RawClient } from '../helpers/raw-client';
import { sleep, waitForLog } from '../helpers/video';

let device: DeviceProcess;
let admin: RawClient;

beforeAll(async () => {
  device = await startDevice({ mdns: false });
  admin = await adminOf(device);
});
afterAll(cleanupAll);

describe('log flooding by denied requests (item 9)', () => {
  it('keeps the log small and readable while thousands of requests are denied', async () => {
    const before = device.stderr().length;
    const attackers = await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4'].flatMap((a) => [deviceClient(device, { localAddress: a }), deviceClient(device, { localAddress: a })]));
    let denied = 0;
    const until = performance.now() + 3000;
    await Promise.all(
      attackers.map(async (c) => {
        while (performance.now() < until) {
          const batch = await Promise.all(Array.from({ length: 20 }, () => c.call('GET', '/iam/users').catch(() => ({ status: 0 }))));
          denied += batch.filter((r) => r.status === 403).length;
          await sleep(20);
        }
      }),
    );
    // The owner acts during the flood; its lines have their own budget.
    expect((await admin.call('GET', '/iam/users')).status).toBe(205);
    await sleep(200);
    const grown = device.stderr().slice(before);
    expect(denied).toBeGreaterThan(500);
    expect(grown.length).toBeLessThan(16 * 1024);
    expect(grown).toMatch(/iam allow: user admin/);
    // What was held back is summed up per source once the window ends.
    await waitForLog(device, /more line\(s\) caused by 127\.0\.0\.2 suppressed in the last \d+ s/, 15_000);
    const summary = /(\d+) more line\(s\) caused by 127\.0\.0\.2 suppressed/.exec(device.stderr());
    expect(Number(summary?.[1])).toBeGreaterThan(100);
  }, 40_000);
});
