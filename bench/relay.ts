/**
 * Time to first frame through lancam-relay (signed signaling, every message verified) against
 * direct on the LAN channel, in the same run, to the same camera (640x480@30, loopback only).
 * Both paths open a fresh signaling route per run: a relay channel (client -> relay -> camera)
 * or a LAN channel (mutual TLS); the time runs from asking for the route to the first decoded frame.
 */
import path from 'node:path';
import { CameraViewer } from '../src/companion/video/camera-viewer';
import { DeviceSession } from '../src/companion/device-session';
import { openRelayTransport } from '../src/companion/remote/relay-transport';
import { remoteSecretIssuedSchema } from '../src/shared/protocol/iam-api';
import { LOOPBACK, REPO, fmtMs, ratio, spawnNode, stats, tempDir, withTimeout, type BenchResult } from './lib';
import { closeSession, createClient, pairAsAdmin, type VideoDevice } from './video-peers';

const RUNS = 20;
const RELAY_BIN = path.join(REPO, 'bin/lancam-relay');
const DEVICE_BIN = path.join(REPO, 'bin/lancam-device');

export async function run(): Promise<BenchResult> {
  const relay = spawnNode('lancam-relay', [RELAY_BIN, '--host', LOOPBACK, '--port', '0', '--state-dir', await tempDir('lancam-bench-relay-')]);
  const relayPort = Number((await relay.waitFor(/listening on \S+:(\d+)/, 20_000, '"listening on" line'))[1]);
  const relayFingerprint = (await relay.waitFor(/fingerprint\s+([0-9a-f]{64})/, 5000, 'relay fingerprint'))[1]!;
  const relayUrl = `wss://${LOOPBACK}:${relayPort}`;

  const child = spawnNode('lancam-device (relay)', [
    DEVICE_BIN, '--state-dir', await tempDir('lancam-bench-relay-device-'), '--host', LOOPBACK, '--port', '0', '--no-mdns',
    '--ice-address', LOOPBACK, '--size', '640x480', '--fps', '30', '--relay', relayUrl, '--relay-fingerprint', relayFingerprint,
  ]);
  const m = await child.waitFor(/listening on (\S+):(\d+)/, 20_000, '"listening on" line');
  const device: VideoDevice = { ...child, host: m[1]!, port: Number(m[2]), pid: child.process.pid!, width: 640, height: 480, fps: 30 };
  const deviceId = /device id\s+(\S+)/.exec(child.stdout())![1]!;
  const fingerprint = /fingerprint\s+([0-9a-f ]{79})/.exec(child.stdout())![1]!.replace(/ /g, '');
  await withTimeout(new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (child.stderr().includes('relay: registered')) {
        clearInterval(poll);
        resolve();
      }
    }, 50);
  }), 15_000, 'the camera did not register at the relay');

  const client = await createClient();
  await pairAsAdmin(client, device);
  const admin = await DeviceSession.open({ home: client.home, store: client.store, target: { address: { host: device.host, port: device.port } } });
  const issued = await admin.call('POST', '/iam/users/admin/remote-secrets', { Name: 'bench' }, remoteSecretIssuedSchema);
  await closeSession(admin);
  const grant = { deviceId, fingerprint, kid: issued.Kid, secret: issued.Secret };

  const direct: number[] = [];
  const viaRelay: number[] = [];
  const firstFrame = async (open: () => Promise<{ viewer: CameraViewer; close: () => Promise<void> | void }>) => {
    const started = performance.now();
    const { viewer, close } = await open();
    try {
      await viewer.nextFrame(10_000);
      return performance.now() - started;
    } finally {
      viewer.close();
      await close();
    }
  };
  // Interleaved, so machine noise hits both paths alike; the first of each is a warm-up.
  for (let i = 0; i <= RUNS; i++) {
    const d = await firstFrame(async () => {
      const session = await DeviceSession.open({ home: client.home, store: client.store, target: { address: { host: device.host, port: device.port } } });
      return { viewer: await CameraViewer.open(session, { iceAddresses: [LOOPBACK] }), close: () => closeSession(session) };
    });
    const r = await firstFrame(async () => {
      const transport = await openRelayTransport(grant, { url: relayUrl, pinFingerprint: relayFingerprint });
      return { viewer: await CameraViewer.open(transport, { iceAddresses: [LOOPBACK] }), close: () => transport.close() };
    });
    if (i > 0) {
      direct.push(d);
      viaRelay.push(r);
    }
  }
  const sd = stats(direct);
  const sr = stats(viaRelay);
  return {
    name: 'relay',
    summary: `first frame via relay median ${fmtMs(sr.median)} ms p95 ${fmtMs(sr.p95)} ms; direct on the LAN median ${fmtMs(sd.median)} ms p95 ${fmtMs(sd.p95)} ms; ratio ${ratio(sr.median, sd.median)}x / ${ratio(sr.p95, sd.p95)}x (n=${RUNS}, 640x480@30, including opening the route, loopback)`,
    results: { runs: RUNS, direct: sd, viaRelay: sr, ratioMedian: ratio(sr.median, sd.median), ratioP95: ratio(sr.p95, sd.p95), note: 'relay, camera and viewer on one 2-core machine; relay path = TLS to relay + relay channel + signed (HS256) signaling verified at both ends' },
  };
}
