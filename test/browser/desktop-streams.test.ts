/**
 * The desktop grid's stream choice, end to end: the built renderer served by `lancam ui`, in
 * Debian's Chromium inside a network namespace this test creates (only `lo`), watching a
 * `lancam-device --video-stack h264` pattern camera that has a main (1280x720) and a sub
 * (640x360) stream. A small tile receives the sub stream, full screen the main stream, and back;
 * what Chromium's own getStats reports (frameWidth/Height of the one inbound video) is asserted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromiumInNetns } from '../helpers/chromium';
import { createNetns, netnsUnavailable, type Netns } from '../helpers/netns';
import { cleanupAll, onCleanup, runCli, startDevice, startUi, tempDir, type DeviceProcess } from '../helpers/processes';
import { buildRenderer } from '../helpers/renderer-build';

const unavailable = await netnsUnavailable();

/** The size of the picture Chromium decodes now, from the page's (only) peer connection. */
async function inboundSize(page: Page): Promise<[number, number] | undefined> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { __peers: RTCPeerConnection[] }).__peers.at(-1);
    if (!pc) return undefined;
    let size: [number, number] | undefined;
    (await pc.getStats()).forEach((s: RTCStats & { kind?: string; frameWidth?: number; frameHeight?: number }) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && s.frameWidth) size = [s.frameWidth, s.frameHeight ?? 0];
    });
    return size;
  });
}

describe.skipIf(unavailable !== undefined)(`the desktop tile picks main or sub${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let ns: Netns;
  let cam: DeviceProcess;
  let page: Page;

  beforeAll(async () => {
    ns = await createNetns();
    const site = await tempDir('lancam-renderer-');
    await buildRenderer(site);
    cam = await startDevice({ wrap: ns.wrap, name: 'Streams', args: ['--video-stack', 'h264', '--size', '1280x720', '--fps', '15', '--ice-address', '127.0.0.1'] });
    const home = await tempDir('lancam-home-');
    expect((await runCli(['pair', '--address', `127.0.0.1:${cam.port}`], { home, wrap: ns.wrap })).code).toBe(0);
    const { url } = await startUi(home, site, ns.wrap);
    const profileDir = await mkdtemp(path.join(os.tmpdir(), 'lancam-profile-'));
    onCleanup(() => rm(profileDir, { recursive: true, force: true }));
    // A small window: the one tile is shown well under 640 pixels wide.
    const context = await launchChromiumInNetns(ns.wrap, { binDir: await tempDir('lancam-chromium-'), profileDir }, { viewport: { width: 600, height: 700 } });
    onCleanup(() => context.close());
    page = await context.newPage();
    // Keep the app's peer connections reachable for getStats (DevTools, before the app's CSP applies).
    await page.addInitScript(() => {
      const peers: RTCPeerConnection[] = [];
      (window as unknown as { __peers: RTCPeerConnection[] }).__peers = peers;
      const Native = window.RTCPeerConnection;
      window.RTCPeerConnection = class extends Native {
        constructor(config?: RTCConfiguration) {
          super(config);
          peers.push(this);
        }
      };
    });
    await page.goto(url);
  }, 120_000);

  afterAll(async () => {
    await cleanupAll();
  }, 30_000);

  it('a small tile receives the sub stream, full screen the main stream, and back', async () => {
    await page.getByTestId(`device-watch-${cam.deviceId}`).click({ timeout: 20_000 });
    await page.getByTestId('live-view').waitFor();
    const video = page.getByTestId(`live-video-${cam.deviceId}`);
    const width = await video.evaluate((v) => v.getBoundingClientRect().width * devicePixelRatio);
    console.log(`tile picture ${Math.round(width)} device pixels wide`);
    expect(width).toBeLessThan(720);
    await expect.poll(() => inboundSize(page), { timeout: 30_000, interval: 250 }).toEqual([640, 360]);
    await video.dblclick();
    await expect.poll(() => page.evaluate(() => document.fullscreenElement !== null), { timeout: 5000 }).toBe(true);
    await expect.poll(() => inboundSize(page), { timeout: 20_000, interval: 250 }).toEqual([1280, 720]);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.evaluate(() => document.fullscreenElement === null), { timeout: 5000 }).toBe(true);
    await expect.poll(() => inboundSize(page), { timeout: 20_000, interval: 250 }).toEqual([640, 360]);
    // One peer connection all along: the switches did not renegotiate or reconnect.
    expect(await page.evaluate(() => (window as unknown as { __peers: unknown[] }).__peers.length)).toBe(1);
    expect(cam.stderr()).toMatch(/the viewer asked for the main stream/);
  }, 120_000);
});
