/**
 * Issue 11 item 7: a camera host that runs unattended. The real `lancam-device install-service`
 * writes the hardened unit under a test directory (--root, never the real /etc), creates the
 * service user there with systemd-sysusers, and enables it with `systemctl --root`. systemd's own
 * tools check the result: `systemd-analyze verify` and `systemd-analyze security --offline`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { renderUnit, quoteUnitWord } from '../../src/device/cli/install-service';
import { cleanupAll, DEVICE_BIN, REPO, runCli, startDevice, tempDir } from '../helpers/processes';

const exec = promisify(execFile);
afterEach(cleanupAll);

/**
 * The bound on systemd's exposure score (0 = locked down, 10 = unprotected). The unit scores 1.6
 * today; what is left is what a LAN camera needs and cannot give up: the host network
 * (PrivateNetwork 0.5, AF_INET/AF_INET6 0.3, no IPAddressDeny since viewers come from anywhere on
 * the LAN 0.2), camera and sound devices (PrivateDevices 0.2, DeviceAllow 0.1, the video and audio
 * groups 0.1, PrivateUsers 0.2, as user namespaces would unmap those groups), Node raising its
 * file limit (@resources 0.2) and V8's JIT (MemoryDenyWriteExecute 0.1). 2.0 leaves no room to
 * drop any of the hardening settings (each is worth 0.1 to 1.0) without this test failing.
 */
const MAX_EXPOSURE = 2.0;

