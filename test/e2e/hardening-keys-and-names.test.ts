/**
 * Issue 10, items 5 and 17, against real lancam-device and lancam processes: client keys other
 * than P-256 are refused at the handshake, and names with terminal control characters are refused
 * by the camera and escaped by every CLI output.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { connectChannel } from '../../src/net/channel/client';
import type { Identity } from '../../src/net/keys';
import { cleanupAll, runCli, startDevice, tempDir } from '../helpers/processes';
import { adminOf, deviceClient } from '../helpers/raw-client';

const run = promisify(execFile);
afterEach(cleanupAll);

/** A key and self-signed certificate made by openssl itself, of any algorithm. */
async function opensslIdentity(dir: string, name: string, genkey: string[]): Promise<Identity> {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  await run('openssl', [...genkey, '-out', key]);
  await run('openssl', ['req', '-new', '-x509', '-key', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`]);
  return { keyPem: await readFile(key, 'utf8'), certPem: await readFile(cert, 'utf8'), fingerprint: '', privateKey: undefined as never };
}

describe('item 5: only P-256 client keys', () => {
  it('refuses RSA, Ed25519 and P-384 certificates at the handshake with a clear error; P-256 pairs', async () => {
    const device = await startDevice({ mdns: false });
    const dir = await tempDir('lancam-keytypes-');
    const kinds = {
      RSA: await opensslIdentity(dir, 'rsa', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']),
      Ed25519: await opensslIdentity(dir, 'ed25519', ['genpkey', '-algorithm', 'ED25519']),
      'EC secp384r1': await opensslIdentity(dir, 'p384', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']),
    };
    const stateBefore = await readFile(path.join(device.stateDir, 'iam_state.json'), 'utf8');
    for (const [kind, identity] of Object.entries(kinds)) {
      // The attack: connect and claim the camera by local initial pairing. Refused before any request.
      const attempt = connectChannel({ host: '127.0.0.1', port: device.port, identity, verifyDevice: () => undefined }).then(async (channel) => {
        const res = await channel.peer.request('POST', '/iam/pairing/local-initial', {});
        channel.close();
        return res.status;
      });
      await expect(attempt).rejects.toThrow(`client certificate refused: its key is ${kind}; lancam accepts only ECDSA P-256 keys`);
    }
    expect(await readFile(path.join(device.stateDir, 'iam_state.json'), 'utf8')).toBe(stateBefore);
    expect(device.stderr()).toContain('client certificate refused: its key is RSA');
    // The owner, with a P-256 key, still becomes the administrator.
    const admin = await adminOf(device);
    expect((await admin.call('GET', '/iam/me')).body).toMatchObject({ Username: 'admin', Role: 'Administrator' });
  });

  it('a client refuses a camera whose key is not P-256', async () => {
    const { ChannelServer } = await import('../../src/net/channel/server');
    const dir = await tempDir('lancam-keytypes-');
    const rsa = await opensslIdentity(dir, 'cam', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const server = new ChannelServer({ identity: rsa, host: '127.0.0.1', port: 0 });
    const { port } = await server.listen();
    try {
      const client = deviceClient({ port, fingerprint: '' });
      await expect(client).rejects.toThrow('is not a lancam camera: its key is RSA');
    } finally {
      await server.close();
    }
  });
});

const ESC = '\u001b';
const HOSTILE = [`${ESC}]52;c;ZXZpbA==${ESC}\\`, `x${ESC}[2J${ESC}[H`, 'bell\u0007', 'new\nline', 'c1\u009b31m', 'bidi\u202egnp.exe', 'del\u007f'];

describe('item 17: control characters in names', () => {
  it('the camera refuses them in display names, key names, remote-secret names and the friendly name (400, state unchanged)', async () => {
    const device = await startDevice({ mdns: false });
    const admin = await adminOf(device);
    expect((await admin.call('POST', '/iam/users', { Username: 'bob' })).status).toBe(201);
    const file = path.join(device.stateDir, 'iam_state.json');
    const before = await readFile(file, 'utf8');
    for (const name of HOSTILE) {
      const answers = await Promise.all([
        admin.call('PUT', '/iam/users/bob/display-name', name),
        admin.call('PUT', `/iam/users/bob/fingerprints/${'ab'.repeat(32)}`, { Name: name }),
        admin.call('POST', '/iam/users/bob/remote-secrets', { Name: name }),
        admin.call('PUT', '/iam/device-info/friendly-name', name),
      ]);
      for (const a of answers) {
        expect(a.status, JSON.stringify([name, a.body])).toBe(400);
        expect(JSON.stringify(a.body)).toContain('control characters');
      }
      const stranger = await deviceClient(device);
      const pairing = await stranger.call('POST', '/iam/pairing/local-open', { Username: 'eve', FingerprintName: name });
      expect(pairing.status).toBe(400);
    }
    expect(await readFile(file, 'utf8')).toBe(before);
    // Ordinary names (accents, emoji, spaces) still work.
    expect((await admin.call('PUT', '/iam/users/bob/display-name', 'Björn 🎥 Ödegaard')).status).toBe(204);
  });

  it('lancam-device refuses such a --name', async () => {
    const started = startDevice({ mdns: false, name: `cam${ESC}[31m`, expectExit: true });
    await expect(started).rejects.toThrow(/--name must not contain control characters/);
  });

  it('every CLI output escapes them (names planted in the state file, shown by a real camera)', async () => {
    const device = await startDevice({ mdns: false });
    const home = await tempDir('lancam-home-');
    const address = `127.0.0.1:${device.port}`;
    const paired = await runCli(['pair', '--address', address, '--name', 'laptop'], { home });
    expect(paired.code, paired.stderr).toBe(0);
    await device.stop();
    // Planted as an old version or a hostile restore would have it: the device's API refuses them.
    const file = path.join(device.stateDir, 'iam_state.json');
    const state = JSON.parse(await readFile(file, 'utf8')) as { FriendlyName: string; Users: { Username: string; DisplayName?: string; Fingerprints: { Name?: string }[] }[] };
    state.FriendlyName = `Cam${ESC}]0;owned${ESC}\\`;
    state.Users[0]!.DisplayName = `Adm${ESC}[2J\nFAKE ROW`;
    state.Users[0]!.Fingerprints[0]!.Name = `key\u202e${ESC}[8m`;
    await writeFile(file, JSON.stringify(state));
    const again = await startDevice({ mdns: false, stateDir: device.stateDir });
    const at = `127.0.0.1:${again.port}`;
    const outputs = await Promise.all([runCli(['users', '--address', at], { home }), runCli(['info', '--address', at], { home }), runCli(['devices'], { home })]);
    expect(again.stdout()).not.toContain(ESC);
    expect(again.stdout()).toContain('Cam\\x1b]0;owned\\x1b\\');
    for (const out of outputs) {
      expect(out.code, out.stderr).toBe(0);
      // eslint-disable-next-line no-control-regex
      expect(out.stdout + out.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    }
    expect(outputs[0]!.stdout).toContain('Adm\\x1b[2J\\x0aFAKE ROW');
    expect(outputs[0]!.stdout).not.toMatch(/^FAKE ROW/m);
    expect(outputs[0]!.stdout).toContain('key\\u202e\\x1b[8m');
    expect(outputs[1]!.stdout).toContain('Cam\\x1b]0;owned');
  });
});
