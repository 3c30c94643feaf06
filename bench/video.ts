/**
 * "video": live video from a real `lancam-device` process (built-in test pattern, VP8 over
 * @roamhq/wrtc) to in-process viewers, on loopback only.
 *
 *   timeToFirstFrame   30 interleaved rounds (after 3 warm-ups) of
 *                        lancam: DeviceSession.open (paired admin) + CameraViewer.open to the first
 *                                decoded frame, timed from after the channel is up and, as a
 *                                variant, from before the channel connect;
 *                        bare:   two wrtc peer connections in this process, an RTCVideoSource fed
 *                                by the same PatternSource, createOffer() to the first sink frame;
 *                                and, for the why, the same with x-google-start-bitrate in the
 *                                answer (libwebrtc then skips its initial frame drop).
 *   glassToGlass       one viewer for 10 s: receive time minus the capture time drawn into the
 *                      pattern, for every frame.
 *   cpu                device process CPU (/proc/<pid>/stat) with 0, 1, 2, 4 viewers, 5 s each,
 *                      at 640x480 and 1280x720.
 *   capacity           viewers added one at a time (up to 12) at 640x480@30 until the weakest
 *                      viewer gets under 25 fps over a 4 s window.
 *   pattern            TestPattern render time per frame (benchmarkTestPattern).
 *
 * Viewers run in the bench process and decode VP8 there, on the same 2 cores as the device:
 * the CPU and capacity numbers are for "device and its viewers on one small machine", not for a
 * device alone. See bench/video-peers.ts for the network-safety measures.
 */
import os from 'node:os';
import { benchmarkTestPattern, decodeI420 } from '../src/shared/video/test-pattern';
import { fmtMs, ratio, sleep, stats, withTimeout, type BenchResult } from './lib';
import {
  bareTimeToFirstFrame,
  closeSession,
  createClient,
  openSession,
  openWatcher,
  ownCpuSeconds,
  pairAsAdmin,
  processCpuSeconds,
  startVideoDevice,
  STEP_TIMEOUT_MS,
  type Client,
  type VideoDevice,
  type Watcher,
} from './video-peers';

const FPS = 30;
const TTFF_ROUNDS = 30;
const TTFF_WARMUP = 3;
const GLASS_TO_GLASS_MS = 10_000;
const CPU_LEVELS = [0, 1, 2, 4];
const CPU_WINDOW_MS = 5000;
const CAPACITY_WINDOW_MS = 4000;
const CAPACITY_MAX_VIEWERS = 12;
const CAPACITY_MIN_FPS = 25;
/** After a viewer's first frame, before a window starts (encoder start, bandwidth ramp-up). */
const SETTLE_MS = 1500;
/** A few failed lancam/bare runs are recorded, not fatal; more than this is. */
const MAX_FAILED_RUNS = 5;
/** The bare variant that shows where most of the first-frame time goes (see README). */
const START_BITRATE_KBPS = 1000;

const round1 = (x: number) => Math.round(x * 10) / 10;

