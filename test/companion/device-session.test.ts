/** DeviceSession remembers the camera's /device/info, and forgets it when the camera announces a change. */
import { afterEach, describe, expect, it } from 'vitest';
import { renameDevice } from '../../src/companion/acl';
import { DeviceSession } from '../../src/companion/device-session';
import { openHome } from '../../src/companion/home';
import { KnownDeviceStore } from '../../src/companion/known-devices';
import { pair } from '../../src/companion/pairing';
import { cleanupAll, startDevice, tempDir } from '../helpers/processes';

afterEach(cleanupAll);

describe('DeviceSession.deviceInfo', () => {
  it('is asked once, and again after the camera is renamed', async () => {
    const device = await startDevice({ mdns: false, name: 'Porch' });
    const home = await openHome(await tempDir());
    const store = new KnownDeviceStore(home.devicesFile);
    const target = { address: { host: device.host, port: device.port } };
    await pair({ home, store, target, mode: 'local-initial' });
    const session = await DeviceSession.open({ home, store, target });
    try {
      const first = await session.deviceInfo();
      expect(first.FriendlyName).toBe('Porch');
      expect(await session.deviceInfo()).toBe(first);
      await renameDevice(session, 'Back porch');
      expect((await session.deviceInfo()).FriendlyName).toBe('Back porch');
    } finally {
      session.close();
    }
  });
});
