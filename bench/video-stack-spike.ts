/**
 * The measured spike that chose the device's WebRTC stack (docs/video.md): node-datachannel
 * (libdatachannel, N-API) against werift (pure TypeScript), each sending the same pre-encoded
 * 1920x1080@30 H.264 stream (x264, 2 s GOP, baseline, ~6 Mbit/s, replayed by `ffmpeg -re -c copy`)
 * to every viewer with an H.264 packetizer, SRTP and RTCP per viewer.
 *
 *   `node --import tsx bench/video-stack-spike.ts [--quick]`
 *
 *   cpu        sender process CPU (user+sys from /proc/<pid>/stat; ffmpeg is its own process and
 *              not counted) at 0/1/2/4/8 viewers, 5 s windows, viewers = node-datachannel peers in
 *              another process that count complete frames without decoding.
 *   chromium   one Chromium viewer: offer to first rendered frame (requestVideoFrameCallback), the
 *              codec and size it reports, then 5 s with 3 % of UDP packets dropped in the namespace
 *              (nftables): NACKs sent, packets retransmitted... and frames rendered.
 *
 * Network safety: everything (senders, viewers, Chromium) runs inside a namespace made here with
 * only `lo`; no ICE server anywhere. Prints one JSON line and a summary; writes
 * bench/results/video-stack-spike.json.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromiumInNetns } from '../test/helpers/chromium';
import { createNetns, type Netns } from '../test/helpers/netns';
import { BENCH_DIR, onCleanup, runCleanups, sleep, spawnNode, tempDir, withTimeout, type Child } from './lib';
import { processCpuSeconds } from './video-peers';

const run = promisify(execFile);
const quick = process.argv.includes('--quick');
const LEVELS = quick ? [0, 1, 4] : [0, 1, 2, 4, 8];
const WINDOW_MS = quick ? 3000 : 5000;
const SETTLE_MS = 2500;
const STACKS = (process.env.SPIKE_STACKS ?? 'ndc,werift').split(',');
const CLIP = path.join(os.tmpdir(), 'lancam-spike-1080p30.ts');
const PEER = path.join(BENCH_DIR, 'video-stack-peer.ts');

function progress(message: string): void {
  process.stderr.write(`spike: ${message}\n`);
}

async function makeClip(): Promise<void> {
  if (existsSync(CLIP)) return;
  progress('encoding the 1080p30 clip once (x264)');
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-t', '10', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'baseline', '-g', '60', '-b:v', '6M', '-maxrate', '6M', '-bufsize', '3M', '-x264-params', 'aud=1', CLIP]);
}

interface Lines {
  child: Child;
  next(type: string, id?: string, ms?: number): Promise<Record<string, unknown>>;
  last(type: string): Record<string, unknown> | undefined;
  onMessage(fn: (m: Record<string, unknown>) => void): void;
  send(m: unknown): void;
}

function withLines(child: Child): Lines {
  const waiting: { type: string; id?: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  const lastOf = new Map<string, Record<string, unknown>>();
  const listeners: ((m: Record<string, unknown>) => void)[] = [];
  createInterface({ input: child.process.stdout! }).on('line', (line) => {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    lastOf.set(String(m.type), m);
    for (const l of listeners) l(m);
    const i = waiting.findIndex((w) => w.type === m.type && (w.id === undefined || w.id === m.id));
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(m);
  });
  return {
    child,
    next: (type, id, ms = 15_000) => withTimeout(new Promise((resolve) => waiting.push({ type, ...(id !== undefined ? { id } : {}), resolve })), ms, `no ${type} ${id ?? ''} from ${child.process.pid}: ${child.stderr().slice(-800)}`),
    last: (type) => lastOf.get(type),
    onMessage: (fn) => listeners.push(fn),
    send: (m) => child.process.stdin!.write(`${JSON.stringify(m)}\n`),
  };
}

function startPeer(netns: Netns, label: string, args: string[]): Lines {
  const child = spawnNode(label, ['--import', 'tsx', PEER, ...args], { stdin: 'pipe', wrap: netns.wrap });
  if (process.env.SPIKE_DEBUG) child.process.stderr!.pipe(process.stderr);
  return withLines(child);
}

interface CpuLevel {
  viewers: number;
  senderCpuPercent: number;
  /** Lowest complete-frame rate of any viewer in the window. */
  minViewerFps: number | null;
  meanViewerFps: number | null;
  gaps: number;
}

