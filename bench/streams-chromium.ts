/**
 * "streams-chromium": issue 11's browser numbers, in Debian's Chromium inside the benchmark's
 * network namespace, lancam and Janus in the same run.
 *
 *   firstFrame     joins to RUNNING 1920x1080@30 sources (each kept running by a node-datachannel
 *                  viewer that stays connected, so a join never starts the source), interleaved and
 *                  rotating which goes first, each join after a different delay (spread over the 2 s
 *                  GOP so the joins land at different points of it):
 *                    lancamCamera:  the RTSP camera (2 s GOP) passed through by lancam-device; the
 *                                   renderer's LiveVideo through `lancam ui` (bench page), from
 *                                   just before LiveVideo.start() to the first
 *                                   requestVideoFrameCallback.
 *                    janusCamera:   the same camera through Janus's streaming plugin; the page drives
 *                                   Janus's HTTP API itself (create, attach, watch, answer after ICE
 *                                   gathering, start), from before `create` to the first
 *                                   requestVideoFrameCallback.
 *                    lancamPattern: the test pattern at 1920x1080 encoded by lancam (keyframe on join).
 *   glassToGlass   one Chromium viewer of the 1080p pattern: Date.now() at the frame callback minus the
 *                  capture time drawn into the pattern's pixels (bench page's watch()).
 *   avOffset       the 1080p pattern with its tone (a 1 kHz beep for the first 100 ms of every second of
 *                  the clock the pixels carry): in the page, each beep's onset as the received audio
 *                  track reaches WebAudio (its output time) against the display time of the frame that
 *                  shows that whole second (test/browser/av-offset-probe.ts, shared with
 *                  test/browser/chromium-audio.test.ts); and, second figure, `lancam watch --json`'s
 *                  audio.avOffsetMs for the same pattern in the same run.
 *
 * Set-up and network safety: bench/streams-env.ts (namespace, camera, Janus) and bench/chromium-env.ts
 * (devices, pairing, lancam ui, Chromium). LANCAM_BENCH_QUICK=1: 3 joins each, 3 s of glass-to-glass.
 */
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import type { ChromiumAvOffset, ChromiumBenchWindow, ChromiumFirstFrame } from './chromium-page-api';
import { chromiumUnavailable, startChromiumEnv } from './chromium-env';
import { LOOPBACK, REPO, fmtMs, ratio, sleep, spawnNode, stats, withTimeout, type BenchResult, type Stats } from './lib';
import { QUICK, startCamera, startJanus, startNamespace, startViewers, streamsUnavailable } from './streams-env';

const WIDTH = 1920;
const HEIGHT = 1080;
const FPS = 30;
const GOP_S = 2;
const ROUNDS = QUICK ? 3 : 10;
const WARMUP = 1;
const FIRST_FRAME_TIMEOUT_MS = 10_000;
const WATCH_SETTLE_MS = 1000;
const WATCH_WINDOW_MS = QUICK ? 3000 : 6000;
const MAX_FAILED = 6;
const AV_SETTLE_MS = QUICK ? 1500 : 4000;
const AV_WINDOW_MS = QUICK ? 5000 : 12_000;
const CLI_WATCH_SECONDS = QUICK ? 5 : 12;
const VIEWER_LIMITS = ['--max-viewers', '20', '--max-viewers-per-user', '20'];

function progress(message: string): void {
  process.stderr.write(`bench streams-chromium: ${message}\n`);
}

