/**
 * "streams": issue 11's server-side comparison. The same live RTSP H.264 camera (GStreamer's RTSP
 * server, 30 fps, 2 s GOP, shared media) served by a real `lancam-device --video-stack h264`
 * (ffmpeg `-c:v copy` passthrough) and by Janus's streaming plugin (an RTSP mountpoint: Janus pulls
 * the camera itself) in the same run, at the same time, to node-datachannel viewers that count
 * complete frames without decoding (bench/stream-viewers.ts, one process per server).
 *
 *   levels    for 640x480, 1280x720 and 1920x1080: 0/1/2/4/8 viewers on each server; per level,
 *             once every viewer has frames, a settle, then a window of CPU (user+sys of the
 *             serving process tree from /proc/<pid>/stat: lancam-device + its ffmpeg; Janus, all
 *             threads, its RTSP client included) and each viewer's complete frames/s, and RSS.
 *   sixteen   1920x1080: Janus's viewers leave, lancam's go to 16; each viewer's frames/s and the
 *             device's CPU over a window.
 *
 * At 0 viewers lancam is idle (it pulls the camera only while someone watches); Janus keeps pulling.
 * Set-up and network safety: bench/streams-env.ts. LANCAM_BENCH_QUICK=1 (npm run bench -- --quick):
 * 640x480 only, levels 0/1/2, 2 s windows, 4 viewers instead of 16.
 */
import os from 'node:os';
import { JANUS_ICE_ADDRESS, QUICK, cpuSeconds, processTree, rssMb, startCamera, startDevice, startJanus, startNamespace, startViewers, streamsUnavailable, type Viewers } from './streams-env';
import { LOOPBACK, ratio, runCleanups, sleep, withTimeout, type BenchResult } from './lib';

const SIZES: [number, number][] = QUICK ? [[640, 480]] : [[640, 480], [1280, 720], [1920, 1080]];
const LEVELS = QUICK ? [0, 1, 2] : [0, 1, 2, 4, 8];
const WINDOW_MS = QUICK ? 2000 : 6000;
const SETTLE_MS = 1500;
const MANY = QUICK ? 4 : 16;
const FPS = 30;
const GOP_S = 2;

const round1 = (x: number) => Math.round(x * 10) / 10;

function progress(message: string): void {
  process.stderr.write(`bench streams: ${message}\n`);
}

interface ServerLevel {
  cpuPercent: number;
  rssMb: number;
  minFps: number | null;
  meanFps: number | null;
  gaps: number;
  /** Audio tracks the viewers got (ignored by them: never counted as frames). */
  audioTracks: number;
  /** Each viewer's complete frames/s over the window. */
  fps: number[];
  /** Which processes were counted (command names). */
  counted: string[];
}

interface Measured {
  pid: number;
  viewers: Viewers;
  ids: string[];
  replaced: number;
}

/** Waits until each of `ids` has had a complete frame (bounded). */
async function allHaveFrames(v: Viewers, ids: string[], ms: number, context: () => string = () => ''): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const s = await v.stats();
    if (ids.every((id) => (s[id]?.frames ?? 0) > 0)) return;
  }
  const s = await v.stats();
  throw new Error(`viewers without frames after ${ms} ms: ${ids.filter((id) => !(s[id]?.frames ?? 0)).join(', ')} ${JSON.stringify(s)}\nviewers' stderr: ${v.child.stderr().slice(-1500)}\n${context()}`);
}