function progress(message: string): void {
  process.stderr.write(`bench video: ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// 1. Time to first frame

interface LancamTtff {
  /** From before DeviceSession.open (TCP + mutual TLS + WebSocket + store lookup) to the first frame. */
  withConnect: number;
  /** From before CameraViewer.open, the channel already up, to the first frame. */
  fromOpen: number;
  connect: number;
  /** CameraViewer.open resolved: the camera answered SETUP_REQUEST (its offer is on the way or there). */
  setupAccepted: number;
  /** The pattern's number of the first frame that arrived (the device's capture starts at 0 for the run's only viewer). */
  firstFrameNumber: number | undefined;
}

async function lancamTimeToFirstFrame(client: Client, device: VideoDevice): Promise<LancamTtff> {
  const t0 = performance.now();
  const session = await openSession(client, device);
  const t1 = performance.now();
  let watcher: Watcher | undefined;
  let firstFrameNumber: number | undefined;
  let seen = false;
  try {
    watcher = await openWatcher(client, device, {
      session,
      onFrame: (frame) => {
        // Runs after the first frame's time was taken.
        if (seen) return;
        seen = true;
        firstFrameNumber = decodeI420(frame)?.frameNumber;
      },
    });
    const t2 = performance.now();
    const t3 = await withTimeout(watcher.firstFrame, STEP_TIMEOUT_MS, 'no frame from the camera');
    return { withConnect: t3 - t0, fromOpen: t3 - t1, connect: t1 - t0, setupAccepted: t2 - t1, firstFrameNumber };
  } finally {
    if (watcher) await watcher.close();
    else await closeSession(session);
  }
}

type TtffKind = 'lancam' | 'bare' | 'bareStartBitrate';
const TTFF_KINDS: readonly TtffKind[] = ['lancam', 'bare', 'bareStartBitrate'];

async function timeToFirstFrame(client: Client, device: VideoDevice) {
  const lancam = { withConnect: [] as number[], fromOpen: [] as number[], connect: [] as number[], setupAccepted: [] as number[], firstFrameNumber: [] as number[] };
  const bare = { firstFrame: [] as number[], connected: [] as number[], firstFrameNumber: [] as number[] };
  const bareStart = { firstFrame: [] as number[], connected: [] as number[], firstFrameNumber: [] as number[] };
  const failures: string[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message}`);
      progress(`${what} failed: ${(err as Error).message}`);
      if (failures.length > MAX_FAILED_RUNS) throw new Error(`too many failed time-to-first-frame runs:\n${failures.join('\n')}`, { cause: err });
      return undefined;
    }
  };
  for (let i = 0; i < TTFF_WARMUP + TTFF_ROUNDS; i++) {
    const record = i >= TTFF_WARMUP;
    // Rotate which goes first, so that none always follows the same teardown.
    const order = [...TTFF_KINDS.slice(i % TTFF_KINDS.length), ...TTFF_KINDS.slice(0, i % TTFF_KINDS.length)];
    for (const kind of order) {
      if (kind === 'lancam') {
        const l = await attempt(`lancam run ${i}`, () => lancamTimeToFirstFrame(client, device));
        if (l && record) {
          lancam.withConnect.push(l.withConnect);
          lancam.fromOpen.push(l.fromOpen);
          lancam.connect.push(l.connect);
          lancam.setupAccepted.push(l.setupAccepted);
          if (l.firstFrameNumber !== undefined) lancam.firstFrameNumber.push(l.firstFrameNumber);
        }
      } else {
        const into = kind === 'bare' ? bare : bareStart;
        const options = kind === 'bare' ? {} : { startBitrateKbps: START_BITRATE_KBPS };
        const b = await attempt(`${kind} run ${i}`, () => bareTimeToFirstFrame(device.width, device.height, FPS, options));
        if (b && record) {
          into.firstFrame.push(b.firstFrame);
          into.connected.push(b.connected);
          if (b.firstFrameNumber !== undefined) into.firstFrameNumber.push(b.firstFrameNumber);
        }
      }
      // Let the device stop its capture and free the peer connection before the next run.
      await sleep(50);
    }
  }
  const bareStats = (b: typeof bare) => ({ firstFrame: stats(b.firstFrame), connected: stats(b.connected), firstFrameNumber: stats(b.firstFrameNumber) });
  return {
    lancamFromOpen: stats(lancam.fromOpen),
    lancamWithConnect: stats(lancam.withConnect),
    lancamPhases: { connect: stats(lancam.connect), setupAccepted: stats(lancam.setupAccepted), firstFrameNumber: stats(lancam.firstFrameNumber) },
    bare: bareStats(bare),
    bareStartBitrate: bareStats(bareStart),
    failures,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Glass to glass

async function glassToGlass(client: Client, device: VideoDevice) {
  const latencies: number[] = [];
  let undecoded = 0;
  let collecting = false;
  const watcher = await openWatcher(client, device, {
    onFrame: (frame, receivedAtMs) => {
      if (!collecting) return;
      const stamp = decodeI420(frame);
      if (stamp) latencies.push(receivedAtMs - stamp.captureTimeMs);
      else undecoded++;
    },
  });
  try {
    await withTimeout(watcher.firstFrame, STEP_TIMEOUT_MS, 'no frame from the camera');
    collecting = true;
    const frames0 = watcher.frames;
    const t0 = performance.now();
    const ended = await Promise.race([sleep(GLASS_TO_GLASS_MS).then(() => undefined), watcher.viewer.closed()]);
    if (ended !== undefined) throw new Error(`the video ended while watching: ${ended}`);
    collecting = false;
    const seconds = (performance.now() - t0) / 1000;
    const s = await watcher.viewer.stats();
    return {
      latency: stats(latencies),
      framesReceived: watcher.frames - frames0,
      fps: round1((watcher.frames - frames0) / seconds),
      undecodedStrips: undecoded,
      smallFrames: watcher.smallFrames,
      viewerStats: s,
    };
  } finally {
    await watcher.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 3 + 4. CPU per viewer and capacity

interface Level {
  viewers: number;
  windowMs: number;
  /** Device process CPU, % of one core. */
  deviceCpuPercent: number;
  /** This process (all viewers: receive, VP8 decode, sink copy into JS; plus the bench itself), % of one core. */
  viewersCpuPercent: number;
  /** Frames per second of each viewer over the window. */
  fps: number[];
  minFps: number | null;
  meanFps: number | null;
  /** Frames below the device's size in the window (the sender scaled down under load). */
  smallFrames: number;
}

async function measure(device: VideoDevice, watchers: Watcher[], windowMs: number): Promise<Level> {
  const frames0 = watchers.map((w) => w.frames);
  const small0 = watchers.reduce((a, w) => a + w.smallFrames, 0);
  const dev0 = processCpuSeconds(device.pid);
  const own0 = ownCpuSeconds();
  const t0 = performance.now();
  await sleep(windowMs);
  const seconds = (performance.now() - t0) / 1000;
  const dev1 = processCpuSeconds(device.pid);
  const own1 = ownCpuSeconds();
  const fps = watchers.map((w, i) => round1((w.frames - frames0[i]!) / seconds));
  for (const w of watchers) {
    if (w.viewer.closedReason) throw new Error(`a viewer's video ended: ${w.viewer.closedReason}`);
  }
  return {
    viewers: watchers.length,
    windowMs: Math.round(seconds * 1000),
    deviceCpuPercent: round1(((dev1 - dev0) / seconds) * 100),
    viewersCpuPercent: round1(((own1 - own0) / seconds) * 100),
    fps,
    minFps: fps.length ? Math.min(...fps) : null,
    meanFps: fps.length ? round1(fps.reduce((a, b) => a + b, 0) / fps.length) : null,
    smallFrames: watchers.reduce((a, w) => a + w.smallFrames, 0) - small0,
  };
}

async function addViewer(client: Client, device: VideoDevice, watchers: Watcher[]): Promise<void> {
  const w = await openWatcher(client, device);
  watchers.push(w);
  await withTimeout(w.firstFrame, STEP_TIMEOUT_MS, `viewer ${watchers.length} got no frame`);
  await sleep(SETTLE_MS);
}

/** CPU% added per viewer: the first (which also starts the capture), and the mean of the others. */
function perViewer(levels: Level[]) {
  const at = (n: number) => levels.find((l) => l.viewers === n)?.deviceCpuPercent ?? NaN;
  const viewersAt = (n: number) => levels.find((l) => l.viewers === n)?.viewersCpuPercent ?? NaN;
  return {
    deviceCpuPercentByViewers: Object.fromEntries(CPU_LEVELS.map((n) => [n, at(n)])),
    firstViewerAddsPercent: round1(at(1) - at(0)),
    eachFurtherViewerAddsPercent: round1((at(4) - at(1)) / 3),
    increments: { '0->1': round1(at(1) - at(0)), '1->2': round1(at(2) - at(1)), '2->4 (per viewer)': round1((at(4) - at(2)) / 2) },
    benchProcessCpuPercentByViewers: Object.fromEntries(CPU_LEVELS.map((n) => [n, viewersAt(n)])),
    benchProcessPerViewerPercent: round1((viewersAt(4) - viewersAt(0)) / 4),
  };
}

/** 640x480: CPU levels 0, 1, 2, 4 (5 s windows) and the capacity sweep (4 s windows) in one go. */
async function cpuAndCapacity(client: Client, device: VideoDevice) {
  const watchers: Watcher[] = [];
  const levels: Level[] = [];
  let capacity = 0;
  let capacityFound = false;
  let firstFailure: Level | undefined;
  try {
    levels.push(await measure(device, watchers, CPU_WINDOW_MS));
    for (let n = 1; n <= CAPACITY_MAX_VIEWERS; n++) {
      await addViewer(client, device, watchers);
      const level = await measure(device, watchers, CPU_LEVELS.includes(n) ? CPU_WINDOW_MS : CAPACITY_WINDOW_MS);
      levels.push(level);
      progress(`${device.width}x${device.height}: ${n} viewer(s): device CPU ${level.deviceCpuPercent}%, bench process ${level.viewersCpuPercent}%, fps min ${level.minFps} mean ${level.meanFps}${level.smallFrames ? `, ${level.smallFrames} downscaled frames` : ''}`);
      if (!capacityFound) {
        if ((level.minFps ?? 0) >= CAPACITY_MIN_FPS) capacity = n;
        else {
          capacityFound = true;
          firstFailure = level;
        }
      }
      // Past the first failure, go on only as far as the CPU levels need.
      if (capacityFound && n >= Math.max(...CPU_LEVELS)) break;
    }
  } finally {
    await Promise.all(watchers.map((w) => w.close()));
  }
  return {
    levels,
    perViewer: perViewer(levels),
    capacity: {
      viewers: capacity,
      reachedCap: !capacityFound,
      cap: CAPACITY_MAX_VIEWERS,
      firstFailure: firstFailure ? { viewers: firstFailure.viewers, minFps: firstFailure.minFps, fps: firstFailure.fps } : null,
    },
  };
}

/** 1280x720: CPU levels 0, 1, 2, 4 (5 s windows). */
async function cpuLevels(client: Client, device: VideoDevice) {
  const watchers: Watcher[] = [];
  const levels: Level[] = [];
  try {
    for (const n of CPU_LEVELS) {
      while (watchers.length < n) await addViewer(client, device, watchers);
      const level = await measure(device, watchers, CPU_WINDOW_MS);
      levels.push(level);
      progress(`${device.width}x${device.height}: ${n} viewer(s): device CPU ${level.deviceCpuPercent}%, bench process ${level.viewersCpuPercent}%, fps min ${level.minFps} mean ${level.meanFps}${level.smallFrames ? `, ${level.smallFrames} downscaled frames` : ''}`);
    }
  } finally {
    await Promise.all(watchers.map((w) => w.close()));
  }
  return { levels, perViewer: perViewer(levels) };
}

// ---------------------------------------------------------------------------------------------

function deviceWarnings(device: VideoDevice): string[] {
  return device
    .stderr()
    .split('\n')
    .filter((line) => / warn /.test(line));
}

/** Levels where viewers were served unevenly or at a reduced size. */
function oddities(size: string, levels: Level[]): string[] {
  const out: string[] = [];
  for (const l of levels) {
    if (l.fps.length > 1 && Math.max(...l.fps) - Math.min(...l.fps) > 5) {
      out.push(`${size}, ${l.viewers} viewers: uneven frame rates ${JSON.stringify(l.fps)} (viewers in the order added)`);
    }
    if (l.smallFrames > 0) out.push(`${size}, ${l.viewers} viewers: ${l.smallFrames} frames arrived below ${size} (the sender scaled down)`);
  }
  return out;
}

export async function run(): Promise<BenchResult> {
  const started = performance.now();
  const loadavgAtStart = os.loadavg();

  // Pattern rendering first, on a quiet machine.
  const pattern = {
    '640x480': benchmarkTestPattern(640, 480),
    '1280x720': benchmarkTestPattern(1280, 720),
  };
  for (const p of Object.values(pattern)) {
    if (p.decodedOk !== p.frames) throw new Error(`the test pattern at ${p.width}x${p.height} decoded ${p.decodedOk}/${p.frames} frames`);
  }

  const client = await createClient();
  progress('starting a 640x480@30 device');
  const vga = await startVideoDevice(640, 480, FPS);
  const pairedAs = await pairAsAdmin(client, vga);

  progress(`time to first frame (${TTFF_WARMUP} + ${TTFF_ROUNDS} rounds)`);
  const ttff = await timeToFirstFrame(client, vga);
  progress(`glass to glass (${GLASS_TO_GLASS_MS / 1000} s)`);
  const g2g = await glassToGlass(client, vga);
  await sleep(500);
  progress('CPU per viewer and capacity at 640x480');
  const vgaSweep = await cpuAndCapacity(client, vga);
  const vgaWarnings = deviceWarnings(vga);
  await vga.stop();

  progress('starting a 1280x720@30 device');
  const hd = await startVideoDevice(1280, 720, FPS);
  await pairAsAdmin(client, hd);
  progress('CPU per viewer at 1280x720');
  const hdSweep = await cpuLevels(client, hd);
  const hdWarnings = deviceWarnings(hd);
  await hd.stop();

  const ttffRatio = {
    median: ratio(ttff.lancamFromOpen.median, ttff.bare.firstFrame.median),
    p95: ratio(ttff.lancamFromOpen.p95, ttff.bare.firstFrame.p95),
    withConnectMedian: ratio(ttff.lancamWithConnect.median, ttff.bare.firstFrame.median),
  };
  const vgaPer = vgaSweep.perViewer;
  const hdPer = hdSweep.perViewer;
  const cap = vgaSweep.capacity;
  const capText = `${cap.reachedCap ? '>=' : ''}${cap.viewers}`;
  const summary =
    `first frame lancam median ${fmtMs(ttff.lancamFromOpen.median)} ms p95 ${fmtMs(ttff.lancamFromOpen.p95)} ms ` +
    `(with connect ${fmtMs(ttff.lancamWithConnect.median)}/${fmtMs(ttff.lancamWithConnect.p95)}), ` +
    `bare wrtc ${fmtMs(ttff.bare.firstFrame.median)}/${fmtMs(ttff.bare.firstFrame.p95)} ms, ratio ${ttffRatio.median}x/${ttffRatio.p95}x ` +
    `(both lose the first ${ttff.lancamPhases.firstFrameNumber.median}/${ttff.bare.firstFrameNumber.median} frames; bare with start bitrate ${START_BITRATE_KBPS} kbit/s ${fmtMs(ttff.bareStartBitrate.firstFrame.median)} ms); ` +
    `glass-to-glass median ${fmtMs(g2g.latency.median)} ms p95 ${fmtMs(g2g.latency.p95)} ms; ` +
    `device CPU per viewer 640x480 +${vgaPer.eachFurtherViewerAddsPercent}% (first +${vgaPer.firstViewerAddsPercent}%), ` +
    `1280x720 +${hdPer.eachFurtherViewerAddsPercent}% (first +${hdPer.firstViewerAddsPercent}%); ` +
    `capacity ${capText} viewers at >=${CAPACITY_MIN_FPS} fps (640x480@30); ` +
    `pattern render ${fmtMs(pattern['640x480'].renderMsPerFrame)}/${fmtMs(pattern['1280x720'].renderMsPerFrame)} ms ` +
    `(viewers decode in the bench process on the same ${os.cpus().length} cores as the device)`;

  return {
    name: 'video',
    summary,
    results: {
      unit: 'ms; CPU in % of one core; fps',
      elapsedSeconds: round1((performance.now() - started) / 1000),
      setup: {
        device: 'real lancam-device process (child process, 127.0.0.1, --no-mdns, --ice-address 127.0.0.1, --source pattern, --video-stack vp8, --fps 30: the vp8 stack, kept as an option; the default H.264 stack is in the streams benchmarks), paired admin by local-initial',
        viewers: "in the bench process: DeviceSession + CameraViewer (@roamhq/wrtc, iceAddresses ['127.0.0.1']), one channel per viewer, counting frames only",
        sharedCores: `device and viewers share this machine's ${os.cpus().length} CPUs: every viewer decodes VP8 (and wrtc copies each frame into JS) in the bench process, competing with the device's encoders. CPU and capacity numbers are for device + viewers on one machine; a device alone would serve more.`,
        codec: 'VP8 (wrtc default), one encoder per viewer (each peer connection gets its own track of the shared capture)',
        network: 'loopback only, no ICE servers',
        pairedAs,
      },
      timeToFirstFrame: {
        size: '640x480@30',
        rounds: TTFF_ROUNDS,
        warmupRounds: TTFF_WARMUP,
        timed: {
          lancamFromOpen: 'channel already open: before CameraViewer.open (SETUP_REQUEST; the device starts its capture, makes a peer connection and offers) to the first frame at the viewer\'s RTCVideoSink',
          lancamWithConnect: 'before DeviceSession.open (TCP + mutual TLS + pin + WebSocket + known-device store lookup) to the first frame',
          bare: 'two RTCPeerConnections in this process, PatternSource -> RTCVideoSource -> addTrack; from pattern start + createOffer() to the first RTCVideoSink frame; descriptions and loopback candidates handed over directly. connected = receiver connectionState "connected" (ICE + DTLS)',
          bareStartBitrate: `as bare, with a=fmtp:<VP8> x-google-start-bitrate=${START_BITRATE_KBPS} added to the answer the sender applies: not what lancam does, shown because it removes libwebrtc's initial frame drop`,
          firstFrameNumber: 'the test pattern number of the first frame that arrived: frames 0..n-1 were made but never arrived (at 640x480 libwebrtc drops the first frames while its start bitrate (300 kbit/s) is below what it wants for the size; at 30 fps each lost frame costs 33 ms)',
          order: 'interleaved, one lancam, one bare and one bare-with-start-bitrate run per round (rotating which goes first); teardown not timed',
        },
        lancamFromOpen: ttff.lancamFromOpen,
        lancamWithConnect: ttff.lancamWithConnect,
        lancamPhases: ttff.lancamPhases,
        bare: ttff.bare,
        bareStartBitrate: ttff.bareStartBitrate,
        ratio: ttffRatio,
        failures: ttff.failures,
      },
      glassToGlass: {
        size: '640x480@30',
        seconds: GLASS_TO_GLASS_MS / 1000,
        timed: 'Date.now() when the frame reaches the viewer\'s sink minus the capture time drawn into the pattern (taken just before rendering: includes render, I420 hand-over, VP8 encode, RTP on loopback, jitter buffer, decode)',
        ...g2g,
      },
      cpu: {
        method: `utime+stime of the device process from /proc/<pid>/stat over ${CPU_WINDOW_MS / 1000} s windows (${SETTLE_MS / 1000} s after the newest viewer's first frame); bench process (the viewers) from process.cpuUsage()`,
        '640x480': { perViewer: vgaPer, levels: vgaSweep.levels.filter((l) => CPU_LEVELS.includes(l.viewers)) },
        '1280x720': { perViewer: hdPer, levels: hdSweep.levels },
        note: 'the first viewer also starts the shared capture (pattern rendering at 30 fps); later viewers add an encoder and a peer connection each',
      },
      capacity: {
        size: '640x480@30',
        criterion: `every viewer >= ${CAPACITY_MIN_FPS} fps over a ${CAPACITY_WINDOW_MS / 1000} s window (5 s at 1, 2, 4 viewers), viewers added one at a time up to ${CAPACITY_MAX_VIEWERS}`,
        ...cap,
        levels: vgaSweep.levels,
        honesty: `the viewers run in the bench process on the same ${os.cpus().length} cores as the device, so this is the capacity of "device + N decoding viewers on one 2-core machine"`,
      },
      pattern,
      deviceWarnings: { '640x480': vgaWarnings.slice(0, 20), '1280x720': hdWarnings.slice(0, 20) },
      oddities: [...oddities(`${vga.width}x${vga.height}`, vgaSweep.levels), ...oddities(`${hd.width}x${hd.height}`, hdSweep.levels)],
      loadavgAtStart,
      loadavgAtEnd: os.loadavg(),
    },
  };
}