async function measureCpu(netns: Netns, stack: string): Promise<{ levels: CpuLevel[]; firstFrameMs: number[]; rssMb: number }> {
  const sender = startPeer(netns, `sender ${stack}`, ['sender', stack, CLIP]);
  const receivers = startPeer(netns, 'receivers', ['receivers']);
  sender.onMessage((m) => {
    if (m.type === 'offer') receivers.send(m);
  });
  receivers.onMessage((m) => {
    if (m.type === 'answer') sender.send(m);
  });
  await sender.next('ffmpeg');
  await sleep(1000);
  const pid = sender.child.process.pid!;
  const levels: CpuLevel[] = [];
  let added = 0;
  for (const level of LEVELS) {
    while (added < level) {
      const id = `${stack}-${added++}`;
      sender.send({ type: 'add', id });
      await sender.next('offer', id);
      await receivers.next('answer', id);
    }
    await sleep(SETTLE_MS);
    const before = (await receivers.next('stats')).viewers as Record<string, { frames: number; gaps: number; at: number }>;
    const cpu0 = processCpuSeconds(pid);
    const t0 = performance.now();
    await sleep(WINDOW_MS);
    const cpu1 = processCpuSeconds(pid);
    const t1 = performance.now();
    const after = (await receivers.next('stats')).viewers as Record<string, { frames: number; gaps: number; at: number }>;
    const fps = Object.keys(after)
      .filter((id) => before[id])
      .map((id) => ((after[id]!.frames - before[id]!.frames) * 1000) / (after[id]!.at - before[id]!.at));
    const gaps = Object.keys(after).reduce((n, id) => n + after[id]!.gaps - (before[id]?.gaps ?? 0), 0);
    levels.push({
      viewers: level,
      senderCpuPercent: Math.round(((cpu1 - cpu0) / ((t1 - t0) / 1000)) * 1000) / 10,
      minViewerFps: fps.length ? Math.round(Math.min(...fps) * 10) / 10 : null,
      meanViewerFps: fps.length ? Math.round((fps.reduce((a, b) => a + b, 0) / fps.length) * 10) / 10 : null,
      gaps,
    });
    progress(`${stack}: ${JSON.stringify(levels.at(-1))}`);
  }
  const final = (await receivers.next('stats')).viewers as Record<string, { firstFrameMs: number | null }>;
  const status = await run('cat', [`/proc/${pid}/status`]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status.stdout)?.[1] ?? 0);
  sender.send({ type: 'exit' });
  await sender.child.stop();
  await receivers.child.stop();
  return { levels, firstFrameMs: Object.values(final).map((v) => Math.round(v.firstFrameMs ?? -1)), rssMb: Math.round(rssKb / 1024) };
}

// ---------------------------------------------------------------------------------------------
// Chromium

const PAGE_SCRIPT = `
window.watch = async (offerSdp) => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.pc = pc;
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true;
  document.body.appendChild(video);
  const t0 = performance.now();
  window.firstFrameMs = null;
  window.connectedMs = null;
  pc.onconnectionstatechange = () => { if (pc.connectionState === 'connected' && window.connectedMs === null) window.connectedMs = performance.now() - t0; };
  pc.ontrack = (e) => {
    video.srcObject = new MediaStream([e.track]);
    video.requestVideoFrameCallback(() => { window.firstFrameMs = performance.now() - t0; });
  };
  await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== 'complete') await new Promise((r) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r()));
  return pc.localDescription.sdp;
};
window.videoStats = async () => {
  const report = await window.pc.getStats();
  let inbound, codec;
  report.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') inbound = s; });
  if (inbound && inbound.codecId) codec = report.get(inbound.codecId);
  return inbound ? { mimeType: codec && codec.mimeType, frameWidth: inbound.frameWidth, frameHeight: inbound.frameHeight, framesDecoded: inbound.framesDecoded, framesDropped: inbound.framesDropped, packetsLost: inbound.packetsLost, nackCount: inbound.nackCount, pliCount: inbound.pliCount, freezeCount: inbound.freezeCount, totalFreezesDuration: inbound.totalFreezesDuration, jitterBufferDelay: inbound.jitterBufferDelay, jitterBufferEmittedCount: inbound.jitterBufferEmittedCount, decoderImplementation: inbound.decoderImplementation } : null;
};
`;

/** 3 % of every UDP packet in the namespace dropped (nftables; netem needs a kernel module this machine lacks). */
async function lossOn(netns: Netns): Promise<void> {
  const nft = (...args: string[]) => run('ip', ['netns', 'exec', netns.name, 'nft', ...args]);
  await nft('add', 'table', 'inet', 'spike');
  await nft('add', 'chain', 'inet', 'spike', 'out', '{ type filter hook output priority 0; }');
  await nft('add', 'rule', 'inet', 'spike', 'out', 'meta', 'l4proto', 'udp', 'numgen', 'random', 'mod', '100', '<', '3', 'drop');
}

interface ChromiumRun {
  connectedMs: number | null;
  firstFrameMs: number | null;
  clean: Record<string, unknown> | null;
  /** Over 5 s with 3 % loss on lo. */
  lossy: { framesDecodedPerS: number; nackSent: number; pliSent: number; packetsLost: number; freezes: number; freezeSeconds: number; sender: { nack: number; pli: number } } | null;
}