/** One window over several servers at once: CPU of each tree, frames/s of each viewer. */
async function window(servers: Measured[]): Promise<ServerLevel[]> {
  const trees = servers.map((s) => processTree(s.pid));
  const before = await Promise.all(servers.map((s) => s.viewers.stats()));
  const c0 = trees.map((t) => cpuSeconds(t.map((p) => p.pid)));
  const t0 = performance.now();
  await sleep(WINDOW_MS);
  const c1 = trees.map((t) => cpuSeconds(t.map((p) => p.pid)));
  const t1 = performance.now();
  const after = await Promise.all(servers.map((s) => s.viewers.stats()));
  return servers.map((s, i) => {
    const fps = s.ids.filter((id) => before[i]![id] && after[i]![id]).map((id) => ((after[i]![id]!.frames - before[i]![id]!.frames) * 1000) / (after[i]![id]!.at - before[i]![id]!.at));
    const treeNow = processTree(s.pid);
    return {
      cpuPercent: round1(((c1[i]! - c0[i]!) / ((t1 - t0) / 1000)) * 100),
      rssMb: rssMb(treeNow.map((p) => p.pid)),
      minFps: fps.length ? round1(Math.min(...fps)) : null,
      meanFps: fps.length ? round1(fps.reduce((a, b) => a + b, 0) / fps.length) : null,
      fps: fps.map(round1),
      gaps: s.ids.reduce((n, id) => n + (after[i]![id]?.gaps ?? 0) - (before[i]![id]?.gaps ?? 0), 0),
      audioTracks: s.ids.reduce((n, id) => n + (after[i]![id]?.audioTracks ?? 0), 0),
      counted: [...new Set(trees[i]!.map((p) => p.comm))],
    };
  });
}

/**
 * Waits for every viewer's first frame; a viewer still without one is replaced once (a fresh
 * viewer; counted in `replaced`) before giving up.
 */
async function framesOrReplace(m: Measured, prefix: string, ms: number, context: () => string): Promise<void> {
  try {
    await allHaveFrames(m.viewers, m.ids, ms, context);
  } catch (err) {
    const s = await m.viewers.stats();
    const stuck = m.ids.filter((id) => !(s[id]?.frames ?? 0));
    progress(`replacing viewers without frames (${stuck.join(', ')}): ${(err as Error).message.split('\n')[0]}`);
    for (const id of stuck) {
      m.viewers.remove(id);
      const fresh = `${prefix}r${m.replaced++}`;
      await m.viewers.add(fresh);
      m.ids[m.ids.indexOf(id)] = fresh;
    }
    await allHaveFrames(m.viewers, m.ids, ms, context);
  }
}

async function addTo(m: Measured, n: number, prefix: string): Promise<void> {
  while (m.ids.length < n) {
    const id = `${prefix}${m.ids.length}`;
    await m.viewers.add(id);
    m.ids.push(id);
  }
}

/**
 * What one more viewer costs: the least-squares slope of `key` over the levels with at least one
 * viewer (so starting the source, which the first viewer does for lancam, is not in it).
 */
function perExtraViewer(levels: { viewers: number; level: ServerLevel }[], key: 'cpuPercent' | 'rssMb'): number | null {
  const pts = levels.filter((l) => l.viewers >= 1).map((l) => [l.viewers, l.level[key]] as const);
  if (pts.length < 2) return null;
  const mx = pts.reduce((a, [x]) => a + x, 0) / pts.length;
  const my = pts.reduce((a, [, y]) => a + y, 0) / pts.length;
  const sxx = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  return Math.round((sxy / sxx) * 100) / 100;
}

interface SizeResult {
  size: string;
  idle: { lancamRssMb: number; janusRssMb: number; janusCpuPercent: number; lancamCpuPercent: number };
  levels: { viewers: number; lancam: ServerLevel; janus: ServerLevel }[];
  lancamCpuPerExtraViewer: number | null;
  janusCpuPerExtraViewer: number | null;
  cpuPerExtraViewerRatio: number | null;
  /** lancam / Janus CPU at the highest level (both serving the same number of viewers). */
  cpuAtTopRatio: number | null;
  lancamRssPerExtraViewerMb: number | null;
  janusRssPerExtraViewerMb: number | null;
  sixteen?: { viewers: number; deviceCpuPercent: number; deviceRssMb: number; fps: number[]; minFps: number | null; allAtLeast29: boolean; gaps: number; audioTracks: number; counted: string[] };
  janusSafety: { config: string[]; sockets: string[] };
  /** Viewers that had no frame within the wait and were replaced by a fresh one. */
  replacedViewers?: { lancam: number; janus: number };
}

