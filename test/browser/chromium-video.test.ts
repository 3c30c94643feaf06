/**
 * The browser path: Debian's Chromium, driven by playwright-core, receives and decodes a camera's
 * video through the same signaling the desktop app uses (renderer -> LancamApi bridge -> companion
 * core -> device channel). Everything runs inside a network namespace this test creates, which has
 * nothing but `lo`.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { BrowserContext } from 'playwright-core';
import { launchChromiumInNetns } from '../helpers/chromium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, netnsUnavailable, type Netns } from '../helpers/netns';
import { cleanupAll, onCleanup, REPO, runCli, startDevice, startUi, tempDir, type DeviceProcess } from '../helpers/processes';

const unavailable = await netnsUnavailable();

describe.skipIf(unavailable !== undefined)(`Chromium receives live video${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let ns: Netns;
  let device: DeviceProcess;
  let home: string;
  let context: BrowserContext;
  let url: string;

  beforeAll(async () => {
    ns = await createNetns();
    home = await tempDir('lancam-ui-home-');
    device = await startDevice({ wrap: ns.wrap, name: 'Browser Cam', args: ['--size', '640x480', '--fps', '30'] });
    const paired = await runCli(['pair', '--address', `127.0.0.1:${device.port}`], { home, wrap: ns.wrap });
    expect(paired.code, paired.stderr).toBe(0);

    // The test page, built from the real renderer modules.
    const site = await tempDir('lancam-ui-site-');
    await build({ entryPoints: [path.join(REPO, 'test/browser/video-page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'chrome120', outfile: path.join(site, 'app.js'), logLevel: 'error' });
    await writeFile(path.join(site, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>lancam video test</title><script type="module" src="/app.js"></script></head><body><video muted playsinline width="640" height="480"></video></body></html>');

    // `lancam ui` inside the namespace.
    ({ url } = await startUi(home, site, ns.wrap));

    // Chromium inside the namespace: a wrapper as the executable.
    const profile = await mkdtemp(path.join(os.tmpdir(), 'lancam-profile-'));
    onCleanup(async () => void (await import('node:fs/promises')).rm(profile, { recursive: true, force: true }));
    context = await launchChromiumInNetns(ns.wrap, { binDir: await tempDir('lancam-chromium-'), profileDir: profile });
    onCleanup(() => context.close());
  }, 90_000);

  afterAll(async () => {
    await cleanupAll();
  });

  it('decodes frames of the test pattern in the page, with latency read from the pixels', async () => {
    const page = await context.newPage();
    await page.goto(url);
    await page.evaluate(() => window.lancamTest.ready);
    // The token left the address bar as soon as the page read it.
    expect(page.url()).not.toContain('token');
    const devices = await page.evaluate(() => window.lancamTest.devices());
    expect(devices).toContainEqual(expect.objectContaining({ deviceId: device.deviceId, paired: true, status: 'online' }));

    await page.evaluate((id) => window.lancamTest.start(id), device.deviceId);
    await page.waitForFunction(() => (window.lancamTest.stats()?.frames ?? 0) >= 60 && window.lancamTest.stats()?.latencyMs !== null, undefined, { timeout: 20_000, polling: 250 });
    const stats = await page.evaluate(() => window.lancamTest.stats()!);
    console.log(`chromium: ${JSON.stringify(stats)}`);
    expect(stats.width).toBe(640);
    expect(stats.height).toBe(480);
    expect(stats.latencyMs).toBeGreaterThanOrEqual(0);
    expect(stats.latencyMs).toBeLessThan(2000);
    expect(stats.firstFrameMs).not.toBeNull();
    await page.screenshot({ path: path.join(REPO, 'test-artifacts', 'chromium-video.png') });

    await page.evaluate(() => window.lancamTest.stop());
    await page.waitForFunction(() => window.lancamTest.closedReason() !== undefined, undefined, { timeout: 5000 });
    await expect.poll(() => device.stderr(), { timeout: 5000 }).toContain('last viewer left');
    await page.close();
  });

  it('refuses a page without the token', async () => {
    const page = await context.newPage();
    await page.goto(url.replace(/#token=.*/, '#token=wrong'));
    const error = await page.evaluate(() => window.lancamTest.ready.then(() => 'connected', (e: Error) => e.message));
    expect(error).toContain('not valid');
    await page.close();
  });
});