async function cli(args: string[], asUser?: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = asUser === undefined ? [process.execPath, DEVICE_BIN, ...args] : ['setpriv', `--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', process.execPath, DEVICE_BIN, ...args];
  try {
    const { stdout, stderr } = await exec(cmd[0]!, cmd.slice(1), { cwd: REPO, timeout: 60_000, env: { ...process.env, HOME: '/nonexistent' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  return out.sort();
}

async function hostAccounts(): Promise<string> {
  const files = await Promise.all(['/etc/passwd', '/etc/group'].map((f) => fs.readFile(f, 'utf8')));
  return createHash('sha256').update(files.join('\0')).digest('hex');
}

async function exposure(unit: string): Promise<number> {
  const { stdout } = await exec('systemd-analyze', ['security', '--offline=yes', unit]).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(stdout);
  if (!m) throw new Error(`no exposure level in: ${stdout.slice(-400)}`);
  return Number(m[1]);
}

describe('lancam-device install-service', () => {
  it('writes a unit that systemd verifies, with a low exposure, the user and the enablement under --root only', async () => {
    const root = await tempDir('lancam-root-');
    const before = await hostAccounts();
    const res = await cli(['install-service', '--root', root, '--enable', '--', '--source', '/dev/video0', '--video-stack', 'h264', '--name', 'Front door 100%']);
    expect(res.code, res.stderr).toBe(0);
    const unitPath = path.join(root, 'etc/systemd/system/lancam-device.service');
    expect(res.stdout).toContain(`wrote ${unitPath}`);
    expect(res.stdout).toContain('created the system user "lancam"');
    expect(res.stdout).toContain(`ran: systemctl --root=${root} enable lancam-device.service`);

    const unit = await fs.readFile(unitPath, 'utf8');
    expect(unit).toContain(`ExecStart=${process.execPath} ${DEVICE_BIN} run --state-dir %S/lancam-device --source /dev/video0 --video-stack h264 --name "Front door 100%%"`);
    for (const line of [
      'User=lancam',
      'StateDirectory=lancam-device',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'NoNewPrivileges=yes',
      'CapabilityBoundingSet=',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK',
      'SystemCallFilter=@system-service',
      'Restart=on-failure',
      'DevicePolicy=closed',
      'DeviceAllow=char-video4linux rw',
      'DeviceAllow=char-alsa rw',
      'SupplementaryGroups=video audio',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
    // systemd parses it without a warning, and its security review stays under the bound.
    const verified = await exec('systemd-analyze', ['verify', unitPath]);
    expect(verified.stderr).toBe('');
    const score = await exposure(unitPath);
    console.log(`systemd-analyze security --offline: exposure ${score}`);
    expect(score).toBeLessThanOrEqual(MAX_EXPOSURE);
    // --threshold (in tenths) agrees: the command itself fails above the bound.
    await expect(exec('systemd-analyze', ['security', '--offline=yes', `--threshold=${MAX_EXPOSURE * 10}`, unitPath])).resolves.toBeDefined();

    // The user exists in the test root only; the machine's accounts are untouched.
    const passwd = await fs.readFile(path.join(root, 'etc/passwd'), 'utf8');
    expect(passwd).toMatch(/^lancam:x:\d+:\d+:lancam camera:\/var\/lib\/lancam-device:\/usr\/sbin\/nologin$/m);
    expect(await hostAccounts()).toBe(before);
    expect(await fs.readlink(path.join(root, 'etc/systemd/system/multi-user.target.wants/lancam-device.service'))).toBe('/etc/systemd/system/lancam-device.service');

    // Again: the user is kept, not created twice.
    const again = await cli(['install-service', '--root', root]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('the system user "lancam" exists already');
    expect(again.stdout).toContain(`now run:\n  systemctl --root=${root} enable lancam-device.service`);
    expect((await fs.readFile(path.join(root, 'etc/passwd'), 'utf8')).match(/^lancam:/gm)).toHaveLength(1);
  }, 90_000);

  it('the template in resources/ verifies and scores the same as what is installed', async () => {
    const template = path.join(REPO, 'resources/lancam-device.service');
    const verified = await exec('systemd-analyze', ['verify', template]);
    expect(verified.stderr).toBe('');
    expect(await exposure(template)).toBeLessThanOrEqual(MAX_EXPOSURE);
  }, 60_000);

  it('bad options are refused with a clear message and nothing is written', async () => {
    const root = await tempDir('lancam-root-');
    const cases: [string[], RegExp][] = [
      [['--', '--bogus'], /unknown option --bogus for lancam-device run/],
      [['--', '--state-dir', '/tmp/x'], /--state-dir cannot be set for the service/],
      [['--', '--name', 'cam\nExecStartPre=/bin/sh -c evil'], /control characters .* cannot go into a unit file/],
      [['--', '--source'], /--source needs a value/],
      [['--', 'pattern'], /"pattern" is not an option/],
      [['--user', 'Bad User'], /--user must be a system user name/],
    ];
    for (const [args, message] of cases) {
      const res = await cli(['install-service', '--root', root, ...args]);
      expect(res.code, args.join(' ')).not.toBe(0);
      expect(res.stderr).toMatch(message);
    }
    expect(await listFiles(root)).toEqual([]);
    const missing = await cli(['install-service', '--root', path.join(root, 'nope')]);
    expect(missing.stderr).toMatch(/--root .* is not a directory/);
  }, 90_000);

  it('refuses without root when no --root is given', async () => {
    const res = await cli(['install-service'], 65534);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('run it as root (sudo lancam-device install-service …), or try it with --root <dir>');
  }, 60_000);

  it('an installation under a home directory is bound in read-only, the rest of /home stays hidden', async () => {
    const { text, notes } = await renderUnit({ nodePath: '/usr/bin/node', devicePath: '/home/pi/lancam/bin/lancam-device', user: 'lancam', runArgs: [] });
    expect(text.split('\n')).toContain('ProtectHome=tmpfs');
    expect(text.split('\n')).toContain('BindReadOnlyPaths=/home/pi/lancam');
    expect(notes.join()).toContain('/home/pi/lancam');
    expect(quoteUnitWord('a b$c\\"')).toBe('"a b$$c\\\\\\""');
  });

  it('the daemon works with the unit\'s core restrictions: its own unprivileged user, no capabilities, no new privileges', async () => {
    // No systemd runs here, so the unit itself cannot be started; setpriv applies what matters most
    // (User=, CapabilityBoundingSet= empty, NoNewPrivileges=) to a real lancam-device.
    const stateDir = await tempDir('lancam-service-state-');
    await fs.chown(stateDir, 65534, 65534);
    await fs.chmod(stateDir, 0o700);
    const device = await startDevice({ stateDir, mdns: false, args: ['--ice-address', '127.0.0.1'], wrap: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--no-new-privs', '--bounding-set=-all', '--inh-caps=-all'] });
    const status = await fs.readFile(`/proc/${device.process.pid}/status`, 'utf8');
    expect(status).toMatch(/^Uid:\s+65534\s/m);
    expect(status).toMatch(/^CapBnd:\s+0+$/m);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    // The owner pairs and watches; the pairing button works over the control socket as that user.
    const home = await tempDir('lancam-owner-');
    expect((await runCli(['pair', '--address', `127.0.0.1:${device.port}`], { home })).code).toBe(0);
    const watched = await runCli(['--json', '--ice-address', '127.0.0.1', 'watch', '--address', `127.0.0.1:${device.port}`, '--seconds', '2'], { home, timeoutMs: 40_000 });
    expect(watched.code, watched.stdout + watched.stderr).toBe(0);
    expect(watched.json<{ fps: number }>().fps).toBeGreaterThan(10);
    const button = await cli(['pair-window', '--state-dir', stateDir, '--seconds', '5'], 65534);
    expect(button.code, button.stderr).toBe(0);
    expect(button.stdout).toContain('pairing window open for 5 s');
  }, 90_000);
});