async function measureSize(width: number, height: number): Promise<SizeResult> {
  const ns = await startNamespace();
  const camera = await startCamera(ns, width, height, FPS, GOP_S);
  const janus = await startJanus(ns, camera.url);
  const device = await startDevice(ns, `Streams ${width}x${height}`, ['--source', camera.url, '--fps', String(FPS)]);
  const lancamViewers = await startViewers(ns, 'lancam', ['lancam', LOOPBACK, String(device.port)]);
  const janusViewers = await startViewers(ns, 'janus', ['janus', janus.api, '1'], { VIEWER_BIND: JANUS_ICE_ADDRESS });
  const lancam: Measured = { pid: device.pid, viewers: lancamViewers, ids: [], replaced: 0 };
  const jan: Measured = { pid: janus.pid, viewers: janusViewers, ids: [], replaced: 0 };
  const size = `${width}x${height}`;
  const levels: SizeResult['levels'] = [];
  let idle: SizeResult['idle'] | undefined;
  for (const n of LEVELS) {
    await addTo(lancam, n, 'l');
    await addTo(jan, n, 'j');
    // Up to a GOP (and the passthrough's start) before a joining viewer has a complete picture.
    await framesOrReplace(lancam, 'l', 15_000, () => `device: ${device.child.stderr().slice(-2000)}`);
    await framesOrReplace(jan, 'j', 15_000, () => `janus: ${janus.child.stdout().slice(-2000)}`);
    await sleep(SETTLE_MS);
    const [l, j] = await window([lancam, jan]);
    levels.push({ viewers: n, lancam: l!, janus: j! });
    if (n === 0) idle = { lancamRssMb: l!.rssMb, janusRssMb: j!.rssMb, lancamCpuPercent: l!.cpuPercent, janusCpuPercent: j!.cpuPercent };
    progress(`${size} ${n} viewers: lancam ${l!.cpuPercent} % (${l!.minFps ?? '-'} fps min, ${l!.rssMb} MB), janus ${j!.cpuPercent} % (${j!.minFps ?? '-'} fps min, ${j!.rssMb} MB)`);
  }
  const series = (k: 'lancam' | 'janus') => levels.map((x) => ({ viewers: x.viewers, level: x[k] }));
  const lPer = perExtraViewer(series('lancam'), 'cpuPercent');
  const jPer = perExtraViewer(series('janus'), 'cpuPercent');
  const result: SizeResult = {
    size,
    idle: idle!,
    levels,
    lancamCpuPerExtraViewer: lPer,
    janusCpuPerExtraViewer: jPer,
    cpuPerExtraViewerRatio: lPer !== null && jPer !== null && jPer > 0 ? ratio(lPer, jPer) : null,
    cpuAtTopRatio: levels.at(-1)!.janus.cpuPercent > 0 ? ratio(levels.at(-1)!.lancam.cpuPercent, levels.at(-1)!.janus.cpuPercent) : null,
    lancamRssPerExtraViewerMb: perExtraViewer(series('lancam'), 'rssMb'),
    janusRssPerExtraViewerMb: perExtraViewer(series('janus'), 'rssMb'),
    janusSafety: janus.safety,
    replacedViewers: { lancam: lancam.replaced, janus: jan.replaced },
  };
  if (width === SIZES.at(-1)![0]) {
    for (const id of jan.ids) janusViewers.remove(id);
    jan.ids = [];
    await addTo(lancam, MANY, 'l');
    await framesOrReplace(lancam, 'l', 20_000, () => `device: ${device.child.stderr().slice(-2000)}`);
    await sleep(SETTLE_MS);
    const [l] = await window([lancam]);
    const fps = l!.fps;
    result.sixteen = { viewers: MANY, deviceCpuPercent: l!.cpuPercent, deviceRssMb: l!.rssMb, fps, minFps: l!.minFps, allAtLeast29: fps.every((f) => f >= 29), gaps: l!.gaps, audioTracks: l!.audioTracks, counted: l!.counted };
    progress(`${size} ${MANY} lancam viewers: ${l!.cpuPercent} %, min ${l!.minFps} fps`);
  }
  await runCleanups();
  return result;
}

