/**
 * The H.264 stack (`--video-stack h264`) in a real browser: Debian's Chromium, inside a network
 * namespace this test creates (only `lo`), receives the device's test pattern through the same
 * signaling the desktop app uses. Three viewers share ONE encode: one x264 encoder process for
 * the device, H.264 at the pattern's HD size in every viewer (as Chromium's own stats report it),
 * a keyframe asked for every viewer that joins, and the encoder stopped after the last viewer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromiumInNetns } from '../helpers/chromium';
import { createNetns, netnsUnavailable, type Netns } from '../helpers/netns';
import { cleanupAll, onCleanup, REPO, runCli, startDevice, startUi, tempDir, type DeviceProcess } from '../helpers/processes';

const unavailable = await netnsUnavailable();

/** Pids of the x264 encoder processes whose parent is `pid`. */
function encoderChildren(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('x264-encoder.py')) found.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}

describe.skipIf(unavailable !== undefined)(`Chromium receives the shared H.264 stream${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let ns: Netns;
  let device: DeviceProcess;
  let context: BrowserContext;
  let url: string;

  beforeAll(async () => {
    ns = await createNetns();
    const home = await tempDir('lancam-ui-home-');
    device = await startDevice({ wrap: ns.wrap, name: 'H264 Cam', args: ['--video-stack', 'h264', '--ice-address', '127.0.0.1', '--fps', '30'] });
    const paired = await runCli(['pair', '--address', `127.0.0.1:${device.port}`], { home, wrap: ns.wrap });
    expect(paired.code, paired.stderr).toBe(0);
    const site = await tempDir('lancam-ui-site-');
    await build({ entryPoints: [path.join(REPO, 'test/browser/video-page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'chrome120', outfile: path.join(site, 'app.js'), logLevel: 'error' });
    await writeFile(path.join(site, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>lancam video test</title><script type="module" src="/app.js"></script></head><body><video muted playsinline width="640" height="360"></video></body></html>');
    ({ url } = await startUi(home, site, ns.wrap));
    const profile = await mkdtemp(path.join(os.tmpdir(), 'lancam-profile-'));
    onCleanup(() => rm(profile, { recursive: true, force: true }));
    context = await launchChromiumInNetns(ns.wrap, { binDir: await tempDir('lancam-chromium-'), profileDir: profile });
    onCleanup(() => context.close());
  }, 90_000);

  afterAll(async () => {
    await cleanupAll();
  });

  it('three viewers decode H.264 at 1280x720 from one encoder, each starting at a keyframe asked for it', async () => {
    const pages: Page[] = [];
    for (let i = 0; i < 3; i++) {
      const page = await context.newPage();
      await page.goto(url);
      await page.evaluate(() => window.lancamTest.ready);
      await page.evaluate((id) => window.lancamTest.start(id), device.deviceId);
      await page.waitForFunction(() => (window.lancamTest.stats()?.frames ?? 0) >= 30 && window.lancamTest.stats()?.latencyMs !== null, undefined, { timeout: 30_000, polling: 250 });
      pages.push(page);
    }
    for (const page of pages) {
      const inbound = await page.evaluate(() => window.lancamTest.inbound());
      const stats = await page.evaluate(() => window.lancamTest.stats()!);
      console.log(`h264 viewer: ${JSON.stringify({ inbound, stats })}`);
      expect(inbound?.mimeType).toBe('video/H264');
      expect([inbound?.frameWidth, inbound?.frameHeight]).toEqual([1280, 720]);
      expect(inbound?.keyFramesDecoded).toBeGreaterThanOrEqual(1);
      // The pattern's own pixels, read back after the decoder: the picture is the pattern, live.
      expect(stats.latencyMs).toBeGreaterThanOrEqual(0);
    }
    // One encode for all three.
    expect(encoderChildren(device.process.pid!)).toHaveLength(1);
    expect(device.stderr().match(/first viewer, starting test pattern 1280x720@30, H\.264 encoded once/g)).toHaveLength(1);
    expect(device.stderr().match(/keyframe for a joining viewer/g)?.length ?? 0).toBeGreaterThanOrEqual(3);

    for (const page of pages) await page.evaluate(() => window.lancamTest.stop());
    await expect.poll(() => device.stderr(), { timeout: 8000 }).toContain('last viewer left');
    await expect.poll(() => encoderChildren(device.process.pid!).length, { timeout: 8000 }).toBe(0);
    for (const page of pages) await page.close();
  }, 120_000);
});
