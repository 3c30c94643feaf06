/**
 * Issue 10 item 16: a spoofed mDNS announcement with the real camera's device id. Against real
 * processes on loopback: a second `lancam-device` with the real camera's device.json (so the same
 * device id) but its own key announces itself. On the old code `lancam info <id>` followed
 * whichever announcement was heard last and raised the changed-key alarm, pushing the user to
 * forget and re-pair with the impostor. Now the pinned key's announcement is preferred, every
 * announcement is tried, and the alarm is raised only when no address presents the pinned key.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, runCli, startDevice, tempDir } from '../helpers/processes';

afterAll(cleanupAll);

const grouped = (fp: string) => fp.match(/.{4}/g)!.join(' ');

describe('spoofed mDNS announcements (item 16)', () => {
  it('follows the pinned key while the real camera is online, and alarms only when no address presents it', async () => {
    const tag = randomBytes(3).toString('hex');
    const real = await startDevice({ name: `Real ${tag}` });
    const home = await tempDir('lancam-home-');
    const paired = await runCli(['pair', '--address', `127.0.0.1:${real.port}`], { home });
    expect(paired.code, paired.stdout + paired.stderr).toBe(0);

    // The impostor: same device id (its device.json copied), another key, announced after the real one.
    const spoofDir = await tempDir('lancam-spoof-');
    await fs.copyFile(path.join(real.stateDir, 'device.json'), path.join(spoofDir, 'device.json'));
    const spoof = await startDevice({ name: `Spoof ${tag}`, stateDir: spoofDir });
    expect(spoof.deviceId).toBe(real.deviceId);
    expect(spoof.fingerprint).not.toBe(real.fingerprint);

    for (let i = 0; i < 3; i++) {
      const info = await runCli(['info', real.deviceId, '--discovery-timeout', '8'], { home });
      expect(info.code, info.stdout + info.stderr).toBe(0);
      expect(info.stdout).toContain(`  fingerprint  ${grouped(real.fingerprint)}\n`);
      expect(info.stderr).not.toMatch(/key changed/);
    }

    // The real camera goes away: now no address presents the pinned key, and that is the alarm.
    await real.stop('SIGTERM');
    const alarm = await runCli(['--json', 'info', real.deviceId, '--discovery-timeout', '8'], { home });
    expect(alarm.code).not.toBe(0);
    expect(alarm.stdout + alarm.stderr).toContain('device-key-changed');
    expect(alarm.stdout + alarm.stderr).toContain(grouped(spoof.fingerprint));
  }, 90_000);
});
