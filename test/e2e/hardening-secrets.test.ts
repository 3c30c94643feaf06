/**
 * Issue 10, item 4: secrets never need to be on a command line. Real `lancam` and `lancam-relay`
 * processes take pairing strings, passwords and the TURN secret from standard input, a file or
 * the environment, while a watcher reads their /proc/PID/cmdline the whole time (what any local
 * user can do); given as an argument, they warn and mask the process title.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatPairingString } from '../../src/shared/pairing-string';
import { CLI_BIN, cleanupAll, onCleanup, RELAY_BIN, startDevice, tempDir, type DeviceProcess } from '../helpers/processes';
import { adminOf, invite, type RawClient } from '../helpers/raw-client';

afterEach(cleanupAll);

interface Watched {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every distinct /proc/PID/cmdline seen while the process ran. */
  cmdlines: string[];
}

/** Runs a program, feeding `input` on stdin, and reads its cmdline every few ms like a snooping local user. */
function runWatched(script: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; until?: RegExp } = {}): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    onCleanup(async () => void child.kill('SIGKILL'));
    const seen = new Set<string>();
    const snoop = () => {
      try {
        seen.add(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').replace(/\0+/g, ' ').trim());
      } catch {
        // exited
      }
    };
    snoop();
    const watcher = setInterval(snoop, 2);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (options.until?.test(stdout)) {
        snoop();
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish\n${stdout}\n${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearInterval(watcher);
      clearTimeout(timer);
      resolve({ code, stdout, stderr, cmdlines: [...seen].filter((c) => c !== '') });
    });
  });
}

const admins = new WeakMap<DeviceProcess, RawClient>();

async function invitation(device: DeviceProcess, username: string): Promise<{ pairingString: string; password: string }> {
  const admin = admins.get(device) ?? (await adminOf(device));
  admins.set(device, admin);
  const password = await invite(admin, username, 'Administrator', `Secret-${username}-Zq9xW4`);
  const info = (await admin.call('GET', '/device/info')).body as { ProductId: string };
  const pairingString = formatPairingString({ productId: info.ProductId, deviceId: device.deviceId, username, password, fingerprint: device.fingerprint });
  return { pairingString, password };
}

const cli = (home: string, args: string[]) => ['--home', home, '--mdns-interface', '127.0.0.1', ...args];

describe('item 4: secrets off the command line', () => {
  it('pairs with the pairing string from standard input, a file and the environment; the password never shows in cmdline, output or the camera log', async () => {
    const device = await startDevice({ mdns: false });
    const address = `127.0.0.1:${device.port}`;
    const dir = await tempDir('lancam-secret-');
    const ways: [string, (s: string) => Promise<{ args: string[]; input?: string; env?: NodeJS.ProcessEnv }>][] = [
      ['stdin', async () => ({ args: ['--pairing-string-file', '-'], input: 'PLACEHOLDER\n' })],
      ['file', async (s) => {
        const file = path.join(dir, 'pairing.txt');
        await writeFile(file, `${s}\n`, { mode: 0o600 });
        return { args: ['--pairing-string-file', file] };
      }],
      ['env', async (s) => ({ args: [], env: { LANCAM_PAIRING_STRING: s } })],
    ];
    for (const [way, setup] of ways) {
      const { pairingString, password } = await invitation(device, `user-${way}`);
      const how = await setup(pairingString);
      const input = how.input?.replace('PLACEHOLDER', pairingString);
      const home = await tempDir('lancam-home-');
      const run = await runWatched(CLI_BIN, cli(home, ['pair', '--address', address, ...how.args]), { ...(input !== undefined ? { input } : {}), ...(how.env ? { env: how.env } : {}) });
      expect(run.code, `${way}: ${run.stderr}`).toBe(0);
      expect(run.stdout).toContain(`as user-${way} (Administrator)`);
      expect(run.cmdlines.length).toBeGreaterThan(0);
      for (const c of run.cmdlines) expect(c, way).not.toContain(password);
      expect(run.stdout + run.stderr).not.toContain(password);
      expect(run.stderr).not.toContain('warning');
    }
    expect(device.stdout() + device.stderr()).not.toMatch(/Secret-user-/);
  });

  it('the password from a file (and - for stdin) works for password pairing; a bad file is a clear error', async () => {
    const device = await startDevice({ mdns: false });
    const { password } = await invitation(device, 'dora');
    const home = await tempDir('lancam-home-');
    const run = await runWatched(CLI_BIN, cli(home, ['pair', '--address', `127.0.0.1:${device.port}`, '--mode', 'password-invite', '--username', 'dora', '--password-file', '-']), { input: `${password}\n` });
    expect(run.code, run.stderr).toBe(0);
    for (const c of run.cmdlines) expect(c).not.toContain(password);
    const missing = await runWatched(CLI_BIN, cli(home, ['pair', '--address', `127.0.0.1:${device.port}`, '--password-file', '/nonexistent/pw']));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read --password-file /nonexistent/pw: ENOENT');
    const both = await runWatched(CLI_BIN, cli(home, ['pair', '--address', `127.0.0.1:${device.port}`, '--password', 'x', '--password-file', '-']));
    expect(both.stderr).toContain('--password and --password-file exclude each other');
  });

  it('given as an argument it still works, with a warning, and the process title is masked at once', async () => {
    const device = await startDevice({ mdns: false });
    const { pairingString, password } = await invitation(device, 'erin');
    const home = await tempDir('lancam-home-');
    const run = await runWatched(CLI_BIN, cli(home, ['pair', '--address', `127.0.0.1:${device.port}`, '--pairing-string', pairingString]));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('warning: --pairing-string on the command line can be read by every local user');
    expect(run.cmdlines).toContain('lancam pair');
    // Visible only until the title is masked: the last thing a snooper sees is the mask.
    expect(run.cmdlines.at(-1)).toBe('lancam pair');
    expect(run.stdout + run.stderr).not.toContain(password);
  });

  it('lancam-relay takes the TURN secret from standard input or $LANCAM_TURN_SECRET, never showing it', async () => {
    const secret = 'turn-static-auth-secret-4b7c';
    const base = ['--port', '0', '--insecure-plain', '--host', '127.0.0.1', '--turn-url', 'turn:127.0.0.1:3478?transport=udp'];
    const stdin = await runWatched(RELAY_BIN, [...base, '--state-dir', await tempDir('lancam-relay-'), '--turn-secret-file', '-'], { input: `${secret}\n`, until: /listening on/ });
    const env = await runWatched(RELAY_BIN, [...base, '--state-dir', await tempDir('lancam-relay-')], { env: { LANCAM_TURN_SECRET: secret }, until: /listening on/ });
    const arg = await runWatched(RELAY_BIN, [...base, '--state-dir', await tempDir('lancam-relay-'), '--turn-secret', secret], { until: /listening on/ });
    for (const run of [stdin, env, arg]) {
      expect(run.stdout, run.stderr).toContain('credentials valid');
      expect(run.stdout + run.stderr).not.toContain(secret);
      expect(run.cmdlines.at(-1)).toBe('lancam-relay');
    }
    for (const c of [...stdin.cmdlines, ...env.cmdlines]) expect(c).not.toContain(secret);
    expect(arg.stderr).toContain('warning: --turn-secret on the command line');
    expect(stdin.stderr + env.stderr).not.toContain('warning');
  });
});
