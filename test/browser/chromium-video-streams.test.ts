/**
 * Main and sub streams, fast first frame and congestion control on the h264 stack, with real
 * processes: Debian's Chromium in network namespaces this test creates, `lancam ui` as its bridge,
 * `lancam-device --video-stack h264`, and GStreamer's RTSP server as a camera with two mounts
 * (main 1280x720, sub 640x360, 2 s GOP). What Chromium's own stats say is what is asserted:
 * frameWidth/Height for the stream received, keyFramesDecoded for the camera's IDRs,
 * jitterBufferDelay for the latency a viewer carries.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromiumInNetns } from '../helpers/chromium';
import { createNetns, netnsUnavailable, type Netns } from '../helpers/netns';
import { cleanupAll, onCleanup, REPO, runCli, startDevice, startUi, tempDir, type DeviceProcess } from '../helpers/processes';
import { startRtspCamera } from '../helpers/rtsp-camera';
import { link } from '../helpers/topology';

const run = promisify(execFile);
const unavailable = await netnsUnavailable();
const CAMERA_SIDE = '10.203.1.1';
const WEAK_SIDE = '10.203.1.2';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

type Inbound = NonNullable<Awaited<ReturnType<Window['lancamTest']['inbound']>>>;

async function inbound(page: Page): Promise<Inbound> {
  const stats = await page.evaluate(() => window.lancamTest.inbound());
  if (!stats) throw new Error('no inbound video yet');
  return stats;
}

/** Waits for pictures of this width (and the height of 16:9) in Chromium's stats. */
async function waitForSize(page: Page, width: number, timeoutMs = 30_000): Promise<Inbound> {
  const height = (width * 9) / 16;
  const until = performance.now() + timeoutMs;
  let last: Inbound | undefined;
  while (performance.now() < until) {
    last = await page.evaluate(() => window.lancamTest.inbound());
    if (last?.frameWidth === width && last.frameHeight === height) return last;
    await sleep(100);
  }
  throw new Error(`no ${width}x${height} pictures within ${timeoutMs} ms; last stats ${JSON.stringify(last)}`);
}

/** Mean jitter buffer delay (ms) over the next `ms`, from Chromium's cumulative counters. */
async function jitterBufferMs(page: Page, ms: number): Promise<number> {
  const a = await inbound(page);
  await sleep(ms);
  const b = await inbound(page);
  return ((b.jitterBufferDelay - a.jitterBufferDelay) / Math.max(1, b.jitterBufferEmittedCount - a.jitterBufferEmittedCount)) * 1000;
}

