/**
 * Sound on the H.264 stack in a real browser: Debian's Chromium, inside a network namespace this
 * test creates (only `lo`), receives the device's test pattern with its beep through the same
 * signaling the desktop app uses. Chromium's own stats say the audio is Opus and not silent
 * (totalAudioEnergy, audioLevel), and a WebAudio AnalyserNode on the received track hears it. A
 * viewer that refuses the audio still gets the video; three viewers share one audio source.
 */
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

describe.skipIf(unavailable !== undefined)(`Chromium hears the camera${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let ns: Netns;
  let device: DeviceProcess;
  let context: BrowserContext;
  let url: string;

  beforeAll(async () => {
    ns = await createNetns();
    const home = await tempDir('lancam-ui-home-');
    device = await startDevice({ wrap: ns.wrap, name: 'Audio Cam', args: ['--video-stack', 'h264', '--ice-address', '127.0.0.1', '--size', '640x360', '--fps', '30'] });
    const paired = await runCli(['pair', '--address', `127.0.0.1:${device.port}`], { home, wrap: ns.wrap });
    expect(paired.code, paired.stderr).toBe(0);
    const site = await tempDir('lancam-ui-site-');
    await build({ entryPoints: [path.join(REPO, 'test/browser/audio-page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'chrome120', outfile: path.join(site, 'app.js'), logLevel: 'error' });
    await writeFile(path.join(site, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>lancam audio test</title><script type="module" src="/app.js"></script></head><body><video muted playsinline autoplay width="640" height="360"></video></body></html>');
    ({ url } = await startUi(home, site, ns.wrap));
    const profile = await mkdtemp(path.join(os.tmpdir(), 'lancam-profile-'));
    onCleanup(() => rm(profile, { recursive: true, force: true }));
    context = await launchChromiumInNetns(ns.wrap, { binDir: await tempDir('lancam-chromium-'), profileDir: profile });
    onCleanup(() => context.close());
  }, 90_000);

  afterAll(async () => {
    await cleanupAll();
  });

  async function viewer(options: { audio?: boolean } = {}): Promise<Page> {
    const page = await context.newPage();
    await page.goto(url);
    await page.evaluate(() => window.lancamAudio.ready);
    await page.evaluate(([id, o]) => window.lancamAudio.start(id, o), [device.deviceId, options] as const);
    await page.waitForFunction(() => (window.lancamAudio.stats()?.frames ?? 0) >= 20, undefined, { timeout: 30_000, polling: 250 });
    return page;
  }

  it('three viewers get Opus that is not silent, from one audio source, next to the H.264', async () => {
    const pages = [await viewer(), await viewer(), await viewer()];
    // Muted (as the desktop starts) Chromium plays nothing out; unmuted, its stats measure the sound.
    for (const page of pages) await page.evaluate(() => window.lancamAudio.unmute());
    // A few beeps (one per second) in every viewer.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const page of pages) {
      const inbound = await page.evaluate(() => window.lancamAudio.audioInbound());
      const heard = await page.evaluate(() => window.lancamAudio.analyse(2500));
      console.log(`chromium audio: ${JSON.stringify({ inbound, analyserPeakRms: heard, senderReports: await page.evaluate(() => window.lancamAudio.senderReports()) })}`);
      expect(inbound?.mimeType).toBe('audio/opus');
      expect(inbound!.packetsReceived).toBeGreaterThan(100);
      // The beep: -15 dBFS RMS for 100 ms each second. Silence would give 0 energy.
      expect(inbound!.totalAudioEnergy).toBeGreaterThan(0);
      expect(inbound!.totalSamplesReceived).toBeGreaterThan(48_000);
      // The analyser on the received track hears the beep (RMS 0.18 during it; silence is 0).
      expect(heard).toBeGreaterThan(0.05);
      expect(await page.evaluate(() => window.lancamAudio.videoCodec())).toBe('video/H264');
      expect(await page.evaluate(() => window.lancamAudio.hasAudio())).toBe(true);
      // RTCP sender reports on both tracks (what lip-sync is computed from): about one a second.
      const reports = await page.evaluate(() => window.lancamAudio.senderReports());
      expect(reports.audio).toBeGreaterThanOrEqual(2);
      expect(reports.video).toBeGreaterThanOrEqual(2);
    }
    expect(device.stderr().match(/audio: first viewer, starting the test pattern's tone/g)).toHaveLength(1);
    // Lip sync as Chromium delivers it: each beep reaching WebAudio against the frame that shows
    // its second (logged; the benchmark goal is 40 ms). Asserted only to be measurable and sane.
    const offsets = await pages[0]!.evaluate(() => window.lancamAudio.avOffsets(6000));
    const sorted = [...offsets].sort((a, b) => a - b);
    console.log(`chromium A/V offset (ms, + = sound after picture): ${JSON.stringify(offsets)}, median ${sorted[sorted.length >> 1]}`);
    expect(offsets.length).toBeGreaterThanOrEqual(3);
    expect(Math.abs(sorted[sorted.length >> 1]!)).toBeLessThan(250);
    for (const page of pages) await page.evaluate(() => window.lancamAudio.stop());
    await expect.poll(() => device.stderr(), { timeout: 8000 }).toContain('audio: last viewer left');
    for (const page of pages) await page.close();
  }, 120_000);

  it('a viewer that refuses the audio still gets the video', async () => {
    const page = await viewer({ audio: false });
    const stats = await page.evaluate(() => window.lancamAudio.stats()!);
    expect(stats.frames).toBeGreaterThanOrEqual(20);
    expect(await page.evaluate(() => window.lancamAudio.videoCodec())).toBe('video/H264');
    const inbound = await page.evaluate(() => window.lancamAudio.audioInbound());
    expect(inbound?.packetsReceived ?? 0).toBe(0);
    const transceivers = await page.evaluate(() => window.lancamAudio.transceivers());
    console.log(`refusing viewer transceivers: ${JSON.stringify(transceivers)}`);
    expect(transceivers.find((t) => t.kind === 'audio')?.currentDirection ?? 'stopped').toMatch(/stopped|inactive/);
    await page.evaluate(() => window.lancamAudio.stop());
    await page.close();
  }, 60_000);
});