/** Janus's streaming plugin as a browser client would use it, in the page (fetch to Janus's HTTP API). */
const JANUS_PAGE_SCRIPT = `
window.janusFirstFrame = async (api, mountpoint, timeoutMs) => {
  const tx = () => Math.random().toString(36).slice(2);
  const call = async (url, body) => {
    const r = await fetch(url, { method: 'POST', body: JSON.stringify({ ...body, transaction: tx() }) });
    const j = await r.json();
    if (j.janus === 'error') throw new Error('janus: ' + JSON.stringify(j.error));
    return j;
  };
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true; video.width = 640;
  document.body.appendChild(video);
  const t0 = performance.now();
  const s = await call(api, { janus: 'create' });
  const su = api + '/' + s.data.id;
  const h = await call(su, { janus: 'attach', plugin: 'janus.plugin.streaming' });
  const hu = su + '/' + h.data.id;
  let polling = true;
  const offer = new Promise((resolve, reject) => {
    (async () => {
      while (polling) {
        try {
          const r = await fetch(su + '?maxev=5&rid=' + Date.now());
          const ev = await r.json();
          for (const e of (Array.isArray(ev) ? ev : [ev])) {
            if (e.jsep && e.jsep.type === 'offer') resolve(e.jsep.sdp);
            const d = e.plugindata && e.plugindata.data;
            if (d && d.error) reject(new Error('janus: ' + d.error));
          }
        } catch (err) { if (polling) reject(err); return; }
      }
    })();
  });
  let pc;
  try {
    await call(hu, { janus: 'message', body: { request: 'watch', id: mountpoint } });
    const sdp = await offer;
    const offered = performance.now() - t0;
    pc = new RTCPeerConnection({ iceServers: [] });
    let connected = null;
    pc.onconnectionstatechange = () => { if (pc.connectionState === 'connected' && connected === null) connected = performance.now() - t0; };
    const first = new Promise((resolve) => {
      pc.ontrack = (e) => {
        video.srcObject = new MediaStream([e.track]);
        video.requestVideoFrameCallback((now, md) => resolve({ at: performance.now(), md }));
      };
    });
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await new Promise((r) => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
    });
    const gathered = performance.now() - t0;
    await call(hu, { janus: 'message', body: { request: 'start' }, jsep: { type: 'answer', sdp: pc.localDescription.sdp } });
    const f = await Promise.race([first, new Promise((_, rej) => setTimeout(() => rej(new Error('no frame from Janus')), timeoutMs))]);
    return { firstFrame: f.at - t0, offered, gathered, connected, width: f.md.width, height: f.md.height, received: f.md.receiveTime ? f.md.receiveTime - t0 : null };
  } finally {
    polling = false;
    if (pc) pc.close();
    video.remove();
    await call(su, { janus: 'destroy' }).catch(() => undefined);
  }
};
`;

const PC_RECORDER = `{
  const Original = window.RTCPeerConnection;
  window.__benchPcs = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); window.__benchPcs.push(this); }
  };
}`;

/** Inbound video statistics of the page's newest peer connection. */
const INBOUND_STATS = `(async () => {
  const pc = window.__benchPcs[window.__benchPcs.length - 1];
  if (!pc) return null;
  let out = null;
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') out = { framesReceived: s.framesReceived, framesDecoded: s.framesDecoded, framesDropped: s.framesDropped, keyFramesDecoded: s.keyFramesDecoded, packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, nackCount: s.nackCount, pliCount: s.pliCount, firCount: s.firCount, freezeCount: s.freezeCount, totalDecodeTime: s.totalDecodeTime, decoderImplementation: s.decoderImplementation, frameWidth: s.frameWidth };
  });
  return out;
})()`;

/**
 * Glass-to-glass without the full-size read-back: on each frame the <video> presents, only the
 * pattern's strip rows (patternLayout().stripBottom, ~3 % of a 1080p picture) are drawn into a
 * canvas and decoded with the pattern's own decoder (bundled from src/shared/video). The bench
 * page's watch() reads the whole 1920x1080 picture every 2nd frame, which on this machine held
 * Chromium to ~1 presented frame/s at 1080p while it decoded 30.
 */
const G2G_PROBE = `
window.__g2g = { samples: [], frames: 0, running: false };
window.__g2gStart = () => {
  const videos = document.querySelectorAll('video');
  const video = videos[videos.length - 1];
  if (!video) return false;
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const st = window.__g2g;
  st.samples = []; st.frames = 0; st.running = true; st.undecoded = 0;
  const P = window.__lancamPattern;
  const onFrame = (now, md) => {
    if (!st.running) return;
    const at = Date.now();
    st.frames++;
    const w = video.videoWidth, h = video.videoHeight;
    if (w && h) {
      const bottom = Math.min(h, Math.ceil(P.patternLayout(w, h).stripBottom));
      if (canvas.width !== w || canvas.height !== bottom) { canvas.width = w; canvas.height = bottom; }
      ctx.drawImage(video, 0, 0, w, bottom, 0, 0, w, bottom);
      const stamp = P.decodePatternStrip(P.rgbaLumaSampler(ctx.getImageData(0, 0, w, bottom).data, w, bottom), w, h);
      if (stamp) st.samples.push({ presented: at - stamp.captureTimeMs, received: md.receiveTime !== undefined ? performance.timeOrigin + md.receiveTime - stamp.captureTimeMs : null });
      else st.undecoded++;
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  return true;
};
window.__g2gStop = () => { window.__g2g.running = false; return window.__g2g; };
`;