async function buildSite(): Promise<string> {
  const site = await tempDir('lancam-ui-site-');
  await build({ entryPoints: [path.join(REPO, 'test/browser/video-page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'chrome120', outfile: path.join(site, 'app.js'), logLevel: 'error' });
  await writeFile(path.join(site, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>lancam streams test</title><script type="module" src="/app.js"></script></head><body><video muted playsinline width="320" height="180"></video></body></html>');
  return site;
}

async function browserIn(ns: Netns): Promise<BrowserContext> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'lancam-profile-'));
  onCleanup(() => rm(profile, { recursive: true, force: true }));
  const context = await launchChromiumInNetns(ns.wrap, { binDir: await tempDir('lancam-chromium-'), profileDir: profile }, { viewport: { width: 1600, height: 1000 } });
  onCleanup(() => context.close());
  return context;
}

describe.skipIf(unavailable !== undefined)(`main/sub streams, first frame and congestion in Chromium${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let ns: Netns;
  let weakNs: Netns;
  let weakDevice: string;
  let pattern: DeviceProcess;
  let camera: DeviceProcess;
  let noCache: DeviceProcess;
  let context: BrowserContext;
  let url: string;
  const pages: Page[] = [];

  async function open(deviceId: string, stream?: 'main' | 'sub', ctx = context, at = url): Promise<Page> {
    const page = await ctx.newPage();
    pages.push(page);
    await page.goto(at);
    await page.evaluate(() => window.lancamTest.ready);
    await page.evaluate(([id, s]) => window.lancamTest.start(id!, s as 'main' | 'sub' | undefined), [deviceId, stream] as const);
    await page.waitForFunction(() => (window.lancamTest.stats()?.frames ?? 0) >= 5, undefined, { timeout: 30_000, polling: 100 });
    return page;
  }

  async function closeAll(): Promise<void> {
    for (const page of pages.splice(0)) {
      await page.evaluate(() => window.lancamTest.stop()).catch(() => undefined);
      await page.close().catch(() => undefined);
    }
  }

  beforeAll(async () => {
    ns = await createNetns();
    weakNs = await createNetns();
    ({ aDevice: weakDevice } = await link(ns, CAMERA_SIDE, weakNs, WEAK_SIDE));
    const rtsp = await startRtspCamera({ width: 1280, height: 720, fps: 30, gopSeconds: 2, sub: { width: 640, height: 360 }, wrap: ns.wrap });
    const ice = ['--ice-address', '127.0.0.1', '--ice-address', CAMERA_SIDE];
    const h264 = ['--video-stack', 'h264', '--fps', '30', ...ice];
    pattern = await startDevice({ wrap: ns.wrap, name: 'Pattern', host: '0.0.0.0', args: [...h264, '--size', '1280x720', '--pairing-settle', '0.3'] });
    camera = await startDevice({ wrap: ns.wrap, name: 'RTSP', host: '0.0.0.0', args: [...h264, '--source', rtsp.main, '--sub-source', rtsp.sub, '--pairing-settle', '0.3'] });
    noCache = await startDevice({ wrap: ns.wrap, name: 'RTSP no cache', host: '0.0.0.0', args: [...h264, '--source', rtsp.main, '--gop-cache', '0'] });
    const home = await tempDir('lancam-ui-home-');
    for (const device of [pattern, camera, noCache]) {
      const paired = await runCli(['pair', '--address', `127.0.0.1:${device.port}`], { home, wrap: ns.wrap });
      expect(paired.code, paired.stderr).toBe(0);
    }
    const site = await buildSite();
    ({ url } = await startUi(home, site, ns.wrap));
    context = await browserIn(ns);
  }, 120_000);

  afterAll(async () => {
    await closeAll();
    await cleanupAll();
  });

  it('switches a running session between the pattern\'s main and sub encode on the same track', async () => {
    const page = await open(pattern.deviceId, 'sub');
    const sub = await waitForSize(page, 640);
    expect([sub.mimeType, sub.frameWidth, sub.frameHeight]).toEqual(['video/H264', 640, 360]);
    await page.evaluate(() => window.lancamTest.selectStream('main'));
    const main = await waitForSize(page, 1280);
    expect(main.frameHeight).toBe(720);
    await page.evaluate(() => window.lancamTest.selectStream('sub'));
    await waitForSize(page, 640);
    // One peer connection, one SSRC throughout: no renegotiation, no new session.
    const after = await inbound(page);
    expect(after.ssrc).toBe(sub.ssrc);
    expect(await page.evaluate(() => window.lancamTest.peerCount())).toBe(1);
    expect(pattern.stderr().match(/video: session \S+ for .* started/g)).toHaveLength(1);
    console.log(`pattern switch: sub ${JSON.stringify(sub)} main ${JSON.stringify(main)}`);
    // The sub encode stops once nobody watches it... (main is still watched by nobody either after close)
    await closeAll();
    await expect.poll(() => pattern.stderr(), { timeout: 10_000 }).toContain('last viewer left');
  }, 120_000);

  it('a small element gets the sub stream, a large or full-screen one the main stream (the desktop tile\'s rule)', async () => {
    const page = await context.newPage();
    pages.push(page);
    await page.goto(url);
    await page.evaluate(() => window.lancamTest.ready);
    await page.evaluate((id) => window.lancamTest.startAuto(id), camera.deviceId);
    const small = await waitForSize(page, 640);
    expect(small.frameHeight).toBe(360);
    // The tile grows (1280 CSS pixels wide): main.
    await page.evaluate(() => {
      const v = document.querySelector('video')!;
      v.width = 1280;
      v.height = 720;
    });
    const large = await waitForSize(page, 1280);
    expect(large.frameHeight).toBe(720);
    await page.evaluate(() => {
      const v = document.querySelector('video')!;
      v.width = 320;
      v.height = 180;
    });
    await waitForSize(page, 640);
    // Full screen, although the element is small: main; and back.
    const full = await page.evaluate(() => document.querySelector('video')!.requestFullscreen().then(() => true, () => false));
    if (full) {
      await waitForSize(page, 1280);
      await page.evaluate(() => document.exitFullscreen());
      await waitForSize(page, 640);
    }
    const choices = await page.evaluate(() => window.lancamTest.autoChoices());
    console.log(`tile choices: ${choices.join(' → ')} (full screen ${full ? 'tried' : 'not available'})`);
    expect(choices.slice(0, 3)).toEqual(['sub', 'main', 'sub']);
    await closeAll();
  }, 120_000);

  it('a viewer joining a running passed-through camera sees a picture before the camera\'s next IDR, without carrying the cache\'s age', async () => {
    // A watcher sees every camera IDR (keyFramesDecoded); joins start right after one. Both
    // devices keep a viewer, so their ffmpeg stays connected: GStreamer's RTSP server makes an
    // extra IDR whenever a client connects, which would otherwise land inside the measurement.
    const watcher = await open(camera.deviceId, 'main');
    await open(noCache.deviceId, 'main');
    await sleep(3000);
    const joins: { firstFrameMs: number; nextIdrMs: number; beforeNextIdr: boolean }[] = [];
    const control: { firstFrameMs: number; nextIdrMs: number }[] = [];
    for (let i = 0; i < 6; i++) {
      const useCache = i % 2 === 0;
      const page = await context.newPage();
      pages.push(page);
      await page.goto(url);
      await page.evaluate(() => window.lancamTest.ready);
      const keys = (await watcher.evaluate(() => window.lancamTest.timeline())).keyframesAt.length;
      await watcher.waitForFunction((n) => window.lancamTest.timeline().keyframesAt.length > n, keys, { timeout: 10_000, polling: 20 });
      const idrAt = (await watcher.evaluate(() => window.lancamTest.timeline())).keyframesAt.at(-1)!;
      const startedAt = await page.evaluate((id) => {
        const t = Date.now();
        void window.lancamTest.start(id);
        return t;
      }, (useCache ? camera : noCache).deviceId);
      await page.waitForFunction(() => window.lancamTest.timeline().firstFrameAt !== undefined, undefined, { timeout: 15_000, polling: 20 });
      const firstAt = (await page.evaluate(() => window.lancamTest.timeline())).firstFrameAt!;
      // The camera's next IDR, as the watcher saw it.
      // (Keyframes within 300 ms of each other count as one IDR: the watcher polls its stats.)
      await watcher.waitForFunction((t) => window.lancamTest.timeline().keyframesAt.some((k) => k > t + 300), idrAt, { timeout: 10_000, polling: 20 });
      const nextIdr = (await watcher.evaluate(() => window.lancamTest.timeline())).keyframesAt.find((k) => k > idrAt + 300)!;
      if (useCache) joins.push({ firstFrameMs: firstAt - startedAt, nextIdrMs: nextIdr - startedAt, beforeNextIdr: firstAt < nextIdr });
      else control.push({ firstFrameMs: firstAt - startedAt, nextIdrMs: nextIdr - startedAt });
      await page.evaluate(() => window.lancamTest.stop());
      await page.close();
      pages.splice(pages.indexOf(page), 1);
    }
    console.log(`first frame with the GOP cache (ms after start; the camera's next IDR): ${JSON.stringify(joins)}, median ${median(joins.map((j) => j.firstFrameMs))} ms`);
    console.log(`first frame without (--gop-cache 0): ${JSON.stringify(control)}, median ${median(control.map((j) => j.firstFrameMs))} ms`);
    const keyframes = (await watcher.evaluate(() => window.lancamTest.timeline())).keyframesAt;
    console.log(`the watcher's keyframes, ms apart: ${keyframes.slice(1).map((k, i) => k - keyframes[i]!).join(' ')}`);
    for (const join of joins) expect(join.beforeNextIdr, JSON.stringify(joins)).toBe(true);
    expect(camera.stderr()).toMatch(/started with \d+ cached picture\(s\) of the current GOP/);
    expect(noCache.stderr()).not.toMatch(/cached picture/);

    // A join late in the GOP (about 1.5 s of cached pictures): 5 s later its jitter buffer holds
    // no more than the watcher's plus a little, not the cache's age.
    const late = await context.newPage();
    pages.push(late);
    await late.goto(url);
    await late.evaluate(() => window.lancamTest.ready);
    const keys = (await watcher.evaluate(() => window.lancamTest.timeline())).keyframesAt.length;
    await watcher.waitForFunction((n) => window.lancamTest.timeline().keyframesAt.length > n, keys, { timeout: 10_000, polling: 20 });
    await sleep(1300);
    await late.evaluate((id) => window.lancamTest.start(id), camera.deviceId);
    await late.waitForFunction(() => window.lancamTest.timeline().firstFrameAt !== undefined, undefined, { timeout: 15_000, polling: 50 });
    const burst = /started with (\d+) cached picture\(s\)/g;
    const bursts = [...camera.stderr().matchAll(burst)].map((m) => Number(m[1]));
    const firstSecond = await jitterBufferMs(late, 1500);
    await sleep(3500);
    const [lateDelay, watcherDelay] = await Promise.all([jitterBufferMs(late, 3000), jitterBufferMs(watcher, 3000)]);
    const cachedMs = (bursts.at(-1)! / 30) * 1000;
    console.log(`late join: ${bursts.at(-1)} cached pictures (${Math.round(cachedMs)} ms of video); jitter buffer in its first 1.5 s ${firstSecond.toFixed(0)} ms, 5-8 s later ${lateDelay.toFixed(0)} ms, the watcher's ${watcherDelay.toFixed(0)} ms`);
    expect(cachedMs).toBeGreaterThan(800);
    // Carrying the cache's age would put ~cachedMs in the jitter buffer.
    expect(lateDelay).toBeLessThan(cachedMs / 2);
    await closeAll();
  }, 180_000);

  /** The weak viewer's side: its own namespace, `lancam ui` and Chromium, paired with both devices as user "weak". */
  let weakSide: Promise<{ context: BrowserContext; url: string }> | undefined;
  function weakViewer(): Promise<{ context: BrowserContext; url: string }> {
    weakSide ??= (async () => {
      const home = await tempDir('lancam-ui-home-');
      for (const device of [camera, pattern]) {
        // A second user, paired by local open pairing (the camera's button: `lancam-device pair-window`).
        await run(process.execPath, [path.join(REPO, 'bin/lancam-device'), 'pair-window', '--state-dir', device.stateDir, '--seconds', '60']);
        const paired = await runCli(['pair', '--address', `${CAMERA_SIDE}:${device.port}`, '--mode', 'local-open', '--username', 'weak'], { home, wrap: weakNs.wrap, timeoutMs: 30_000 });
        expect(paired.code, paired.stderr).toBe(0);
      }
      const { url: weakUrl } = await startUi(home, await buildSite(), weakNs.wrap);
      return { context: await browserIn(weakNs), url: weakUrl };
    })();
    return weakSide;
  }

  /**
   * A good viewer (the camera's own namespace) and a weak one (across the veth pair) watch
   * `device`'s main stream; `impair` degrades the veth pair's camera end and returns the undo.
   * The weak viewer must move to sub and back after the undo; the good one stays on main.
   */
  async function congestion(device: DeviceProcess, what: string, impair: () => Promise<() => Promise<void>>): Promise<void> {
    const side = await weakViewer();
    const good = await open(device.deviceId, 'main');
    const weak = await open(device.deviceId, 'main', side.context, side.url);
    await waitForSize(weak, 1280);
    const goodSizes = new Set<number>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        goodSizes.add((await inbound(good)).frameWidth);
        await sleep(250);
      }
    })();
    const undo = await impair();
    const impairedAt = performance.now();
    const onSub = await waitForSize(weak, 640, 40_000);
    const toSubMs = performance.now() - impairedAt;
    await sleep(3000);
    await undo();
    const liftedAt = performance.now();
    const back = await waitForSize(weak, 1280, 90_000);
    const toMainMs = performance.now() - liftedAt;
    polling = false;
    await poller;
    const log = device.stderr().split('\n').filter((l) => /weak link|link recovered|now sending/.test(l));
    console.log(`congestion (${what}): to sub ${Math.round(toSubMs)} ms after it began (${JSON.stringify(onSub)}), back to main ${Math.round(toMainMs)} ms after it ended (${JSON.stringify(back)}); good viewer widths ${[...goodSizes].join(',')}\n${log.join('\n')}`);
    expect(onSub.frameHeight).toBe(360);
    expect(back.frameHeight).toBe(720);
    expect([...goodSizes]).toEqual([1280]);
    expect(log.filter((l) => /weak link/.test(l)).length).toBeGreaterThanOrEqual(1);
    await closeAll();
  }

  it('a viewer on a lossy link moves to the camera\'s sub stream and back when the loss ends; a good viewer stays on main', async () => {
    // 25 % of the UDP packets the camera's namespace sends to the weak viewer are dropped
    // (nftables; this kernel has no netem).
    await congestion(camera, 'RTSP passthrough, 25 % loss', async () => {
      const nft = (args: string[]) => run('ip', ['netns', 'exec', ns.name, '/usr/sbin/nft', ...args]);
      await nft(['add', 'table', 'inet', 'lossy']);
      onCleanup(async () => void (await nft(['delete', 'table', 'inet', 'lossy']).catch(() => undefined)));
      await nft(['add', 'chain', 'inet', 'lossy', 'out', '{ type filter hook output priority 0; }']);
      await nft(['add', 'rule', 'inet', 'lossy', 'out', 'oifname', weakDevice, 'meta', 'l4proto', 'udp', 'numgen', 'random', 'mod', '100', '<', '25', 'drop']);
      return async () => void (await nft(['delete', 'table', 'inet', 'lossy']));
    });
  }, 240_000);

  it('a viewer behind a 1.2 Mbit/s link moves to the pattern\'s own sub encode and back when the limit is lifted', async () => {
    // The pattern's main encode is ~2.8 Mbit/s, its sub ~0.7: a token bucket on the veth pair's
    // camera end lets 1.2 Mbit/s through (tc tbf) and drops the rest.
    await congestion(pattern, 'pattern, 1.2 Mbit/s', async () => {
      const tc = (args: string[]) => run('ip', ['netns', 'exec', ns.name, '/sbin/tc', ...args]);
      await tc(['qdisc', 'add', 'dev', weakDevice, 'root', 'tbf', 'rate', '1200kbit', 'burst', '32kbit', 'latency', '100ms']);
      onCleanup(async () => void (await tc(['qdisc', 'del', 'dev', weakDevice, 'root']).catch(() => undefined)));
      return async () => void (await tc(['qdisc', 'del', 'dev', weakDevice, 'root']));
    });
  }, 240_000);
});
