/**
 * Issue 10 item 15: the relay challenge is not bound to the relay. A malicious relay (in this test
 * process, with its own key) that a real camera connects to opens a connection of its own to a
 * real `lancam-relay`, hands that relay's challenge to the camera as if it were its own, and
 * forwards the camera's proof. On the old code the real relay registered the camera for the
 * impostor's connection (its clients would be routed to the impostor); now the proof names the
 * relay the camera talked to, and the real relay refuses it. The camera still registers directly.
 */
import https from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { generatePrivateKey, identityFromKey } from '../../src/net/keys';
import { RELAY_PATH } from '../../src/shared/protocol/relay-api';
import { cleanupAll, onCleanup, startDevice, startRelay } from '../helpers/processes';

afterAll(cleanupAll);

describe('relay audience (item 15)', () => {
  it('a proof made for one relay is refused by another', async () => {
    const real = await startRelay(['--host', '127.0.0.1']);
    const impostorKey = await identityFromKey(generatePrivateKey(), 'impostor relay');
    const server = https.createServer({ key: impostorKey.keyPem, cert: impostorKey.certPem });
    const wss = new WebSocketServer({ server, path: RELAY_PATH });
    const verdicts: string[] = [];
    wss.on('connection', (camera) => {
      const upstream = new WebSocket(`wss://127.0.0.1:${real.port}${RELAY_PATH}`, { rejectUnauthorized: false });
      upstream.on('error', () => undefined);
      camera.on('error', () => undefined);
      upstream.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type: string; code?: string; message?: string };
        if (frame.type === 'challenge') camera.send(data.toString());
        else verdicts.push(frame.type === 'error' ? `error ${frame.code}: ${frame.message}` : frame.type);
      });
      camera.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type: string };
        if (frame.type === 'device-hello' && upstream.readyState === WebSocket.OPEN) upstream.send(data.toString());
      });
      camera.on('close', () => upstream.close());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    onCleanup(async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => server.close(r));
    });
    const port = (server.address() as { port: number }).port;

    const device = await startDevice({ mdns: false, args: ['--relay', `wss://127.0.0.1:${port}`, '--relay-fingerprint', impostorKey.fingerprint] });
    await expect.poll(() => verdicts.length, { timeout: 15_000 }).toBeGreaterThan(0);
    expect(verdicts[0]).toMatch(/^error unauthorized: device-hello refused: claim aud invalid/);
    await device.stop();

    // The same camera, pinned to the real relay, registers there.
    const direct = await startDevice({ mdns: false, args: ['--relay', `wss://127.0.0.1:${real.port}`, '--relay-fingerprint', real.fingerprint] });
    await expect.poll(() => direct.stderr(), { timeout: 15_000 }).toContain('relay: registered');
  }, 60_000);
});
