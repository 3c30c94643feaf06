// The `lancam-relay` process: starts on 127.0.0.1, prints its fingerprint, carries a camera and a
// client, keeps its key across restarts, and stops with exit 0 on SIGTERM/SIGINT.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { generatePrivateKey, identityFromKey } from '../../src/net/keys';
import { connectClientToRelay, connectDeviceToRelay } from '../../src/relay/relay-client';
import { REPO, cleanupAll, nodeCommand, onCleanup, tempDir } from '../helpers/processes';

const execFileAsync = promisify(execFile);

const RELAY_BIN = path.join(REPO, 'bin/lancam-relay');

afterEach(cleanupAll);

interface RelayProcess {
  child: ChildProcess;
  port: number;
  fingerprint: string | undefined;
  stdout(): string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs lancam-relay; resolves on "listening on" or, with expectExit, on the exit. */
async function runRelay(args: string[], expectExit = false): Promise<RelayProcess & { code?: number | null }> {
  const [command, commandArgs] = nodeCommand(RELAY_BIN, ['--host', '127.0.0.1', '--port', '0', ...args]);
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  onCleanup(async () => void (await stop('SIGKILL')));
  const result = (port: number) => ({
    child,
    port,
    fingerprint: /fingerprint\s+([0-9a-f]{64})/.exec(out)?.[1],
    stdout: () => out,
    stderr: () => err,
    stop,
  });
  if (expectExit) {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    return { ...result(0), code };
  }
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lancam-relay did not start within 15 s\nstdout: ${out}\nstderr: ${err}`)), 15_000);
    child.stdout!.on('data', () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`lancam-relay exited with ${code}\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  return result(port);
}

describe('lancam-relay', () => {
  it('starts, prints its fingerprint, carries a camera and a client, keeps its key, stops with exit 0 on SIGTERM', async () => {
    const stateDir = await tempDir('lancam-relay-');
    const relay = await runRelay(['--state-dir', stateDir, '--quiet']);
    expect(relay.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(relay.stdout()).toContain(`wss://127.0.0.1:${relay.port}/v1`);
    expect((await fs.stat(path.join(stateDir, 'relay-key.pem'))).mode & 0o777).toBe(0o600);

    const camera = await identityFromKey(generatePrivateKey(), 'cam');
    const url = `wss://127.0.0.1:${relay.port}`;
    const device = connectDeviceToRelay({ url, identity: camera, deviceId: 'cam-1', pinFingerprint: relay.fingerprint! });
    onCleanup(async () => device.close());
    await device.ready(10_000);
    device.on('message', (channel, data) => device.send(channel, data));
    const client = await connectClientToRelay({ url, deviceId: 'cam-1', fingerprint: camera.fingerprint, pinFingerprint: relay.fingerprint! });
    const echoed = new Promise<unknown>((resolve) => client.on('message', resolve));
    client.send({ type: 'JWT', jwt: 'aGVhZGVy.cGF5bG9hZA.c2ln' });
    expect(await echoed).toEqual({ type: 'JWT', jwt: 'aGVhZGVy.cGF5bG9hZA.c2ln' });
    const closed = new Promise<string>((resolve) => client.on('closed', resolve));

    const t0 = Date.now();
    expect(await relay.stop('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(relay.stdout()).toContain('stopped');
    expect(await closed).toMatch(/1001|shutting down/);

    const again = await runRelay(['--state-dir', stateDir, '--quiet']);
    expect(again.fingerprint).toBe(relay.fingerprint);
    expect(again.stdout()).not.toContain('created now');
    expect(await again.stop('SIGINT')).toBe(0);
  });

  it('serves an operator certificate (--cert/--key) and refuses a key that is not the certificate\'s', async () => {
    const dir = await tempDir('lancam-relay-');
    const operator = await identityFromKey(generatePrivateKey(), 'relay.example');
    const other = await identityFromKey(generatePrivateKey(), 'other');
    await fs.writeFile(path.join(dir, 'cert.pem'), operator.certPem);
    await fs.writeFile(path.join(dir, 'key.pem'), operator.keyPem, { mode: 0o600 });
    await fs.writeFile(path.join(dir, 'other.pem'), other.keyPem, { mode: 0o600 });

    const relay = await runRelay(['--cert', path.join(dir, 'cert.pem'), '--key', path.join(dir, 'key.pem'), '--quiet']);
    expect(relay.fingerprint).toBe(operator.fingerprint);
    const err = await connectClientToRelay({ url: `wss://127.0.0.1:${relay.port}`, deviceId: 'cam-1', fingerprint: operator.fingerprint, pinFingerprint: relay.fingerprint! }).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('device-offline');
    expect(await relay.stop()).toBe(0);

    const bad = await runRelay(['--cert', path.join(dir, 'cert.pem'), '--key', path.join(dir, 'other.pem')], true);
    expect(bad.code).toBe(1);
    expect(bad.stderr()).toMatch(/is not the key of the certificate/);
  });

  it.each([
    ['RSA', ['-newkey', 'rsa:2048'], /its key is RSA; lancam accepts only ECDSA P-256 keys/],
    ['P-384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], /its key is EC secp384r1; lancam accepts only ECDSA P-256 keys/],
    ['Ed25519', ['-newkey', 'ed25519'], /its key is Ed25519; lancam accepts only ECDSA P-256 keys/],
  ])('refuses an operator certificate whose key is %s (issue 10 item 5: keys of any type)', async (_kind, keyArgs, message) => {
    const dir = await tempDir('lancam-relay-');
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    await execFileAsync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=relay.example']);
    const bad = await runRelay(['--cert', cert, '--key', key], true);
    expect(bad.code).toBe(1);
    expect(bad.stderr()).toMatch(message);
  });

  it('--insecure-plain serves ws:// and hands out TURN credentials from --turn-secret-file', async () => {
    const dir = await tempDir('lancam-relay-');
    await fs.writeFile(path.join(dir, 'turn-secret'), 'file-secret\n', { mode: 0o600 });
    const relay = await runRelay(['--insecure-plain', '--turn-url', 'turn:127.0.0.1:3478?transport=udp', '--turn-secret-file', path.join(dir, 'turn-secret'), '--turn-ttl', '300', '--quiet']);
    expect(relay.fingerprint).toBeUndefined();
    expect(relay.stdout()).toContain('none (--insecure-plain)');
    const camera = await identityFromKey(generatePrivateKey(), 'cam');
    const device = connectDeviceToRelay({ url: `ws://127.0.0.1:${relay.port}`, identity: camera, deviceId: 'cam-1' });
    onCleanup(async () => device.close());
    await device.ready(10_000);
    // A client channel the camera verified (issue 10 item 12: no credentials for anything else).
    const opened = new Promise<string>((resolve) => device.once('channel-open', resolve));
    const viewer = await connectClientToRelay({ url: `ws://127.0.0.1:${relay.port}`, deviceId: 'cam-1', fingerprint: camera.fingerprint });
    onCleanup(async () => viewer.close());
    const channel = await opened;
    expect(await device.requestTurn('viewer', channel)).toEqual([]);
    device.channelVerified(channel);
    const [server] = await device.requestTurn('viewer', channel);
    expect(server!.urls).toEqual(['turn:127.0.0.1:3478?transport=udp']);
    expect(server!.username).toMatch(/^\d+:viewer$/);
    expect(Number(server!.username!.split(':')[0]) - Date.now() / 1000).toBeGreaterThan(295);
    expect(server!.credential).toBe(createHmac('sha1', 'file-secret').update(server!.username!).digest('base64'));
    expect(await relay.stop()).toBe(0);
  });

  it.each([
    [['--turn-url', 'turn:127.0.0.1:3478'], /needs --turn-secret/],
    [['--turn-url', 'http://x', '--turn-secret', 'k'], /turn: or turns:/],
    [['--cert', '/nonexistent.pem'], /--cert and --key go together/],
    [['--insecure-plain', '--cert', 'a', '--key', 'b'], /exclude each other/],
    [['--max-channels-per-device', '0'], /--max-channels-per-device/],
  ])('refuses bad arguments %j with a message and exit 1', async (args, message) => {
    const stateDir = await tempDir('lancam-relay-');
    const run = await runRelay(['--state-dir', stateDir, ...args], true);
    expect(run.code).toBe(1);
    expect(run.stderr()).toMatch(message);
  });
});
