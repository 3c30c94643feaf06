/**
 * "chromium": time to first frame in Chromium (the renderer's LiveVideo on Chromium's own
 * RTCPeerConnection, signaled through `lancam ui`'s bridge and the companion core), next to the
 * bare wrtc-to-wrtc baseline in the same run; and Chromium's glass-to-glass latency.
 *
 *   timeToFirstFrame  30 interleaved rounds (after 3 warm-ups), rotating which goes first:
 *                       chromium: in the page, from just before LiveVideo.start() to the first
 *                                 requestVideoFrameCallback on its <video> (performance.now());
 *                                 then stop, and wait until the device logs "last viewer left".
 *                       bare:     bareTimeToFirstFrame(640, 480, 30) from bench/video-peers.ts.
 *   glassToGlass      one Chromium viewer: 1 s settle, then 5 s of Date.now() at the frame callback
 *                     minus the capture time drawn into the pattern (every 2nd frame).
 *
 * Set-up (not timed) and network safety: bench/chromium-env.ts. Chromium, `lancam ui`, the CLI home
 * and the device all run in a network namespace with only `lo`; the bare pair runs in the bench
 * process on 127.0.0.1 host candidates only. Without namespaces (not root), the result is
 * `skipped: <reason>`.
 */
import type { Page } from 'playwright-core';
import type { ChromiumBenchWindow, ChromiumFirstFrame, ChromiumWatch } from './chromium-page-api';
import { chromiumUnavailable, startChromiumEnv, type ChromiumEnv } from './chromium-env';
import { fmtMs, ratio, sleep, stats, withTimeout, type BenchResult } from './lib';
import { bareTimeToFirstFrame, type BareRun } from './video-peers';

const WIDTH = 640;
const HEIGHT = 480;
const FPS = 30;
const ROUNDS = 30;
const WARMUP = 3;
const FIRST_FRAME_TIMEOUT_MS = 10_000;
/** A few failed runs are recorded, not fatal; more than this is. */
const MAX_FAILED_RUNS = 5;
const WATCH_SETTLE_MS = 1000;
const WATCH_WINDOW_MS = 5000;
const LAST_VIEWER_LEFT = /last viewer left/g;

const round1 = (x: number) => Math.round(x * 10) / 10;

function progress(message: string): void {
  process.stderr.write(`bench chromium: ${message}\n`);
}

function skipped(reason: string): BenchResult {
  progress(`skipped: ${reason}`);
  return { name: 'chromium', summary: `skipped: ${reason}`, results: { skipped: reason } };
}

const countLeft = (env: ChromiumEnv): number => env.device.stderr().match(LAST_VIEWER_LEFT)?.length ?? 0;

/** Resolves when the device has logged "last viewer left" more than `before` times (bounded). */
async function deviceSessionEnded(env: ChromiumEnv, before: number, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (countLeft(env) > before) return true;
    await sleep(10);
  }
  return false;
}

async function chromiumRun(env: ChromiumEnv, page: Page): Promise<ChromiumFirstFrame & { deviceEndedMs: number | null }> {
  const before = countLeft(env);
  const run = await withTimeout(
    page.evaluate(
      ([id, ms]) => (globalThis as unknown as ChromiumBenchWindow).lancamBench.firstFrame(id, ms),
      [env.device.deviceId, FIRST_FRAME_TIMEOUT_MS] as const,
    ),
    FIRST_FRAME_TIMEOUT_MS + 5000,
    'the page did not answer',
  );
  // Not timed as part of the run: the stop reaching the device, so the next run starts its capture afresh.
  const t = performance.now();
  const ended = await deviceSessionEnded(env, before, 5000);
  return { ...run, deviceEndedMs: ended ? round1(performance.now() - t) : null };
}