export async function run(): Promise<BenchResult> {
  const reason = await streamsUnavailable();
  if (reason) {
    progress(`skipped: ${reason}`);
    return { name: 'streams', summary: `skipped: ${reason}`, results: { skipped: reason } };
  }
  const loadavgAtStart = os.loadavg();
  const sizes: SizeResult[] = [];
  for (const [w, h] of SIZES) sizes.push(await withTimeout(measureSize(w, h), 150_000, `${w}x${h} did not finish within 150 s`));
  const loadavgAtEnd = os.loadavg();
  const top = sizes.at(-1)!;
  const many = top.sixteen;
  const per = sizes.map((s) => `${s.size} ${s.lancamCpuPerExtraViewer ?? '-'}/${s.janusCpuPerExtraViewer ?? '-'} % (${s.cpuPerExtraViewerRatio ?? '-'}x)`).join(', ');
  const at8 = sizes.map((s) => {
    const l = s.levels.at(-1)!;
    return `${s.size} ${l.lancam.cpuPercent}/${l.janus.cpuPercent} % (${s.cpuAtTopRatio ?? '-'}x)`;
  }).join(', ');
  const summary =
    `CPU per extra viewer (slope over 1..${LEVELS.at(-1)}) lancam/Janus ${per}; at ${LEVELS.at(-1)} viewers ${at8}; ` +
    (many ? `${many.viewers} viewers of ${top.size}: min ${many.minFps} fps (all >= 29: ${many.allAtLeast29}), device ${many.deviceCpuPercent} %; ` : '') +
    `RSS idle lancam ${sizes[0]!.idle.lancamRssMb} MB / Janus ${sizes[0]!.idle.janusRssMb} MB, per viewer ${top.lancamRssPerExtraViewerMb ?? '-'} / ${top.janusRssPerExtraViewerMb ?? '-'} MB (${top.size}); ` +
    `load ${loadavgAtStart[0]!.toFixed(1)} -> ${loadavgAtEnd[0]!.toFixed(1)}`;
  return {
    name: 'streams',
    summary,
    results: {
      quick: QUICK,
      source: { fps: FPS, gopSeconds: GOP_S, codec: 'H.264 constrained baseline (x264 in GStreamer RTSP server, shared media)', bitrateKbps: { '640x480': 1500, '1280x720': 3000, '1920x1080': 6000 } },
      windowMs: WINDOW_MS,
      counted: {
        lancam: 'lancam-device (node, all threads) + its descendants (ffmpeg -c:v copy), user+sys from /proc/<pid>/stat',
        janus: 'the janus process (all threads, its RTSP client and RTP receive included; no feeder process)',
        notCounted: 'the RTSP camera (GStreamer x264 encode), the viewer processes',
      },
      audioNote: 'the viewers accept an audio m-line if a server offers one but ignore its packets (bench/stream-viewers.ts); audioTracks per level says whether any was offered (the RTSP camera has no sound)',
      idleNote: 'at 0 viewers lancam-device does not pull the camera (no ffmpeg); Janus pulls it all the time',
      sizes,
      loadavgAtStart,
      loadavgAtEnd,
      machine: { cpus: os.cpus().length, note: 'a 2-core VM shared with other developers: read ratios, not absolutes' },
    },
  };
}