async function patternDecoderScript(): Promise<string> {
  const bundle = await build({
    stdin: {
      contents: "import { decodePatternStrip, patternLayout } from './src/shared/video/test-pattern'; import { rgbaLumaSampler } from './src/shared/video/i420'; window.__lancamPattern = { decodePatternStrip, patternLayout, rgbaLumaSampler };",
      resolveDir: REPO,
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'error',
    absWorkingDir: path.resolve(REPO),
  });
  return bundle.outputFiles[0]!.text;
}

interface JanusFirstFrame {
  firstFrame: number;
  offered: number;
  gathered: number;
  connected: number | null;
  width: number;
  height: number;
  received: number | null;
}

/** `lancam watch --json` (the CLI viewer, inside the namespace) for `seconds`: its parsed result. */
async function cliWatch(wrap: string[], home: string, port: number, seconds: number, stream: 'main' | 'sub'): Promise<Record<string, unknown>> {
  const child = spawnNode(`lancam watch --stream ${stream} (netns)`, [path.join(REPO, 'bin/lancam'), '--home', home, '--mdns-interface', LOOPBACK, '--ice-address', LOOPBACK, '--json', 'watch', '--address', `${LOOPBACK}:${port}`, '--seconds', String(seconds), '--stream', stream], { wrap });
  const code = await withTimeout(new Promise<number | null>((resolve) => child.process.once('exit', (c) => resolve(c))), (seconds + 30) * 1000, 'lancam watch did not finish');
  if (code !== 0) throw new Error(`lancam watch failed (${code}): ${child.stdout().slice(-500)}${child.stderr().slice(-1000)}`);
  return JSON.parse(child.stdout()) as Record<string, unknown>;
}

function skipped(reason: string): BenchResult {
  progress(`skipped: ${reason}`);
  return { name: 'streams-chromium', summary: `skipped: ${reason}`, results: { skipped: reason } };
}

export async function run(): Promise<BenchResult> {
  const reason = (await streamsUnavailable()) ?? (await chromiumUnavailable());
  if (reason) return skipped(reason);
  const loadavgAtStart = os.loadavg();

  const ns = await startNamespace();
  const camera = await startCamera(ns, WIDTH, HEIGHT, FPS, GOP_S);
  const janus = await startJanus(ns, camera.url);
  const env = await startChromiumEnv({
    width: WIDTH,
    height: HEIGHT,
    fps: FPS,
    progress,
    ns,
    deviceArgs: ['--video-stack', 'h264', ...VIEWER_LIMITS],
    extraDevices: [{ name: 'Bench RTSP Cam', args: ['--video-stack', 'h264', '--source', camera.url, '--fps', String(FPS), ...VIEWER_LIMITS] }],
  });
  const pattern = env.device;
  const rtsp = env.extraDevices[0]!;
  progress(`set-up ${JSON.stringify(env.setupMs)} (Chromium ${env.chromiumVersion ?? '?'})`);

  // Keep both lancam sources running: one node-datachannel viewer each (no decoding), with the CLI home.
  for (const [label, device] of [['pattern', pattern], ['camera', rtsp]] as const) {
    const keeper = await startViewers(ns, `keep ${label} running`, ['lancam', LOOPBACK, String(device.port), env.home]);
    await keeper.add(`keep-${label}`);
    const until = performance.now() + 20_000;
    for (;;) {
      const s = await keeper.stats();
      if ((s[`keep-${label}`]?.frames ?? 0) > 0) break;
      if (performance.now() > until) throw new Error(`the ${label} source did not start: ${device.stderr().slice(-1500)}\ncamera (exit ${camera.child.process.exitCode ?? camera.child.process.signalCode ?? "running"}): ${camera.child.stderr().slice(-1500)}`);
    }
  }

  const lancamPage = await env.context.newPage();
  const janusPage = await env.context.newPage();
  const pageErrors: string[] = [];
  for (const page of [lancamPage, janusPage]) page.on('pageerror', (err) => pageErrors.push(err.message));
  // Every RTCPeerConnection the page makes is kept in a list (the bench page extends this class),
  // so its inbound statistics can be read while the glass-to-glass window runs.
  await lancamPage.addInitScript(PC_RECORDER);
  await lancamPage.addInitScript(await patternDecoderScript());
  await lancamPage.addInitScript(G2G_PROBE);
  await lancamPage.goto(env.url);
  await withTimeout(lancamPage.evaluate(() => (globalThis as unknown as ChromiumBenchWindow).lancamBench.ready), 10_000, 'the page did not connect to lancam ui');
  await withTimeout(
    (async () => {
      for (;;) {
        const devices = await lancamPage.evaluate(() => (globalThis as unknown as ChromiumBenchWindow).lancamBench.devices());
        const online = (id: string) => devices.some((d) => d.deviceId === id && d.paired && d.status === 'online');
        if (online(pattern.deviceId) && online(rtsp.deviceId)) return;
        await sleep(200);
      }
    })(),
    15_000,
    'the devices are not listed as paired and online in the page',
  );
  // The Janus client page is served (by Playwright, never over the network) on Janus's own origin,
  // as a web app next to Janus would be, so its API calls are same-origin.
  const janusOrigin = new URL(janus.api).origin;
  await janusPage.route(`${janusOrigin}/bench.html`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><html><head><meta charset="utf-8"><title>Janus client</title></head><body></body></html>' }));
  await janusPage.goto(`${janusOrigin}/bench.html`);
  await janusPage.addScriptTag({ content: JANUS_PAGE_SCRIPT });

  // Two pages (tabs) in one browser: the one not in front is a background tab, whose frame
  // callbacks Chromium throttles to about one a second. Each measurement brings its page to the
  // front first (not timed).
  const lancamJoin = async (page: Page, deviceId: string): Promise<ChromiumFirstFrame> =>
    withTimeout(
      (await page.bringToFront(), page).evaluate(([id, ms]) => (globalThis as unknown as ChromiumBenchWindow).lancamBench.firstFrame(id, ms), [deviceId, FIRST_FRAME_TIMEOUT_MS] as const),
      FIRST_FRAME_TIMEOUT_MS + 5000,
      'the page did not answer',
    );
  const janusJoin = async (): Promise<JanusFirstFrame> =>
    withTimeout(
      (await janusPage.bringToFront(), janusPage).evaluate(
        ([api, ms]) => (globalThis as unknown as { janusFirstFrame(api: string, id: number, ms: number): Promise<JanusFirstFrame> }).janusFirstFrame(api, 1, ms),
        [janus.api, FIRST_FRAME_TIMEOUT_MS] as const,
      ),
      FIRST_FRAME_TIMEOUT_MS + 5000,
      'the Janus page did not answer',
    );

  const runs: { lancamCamera: ChromiumFirstFrame[]; janusCamera: JanusFirstFrame[]; lancamPattern: ChromiumFirstFrame[] } = { lancamCamera: [], janusCamera: [], lancamPattern: [] };
  const failures: string[] = [];
  const kinds = [
    { key: 'lancamCamera', go: () => lancamJoin(lancamPage, rtsp.deviceId) },
    { key: 'janusCamera', go: () => janusJoin() },
    { key: 'lancamPattern', go: () => lancamJoin(lancamPage, pattern.deviceId) },
  ] as const;
  let joins = 0;
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(i + k) % kinds.length]!;
      // Joins land at different points of the camera's GOP.
      await sleep(300 + ((joins++ * 737) % (GOP_S * 1000)));
      try {
        const r = await kind.go();
        if (i >= WARMUP) (runs[kind.key] as unknown[]).push(r);
      } catch (err) {
        failures.push(`${kind.key} round ${i}: ${(err as Error).message.split('\n')[0]}`);
        if (failures.length > MAX_FAILED) throw new Error(`too many failed joins:\n${failures.join('\n')}`, { cause: err });
      }
    }
    progress(`first frame: ${i + 1}/${WARMUP + ROUNDS} rounds`);
  }

  // The camera, Janus and the passed-through device are not needed for glass-to-glass: stopped, so
  // that the 2 cores are left to the pattern's encoder and Chromium's decoder.
  await rtsp.stop();
  await janus.child.stop();
  await camera.child.stop();
  const loadavgBeforeGlassToGlass = os.loadavg();
  await lancamPage.bringToFront();
  // The bench page's watch() keeps a LiveVideo open; its own full-size sampling only starts after
  // `settle`, so the probe measures during a long settle and the page's own window is 200 ms.
  const watching = withTimeout(
    lancamPage.evaluate(([id, s, w]) => (globalThis as unknown as ChromiumBenchWindow).lancamBench.watch(id, s, w), [pattern.deviceId, WATCH_SETTLE_MS + WATCH_WINDOW_MS + 500, 200] as const),
    WATCH_SETTLE_MS + WATCH_WINDOW_MS + 20_000,
    'the glass-to-glass watch did not finish',
  );
  await sleep(WATCH_SETTLE_MS);
  if (!(await lancamPage.evaluate('window.__g2gStart()'))) throw new Error('no <video> for the glass-to-glass probe');
  const inboundStart = (await lancamPage.evaluate(INBOUND_STATS).catch(() => null)) as { framesDecoded?: number } | null;
  const probeStart = performance.now();
  await sleep(WATCH_WINDOW_MS);
  const inboundEnd = (await lancamPage.evaluate(INBOUND_STATS).catch(() => null)) as { framesDecoded?: number } | null;
  const probe = (await lancamPage.evaluate('window.__g2gStop()')) as { samples: { presented: number; received: number | null }[]; frames: number; undecoded: number };
  const probeMs = performance.now() - probeStart;
  const watched = await watching;

  // A/V offset: a fresh viewer with sound, then the CLI viewer (one at a time, the g2g viewer gone).
  const loadavgBeforeAvOffset = os.loadavg();
  const av = await withTimeout(
    lancamPage.evaluate(([id, s, w]) => (globalThis as unknown as ChromiumBenchWindow).lancamBench.avOffset(id, s, w), [pattern.deviceId, AV_SETTLE_MS, AV_WINDOW_MS] as const),
    AV_SETTLE_MS + AV_WINDOW_MS + 20_000,
    'the A/V offset measurement did not finish',
  );
  // The CLI viewer on the 1080p main stream, then on the pattern's 640x360 sub stream (same tone).
  const cliRuns: Record<'main' | 'sub', { result: Record<string, unknown> | null; error: string | null }> = { main: { result: null, error: null }, sub: { result: null, error: null } };
  for (const stream of ['main', 'sub'] as const) {
    try {
      cliRuns[stream].result = await cliWatch(ns.wrap, env.home, pattern.port, CLI_WATCH_SECONDS, stream);
    } catch (err) {
      cliRuns[stream].error = (err as Error).message;
    }
  }
  type CliAudio = { avOffsetMs?: number | null; beeps?: number; audioLatencyMs?: number | null; codec?: string } | null;
  const cliAudioOf = (stream: 'main' | 'sub') => (cliRuns[stream].result?.audio ?? null) as CliAudio;
  const cliAudio = cliAudioOf('main');
  const cliError = cliRuns.main.error;
  const cliSummary = (stream: 'main' | 'sub'): string => {
    const a = cliAudioOf(stream);
    const r = cliRuns[stream].result;
    return a?.avOffsetMs === null || a?.avOffsetMs === undefined ? `n/a${cliRuns[stream].error ? ' (failed)' : ''}` : `${a.avOffsetMs} ms (${a.beeps ?? '?'} beeps, its glass-to-glass ${String(r?.glassToGlassMs ?? '?')} ms)`;
  };
  const loadavgAtEnd = os.loadavg();

  const first = (xs: { firstFrame: number }[]): Stats => stats(xs.map((x) => x.firstFrame));
  const lc = first(runs.lancamCamera);
  const jc = first(runs.janusCamera);
  const lp = first(runs.lancamPattern);
  const g2g = stats(probe.samples.map((x) => x.presented));
  const avs = stats(av.offsets);
  const avSummary = avOffsetSummary(av, avs);
  const cliAv = cliAudio?.avOffsetMs ?? null;
  const sizes = (xs: { width: number; height: number }[]) => [...new Set(xs.map((x) => `${x.width}x${x.height}`))];
  const summary =
    `first frame in Chromium, running 1080p camera (2 s GOP): lancam median ${fmtMs(lc.median)} ms p95 ${fmtMs(lc.p95)}, Janus median ${fmtMs(jc.median)} p95 ${fmtMs(jc.p95)} (ratio ${ratio(lc.median, jc.median)}x; goal <= 300); ` +
    `pattern 1080p (keyframe on join) median ${fmtMs(lp.median)} p95 ${fmtMs(lp.p95)} (goal <= 150); ` +
    `glass-to-glass 1080p pattern median ${fmtMs(g2g.median)} p95 ${fmtMs(g2g.p95)} ms (n ${g2g.n}, goal <= 50; ${watched.codec ?? '?'}); A/V offset Chromium ${avSummary}; CLI watch 1080p ${cliSummary('main')}, sub 640x360 ${cliSummary('sub')} (goal |offset| <= 40); ` +
    `load ${loadavgAtStart[0]!.toFixed(1)} -> ${loadavgAtEnd[0]!.toFixed(1)}`;
  return {
    name: 'streams-chromium',
    summary,
    results: {
      quick: QUICK,
      source: { size: `${WIDTH}x${HEIGHT}`, fps: FPS, gopSeconds: GOP_S, keptRunningBy: 'one node-datachannel viewer per lancam source for the whole run; Janus pulls the camera all the time' },
      firstFrame: {
        lancamCamera: { ...lc, sizes: sizes(runs.lancamCamera), goalMs: 300, runs: runs.lancamCamera },
        janusCamera: { ...jc, sizes: sizes(runs.janusCamera), runs: runs.janusCamera },
        cameraRatioLancamToJanus: { median: ratio(lc.median, jc.median), p95: ratio(lc.p95, jc.p95) },
        lancamPattern: { ...lp, sizes: sizes(runs.lancamPattern), goalMs: 150, runs: runs.lancamPattern },
        janusNote: 'the Janus page waits for its ICE gathering to complete before it answers (Janus half trickle); lancam trickles',
      },
      glassToGlass: {
        note: 'the camera, Janus and the passthrough device are stopped first; every presented frame, only the strip rows read back',
        presented: g2g,
        received: stats(probe.samples.flatMap((x) => (x.received === null ? [] : [x.received]))),
        goalMs: 50,
        presentedFps: Math.round((probe.frames * 10000) / probeMs) / 10,
        decodedFps: inboundStart?.framesDecoded !== undefined && inboundEnd?.framesDecoded !== undefined ? Math.round(((inboundEnd.framesDecoded - inboundStart.framesDecoded) * 10000) / probeMs) / 10 : null,
        undecodedFrames: probe.undecoded,
        codec: watched.codec,
        liveVideoStats: watched.stats,
        chromiumInbound: { windowStart: inboundStart, windowEnd: inboundEnd },
      },
      avOffset: {
        note: 'the 1080p pattern with its tone, one Chromium viewer (element unmuted): each beep onset where its first sample plays at the AudioContext output (ScriptProcessor block + WebAudio output latency estimate included) minus the expectedDisplayTime of the frame showing that whole second; + = sound after picture',
        chromium: { ...avs, spreadMs: avs.n ? avs.max - avs.min : null, ...av },
        cliWatch: {
          note: '`lancam watch --json`: audio.avOffsetMs = median over beeps of (beep arrival at the CLI viewer, packet arrival + position in it) - (video glass-to-glass at that time); main = the 1080p stream, sub = the pattern\'s 640x360 sub encode',
          seconds: CLI_WATCH_SECONDS,
          avOffsetMs: cliAv,
          error: cliError,
          ...Object.fromEntries((['main', 'sub'] as const).map((k) => [k, { avOffsetMs: cliAudioOf(k)?.avOffsetMs ?? null, audio: cliAudioOf(k), glassToGlassMs: cliRuns[k].result?.glassToGlassMs ?? null, fps: cliRuns[k].result?.fps ?? null, size: cliRuns[k].result ? `${String(cliRuns[k].result.width)}x${String(cliRuns[k].result.height)}` : null, error: cliRuns[k].error }])),
        },
        goalMs: 40,
      },
      failures,
      pageErrors: pageErrors.slice(0, 10),
      janusSafety: janus.safety,
      chromium: env.chromiumVersion,
      loadavgAtStart,
      loadavgBeforeGlassToGlass,
      loadavgBeforeAvOffset,
      loadavgAtEnd,
    },
  };
}

function avOffsetSummary(av: ChromiumAvOffset, s: Stats): string {
  if (s.n === 0) return `not measured (${av.onsets} beeps heard, ${av.secondsShown} seconds shown, ${av.framesPresented} frames presented)`;
  return `median ${fmtMs(s.median)} ms (min ${fmtMs(s.min)} max ${fmtMs(s.max)}, n ${s.n}, incl. WebAudio's path)`;
}