export async function run(): Promise<BenchResult> {
  const reason = await chromiumUnavailable();
  if (reason) return skipped(reason);

  const env = await startChromiumEnv({ width: WIDTH, height: HEIGHT, fps: FPS, progress });
  progress(`set-up ${JSON.stringify(env.setupMs)} (Chromium ${env.chromiumVersion ?? '?'})`);
  const page = await env.context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) pageErrors.push(message.text());
  });
  await page.goto(env.url);
  await withTimeout(page.evaluate(() => (globalThis as unknown as ChromiumBenchWindow).lancamBench.ready), 10_000, 'the page did not connect to lancam ui');
  const online = await withTimeout(
    (async () => {
      for (;;) {
        const devices = await page.evaluate(() => (globalThis as unknown as ChromiumBenchWindow).lancamBench.devices());
        const d = devices.find((x) => x.deviceId === env.device.deviceId);
        if (d?.paired && d.status === 'online') return d;
        await sleep(200);
      }
    })(),
    10_000,
    'the device is not listed as paired and online in the page',
  );
  progress(`page ready, device ${online.deviceId} ${online.status}`);

  // 1. Time to first frame, interleaved.
  const chromiumRuns: (ChromiumFirstFrame & { deviceEndedMs: number | null })[] = [];
  const bareRuns: BareRun[] = [];
  const failures: string[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
      if (failures.length > MAX_FAILED_RUNS) throw new Error(`too many failed runs:\n${failures.join('\n')}`, { cause: err });
      return undefined;
    }
  };
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const counted = i >= WARMUP;
    const doChromium = async () => {
      const r = await attempt(`chromium round ${i}`, () => chromiumRun(env, page));
      if (r && counted) chromiumRuns.push(r);
      await sleep(50);
    };
    const doBare = async () => {
      const r = await attempt(`bare round ${i}`, () => bareTimeToFirstFrame(WIDTH, HEIGHT, FPS));
      if (r && counted) bareRuns.push(r);
    };
    if (i % 2 === 0) {
      await doChromium();
      await doBare();
    } else {
      await doBare();
      await doChromium();
    }
    if ((i + 1) % 10 === 0) progress(`time to first frame: ${i + 1}/${WARMUP + ROUNDS} rounds`);
  }
  const nonNull = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);
  const chromiumFirst = stats(chromiumRuns.map((r) => r.firstFrame));
  const bareFirst = stats(bareRuns.map((r) => r.firstFrame));
  /** How often each value occurs (null/undefined counted as "none"). */
  const tally = (xs: (number | string | null | undefined)[]) => {
    const counts: Record<string, number> = {};
    for (const x of xs) counts[String(x ?? 'none')] = (counts[String(x ?? 'none')] ?? 0) + 1;
    return counts;
  };
  const timeToFirstFrame = {
    chromium: chromiumFirst,
    bare: bareFirst,
    ratio: { median: ratio(chromiumFirst.median, bareFirst.median), p95: ratio(chromiumFirst.p95, bareFirst.p95) },
    chromiumPhases: {
      sessionOpened: stats(chromiumRuns.map((r) => r.sessionOpened)),
      started: stats(chromiumRuns.map((r) => r.started)),
      connected: stats(nonNull(chromiumRuns.map((r) => r.connected))),
      firstFrameReceived: stats(nonNull(chromiumRuns.map((r) => r.received))),
      firstFramePresented: stats(nonNull(chromiumRuns.map((r) => r.presented))),
    },
    barePhases: { connected: stats(bareRuns.map((r) => r.connected)) },
    chromiumFirstFrameNumber: tally(chromiumRuns.map((r) => r.firstFrameNumber)),
    bareFirstFrameNumber: tally(bareRuns.map((r) => r.firstFrameNumber)),
    chromiumFirstFrameSizes: tally(chromiumRuns.map((r) => `${r.width}x${r.height}`)),
    stopToDeviceEnded: stats(nonNull(chromiumRuns.map((r) => r.deviceEndedMs))),
    deviceEndNotSeen: chromiumRuns.filter((r) => r.deviceEndedMs === null).length,
    closedReasons: tally(chromiumRuns.map((r) => r.closedReason)),
    failures,
    chromiumSamples: chromiumRuns.map((r) => round1(r.firstFrame)),
    bareSamples: bareRuns.map((r) => round1(r.firstFrame)),
  };
  progress(`first frame chromium median ${fmtMs(chromiumFirst.median)} ms, bare median ${fmtMs(bareFirst.median)} ms`);

  // 2. Glass-to-glass in Chromium.
  const before = countLeft(env);
  const watched: ChromiumWatch = await withTimeout(
    page.evaluate(
      ([id, settle, window]) => (globalThis as unknown as ChromiumBenchWindow).lancamBench.watch(id, settle, window),
      [env.device.deviceId, WATCH_SETTLE_MS, WATCH_WINDOW_MS] as const,
    ),
    WATCH_SETTLE_MS + WATCH_WINDOW_MS + 15_000,
    'the page did not finish watching',
  );
  await deviceSessionEnded(env, before, 5000);
  const glassToGlass = {
    presented: stats(watched.presentedLatencyMs),
    received: stats(watched.receivedLatencyMs),
    liveVideoStats: stats(watched.liveVideoLatencyMs),
    fps: round1((watched.frames / watched.windowMs) * 1000),
    liveVideo: watched.stats,
    codec: watched.codec,
  };

  await page.close();
  const deviceOddities = env.device.stderr().split('\n').filter((l) => /warn|error|refus|fail/i.test(l)).slice(0, 20);
  const g = glassToGlass.presented;
  const summary =
    `first frame chromium median ${fmtMs(chromiumFirst.median)} p95 ${fmtMs(chromiumFirst.p95)} ms; ` +
    `bare wrtc median ${fmtMs(bareFirst.median)} p95 ${fmtMs(bareFirst.p95)} ms; ` +
    `ratio ${timeToFirstFrame.ratio.median}x/${timeToFirstFrame.ratio.p95}x; ` +
    `chromium glass-to-glass median ${fmtMs(g.median)} p95 ${fmtMs(g.p95)} ms (n ${g.n}, ${glassToGlass.fps} fps)` +
    (failures.length > 0 ? `; ${failures.length} failed run(s)` : '');
  return {
    name: 'chromium',
    summary,
    results: {
      size: `${WIDTH}x${HEIGHT}@${FPS}`,
      rounds: ROUNDS,
      warmups: WARMUP,
      chromiumVersion: env.chromiumVersion,
      setupMs: env.setupMs,
      timeToFirstFrame,
      glassToGlass,
      pageErrors: pageErrors.slice(0, 20),
      deviceOddities,
    },
  };
}