async function chromiumRun(netns: Netns, context: BrowserContext, stack: string): Promise<ChromiumRun> {
  const page: Page = await context.newPage();
  await page.setContent('<html><body></body></html>');
  await page.addScriptTag({ content: PAGE_SCRIPT });
  const sender = startPeer(netns, `sender ${stack} (chromium)`, ['sender', stack, CLIP]);
  await sender.next('ffmpeg');
  await sleep(500);
  sender.send({ type: 'add', id: 'chromium' });
  const offer = await sender.next('offer', 'chromium');
  const answer = await page.evaluate(async (sdp) => (globalThis as unknown as { watch(s: string): Promise<string> }).watch(sdp), String(offer.sdp));
  sender.send({ type: 'answer', id: 'chromium', sdp: answer });
  const deadline = Date.now() + 8000;
  let first: { connectedMs: number | null; firstFrameMs: number | null } = { connectedMs: null, firstFrameMs: null };
  while (Date.now() < deadline) {
    first = await page.evaluate(() => ({ connectedMs: (globalThis as unknown as { connectedMs: number | null }).connectedMs, firstFrameMs: (globalThis as unknown as { firstFrameMs: number | null }).firstFrameMs }));
    if (first.firstFrameMs !== null) break;
    await sleep(50);
  }
  await sleep(3000);
  const stat = (): Promise<Record<string, number | string> | null> => page.evaluate(async () => (globalThis as unknown as { videoStats(): Promise<Record<string, number | string> | null> }).videoStats());
  const clean = await stat();
  let lossy: ChromiumRun['lossy'] = null;
  if (clean) {
    const c0 = (sender.last('counters') ?? { nack: 0, pli: 0 }) as { nack: number; pli: number };
    await lossOn(netns);
    const t0 = performance.now();
    await sleep(5000);
    const lossyStats = await stat();
    const t1 = performance.now();
    await run('ip', ['netns', 'exec', netns.name, 'nft', 'delete', 'table', 'inet', 'spike']);
    await sleep(1100);
    const c1 = (sender.last('counters') ?? { nack: 0, pli: 0 }) as { nack: number; pli: number };
    if (lossyStats) {
      const n = (k: string, s: Record<string, number | string>): number => Number(s[k] ?? 0);
      lossy = {
        framesDecodedPerS: Math.round(((n('framesDecoded', lossyStats) - n('framesDecoded', clean)) * 10000) / (t1 - t0)) / 10,
        nackSent: n('nackCount', lossyStats) - n('nackCount', clean),
        pliSent: n('pliCount', lossyStats) - n('pliCount', clean),
        packetsLost: n('packetsLost', lossyStats) - n('packetsLost', clean),
        freezes: n('freezeCount', lossyStats) - n('freezeCount', clean),
        freezeSeconds: Math.round((n('totalFreezesDuration', lossyStats) - n('totalFreezesDuration', clean)) * 100) / 100,
        sender: { nack: c1.nack - c0.nack, pli: c1.pli - c0.pli },
      };
    }
  }
  sender.send({ type: 'exit' });
  await sender.child.stop();
  await page.close();
  return { ...first, clean, lossy };
}

async function main(): Promise<void> {
  await makeClip();
  const netns = await createNetns((fn) => onCleanup('namespace', fn));
  const result: Record<string, unknown> = { when: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), shared: 'a 2-core machine shared by six developers: CPU-time numbers, not wall-clock' };
  for (const stack of STACKS) {
    try {
      result[`${stack}.cpu`] = await measureCpu(netns, stack);
    } catch (err) {
      result[`${stack}.cpu`] = { error: (err as Error).message.slice(0, 600) };
      progress(`${stack} cpu failed: ${(err as Error).message.slice(0, 600)}`);
    }
  }
  const dir = await tempDir('lancam-spike-');
  const context = await launchChromiumInNetns(netns.wrap, { binDir: dir, profileDir: path.join(dir, 'profile') });
  onCleanup('chromium', () => context.close());
  for (const stack of STACKS) {
    try {
      result[`${stack}.chromium`] = await chromiumRun(netns, context, stack);
      progress(`${stack} chromium: ${JSON.stringify(result[`${stack}.chromium`])}`);
    } catch (err) {
      result[`${stack}.chromium`] = { error: (err as Error).message.slice(0, 600) };
      progress(`${stack} chromium failed: ${(err as Error).message.slice(0, 600)}`);
    }
  }
  result.loadavgAfter = os.loadavg();
  await mkdir(path.join(BENCH_DIR, 'results'), { recursive: true });
  await writeFile(path.join(BENCH_DIR, 'results', 'video-stack-spike.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`spike failed: ${(err as Error).stack}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    const problems = await runCleanups();
    for (const p of problems) process.stderr.write(`cleanup: ${p}\n`);
    process.exit();
  });
