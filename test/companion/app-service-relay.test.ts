/**
 * The desktop core (AppService) watches a paired camera through the relay when the camera cannot be
 * reached on this network: remote access is added through the UI API, and the renderer's side of
 * WebRTC (here @roamhq/wrtc through the shared ViewerPeer, as the renderer uses Chromium's) is
 * signaled through openVideo / sendVideoSignal / videoSignal events exactly as in the app.
 */
import path from 'node:path';
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it } from 'vitest';
import { AppService } from '../../src/companion/app/app-service';
import { openHome } from '../../src/companion/home';
import { KnownDeviceStore } from '../../src/companion/known-devices';
import { RemoteAccessStore } from '../../src/companion/remote/remote-access-store';
import { ViewerPeer, type PeerConnectionLike } from '../../src/shared/video/viewer-peer';
import { cleanupAll, onCleanup, runCli, startDevice, startRelay, tempDir } from '../helpers/processes';

afterEach(cleanupAll);

describe('AppService through the relay', () => {
  it('falls back to the relay for a paired camera that is not on this network', async () => {
    const started = await startRelay(['--host', '127.0.0.1']);
    const relay = { url: `wss://127.0.0.1:${started.port}`, fingerprint: started.fingerprint };
    // The viewer here is @roamhq/wrtc, which decodes VP8 only: the camera runs the vp8 stack. (The
    // signaling under test is codec-blind; Chromium over the H.264 default is desktop-e2e's.)
    const device = await startDevice({ mdns: false, args: ['--ice-address', '127.0.0.1', '--video-stack', 'vp8', '--relay', relay.url, '--relay-fingerprint', relay.fingerprint] });
    await expect.poll(() => device.stderr(), { timeout: 10_000 }).toContain('relay: registered');
    const homeDir = await tempDir('lancam-desktop-');
    const address = `127.0.0.1:${device.port}`;
    expect((await runCli(['pair', '--address', address], { home: homeDir })).code).toBe(0);
    const issued = await runCli(['--json', 'user', 'remote-secret', '--address', address, 'admin', '--relay', relay.url, '--relay-fingerprint', relay.fingerprint], { home: homeDir });
    expect(issued.code, issued.stderr).toBe(0);

    // The camera is away: its last known address no longer answers, and it is not announced.
    const home = await openHome(homeDir);
    const store = new KnownDeviceStore(home.devicesFile);
    await store.touch(device.deviceId, { lastAddress: { host: '127.0.0.1', port: 9 } });
    const app = new AppService({
      home,
      store,
      mdnsInterface: '127.0.0.1',
      identity: { keyProtection: 'file-0600', keyProtectionNote: 'test' },
      snapshotDir: path.join(homeDir, 'snapshots'),
      remoteAccess: new RemoteAccessStore(path.join(homeDir, 'remote-access.json'), home.identity.privateKey),
    });
    onCleanup(() => app.close());

    await expect(app.addRemoteAccess('lancam-remote:d=x')).rejects.toThrow();
    expect(await app.addRemoteAccess(issued.json<{ accessString: string }>().accessString)).toEqual({ deviceId: device.deviceId });
    expect((await app.listDevices()).find((d) => d.deviceId === device.deviceId)).toMatchObject({ paired: true, remoteAccess: true });

    const { sessionId } = await app.openVideo(device.deviceId);
    let frames = 0;
    const closed = new Promise<string>((resolve) => {
      const peer = new ViewerPeer({
        createPeerConnection: (config) => new wrtc.RTCPeerConnection(config) as unknown as PeerConnectionLike,
        send: (message) => app.sendVideoSignal(sessionId, message),
        iceAddresses: ['127.0.0.1'],
        onTrack: (track) => {
          const sink = new wrtc.nonstandard.RTCVideoSink(track as never) as unknown as { onframe: (() => void) | null; stop(): void };
          sink.onframe = () => frames++;
          onCleanup(async () => sink.stop());
        },
        onClose: resolve,
      });
      app.on('videoSignal', ({ sessionId: id, message }) => {
        if (id === sessionId) void peer.receive(message);
      });
      onCleanup(async () => peer.close());
      void peer.start();
    });
    await expect.poll(() => frames, { timeout: 15_000 }).toBeGreaterThan(30);
    expect(device.stderr()).toMatch(/video: session \S+ for user admin via relay started/);
    await app.closeVideo(sessionId);
    await expect.poll(() => device.stderr(), { timeout: 5000 }).toContain('last viewer left');
    void closed;
  }, 60_000);
});
