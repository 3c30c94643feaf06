/**
 * The moving parts of the "video" benchmark (bench/video.ts): a `lancam-device` process that
 * streams the test pattern, in-process lancam viewers (DeviceSession + CameraViewer, as
 * `lancam watch` does), a bare @roamhq/wrtc sender/receiver pair for the baseline, and process
 * CPU from /proc.
 *
 * Network safety (ARCHITECTURE.md): the device listens on 127.0.0.1 with --no-mdns and is
 * started with `--ice-address 127.0.0.1`; lancam viewers pass `iceAddresses: ['127.0.0.1']`;
 * the bare pair exchanges only UDP host candidates on 127.0.0.1 (checked field by field) and
 * descriptions with every a=candidate line stripped (the only other change to a description is the
 * optional x-google-start-bitrate fmtp line). No ICE server anywhere (`iceServers: []`,
 * and the device gets no --ice-server). Every process, channel and peer connection made here is
 * registered with onCleanup, so run.ts stops it even when the benchmark throws.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import wrtc from '@roamhq/wrtc';
import { DeviceSession } from '../src/companion/device-session';
import { openHome, type ClientHome } from '../src/companion/home';
import { KnownDeviceStore } from '../src/companion/known-devices';
import { pair } from '../src/companion/pairing';
import { CameraViewer, type I420Frame } from '../src/companion/video/camera-viewer';
import { PatternSource } from '../src/device/video/pattern-source';
import { decodeI420 } from '../src/shared/video/test-pattern';
import { LOOPBACK, REPO, onCleanup, spawnNode, tempDir, withTimeout, type Child } from './lib';

const DEVICE_BIN = path.join(REPO, 'bin/lancam-device');
export const STEP_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// The device

export interface VideoDevice extends Child {
  host: string;
  port: number;
  pid: number;
  width: number;
  height: number;
  fps: number;
}

/** Starts `lancam-device` on 127.0.0.1 with the test pattern at `width`x`height`@`fps`, loopback ICE only. */
export async function startVideoDevice(width: number, height: number, fps: number): Promise<VideoDevice> {
  const stateDir = await tempDir('lancam-bench-video-device-');
  const child = spawnNode(`lancam-device ${width}x${height}`, [
    DEVICE_BIN,
    '--state-dir', stateDir,
    '--host', LOOPBACK,
    '--port', '0',
    '--no-mdns',
    '--ice-address', LOOPBACK,
    '--source', 'pattern',
    // This benchmark measures the vp8 stack (one libwebrtc encoder per viewer, viewers decode VP8);
    // the default H.264 stack is measured by bench/streams.ts and bench/streams-chromium.ts.
    '--video-stack', 'vp8',
    '--size', `${width}x${height}`,
    '--fps', String(fps),
    '--max-viewers', '16',
    // The bench's viewers are all one user; the per-user cap (a defence against a greedy guest) would stop it at 4.
    '--max-viewers-per-user', '16',
  ]);
  const m = await child.waitFor(/listening on (\S+):(\d+)/, 20_000, '"listening on" line');
  if (m[1] !== LOOPBACK) throw new Error(`lancam-device listens on ${m[1]}, expected ${LOOPBACK}`);
  const pid = child.process.pid;
  if (pid === undefined) throw new Error('lancam-device has no pid');
  return { ...child, host: m[1], port: Number(m[2]), pid, width, height, fps };
}

/** The bench's client home: key, known-device store. */
export interface Client {
  home: ClientHome;
  store: KnownDeviceStore;
}

export async function createClient(): Promise<Client> {
  const home = await openHome(await tempDir('lancam-bench-video-home-'));
  return { home, store: new KnownDeviceStore(home.devicesFile) };
}

/** Pairs the client as the device's initial user (admin) by local-initial pairing. */
export async function pairAsAdmin(client: Client, device: VideoDevice): Promise<string> {
  const result = await withTimeout(
    pair({ home: client.home, store: client.store, target: { address: { host: device.host, port: device.port } }, mode: 'local-initial', fingerprintName: 'lancam bench' }),
    STEP_TIMEOUT_MS,
    'local-initial pairing did not finish',
  );
  return `${result.username} (${result.role ?? '?'})`;
}

export async function openSession(client: Client, device: VideoDevice): Promise<DeviceSession> {
  const session = await withTimeout(
    DeviceSession.open({ home: client.home, store: client.store, target: { address: { host: device.host, port: device.port } } }),
    STEP_TIMEOUT_MS,
    'the device session did not open',
  );
  if (!session.known) {
    session.close();
    throw new Error('the device session is not to a paired device');
  }
  return session;
}

export async function closeSession(session: DeviceSession): Promise<void> {
  const peer = session.channel.peer;
  if (!peer.isOpen) return;
  const closed = new Promise<void>((resolve) => peer.once('close', () => resolve()));
  session.close();
  await withTimeout(closed, STEP_TIMEOUT_MS, 'the channel did not close');
}

// ---------------------------------------------------------------------------------------------
// lancam viewers

/** One viewer on its own channel: DeviceSession + CameraViewer, counting frames (nothing else). */
export interface Watcher {
  session: DeviceSession;
  viewer: CameraViewer;
  /** Frames delivered so far. */
  frames: number;
  /** Frames smaller than the device's size (the sender adapted the resolution). */
  smallFrames: number;
  firstFrame: Promise<number>;
  close(): Promise<void>;
}

const openWatchers = new Set<Watcher>();
let watcherCleanupRegistered = false;

/**
 * Opens a channel (if `session` is not given) and a CameraViewer on it. `onFrame` runs for each
 * frame (keep it light); `firstFrame` resolves with performance.now() at the first frame.
 */
export async function openWatcher(
  client: Client,
  device: VideoDevice,
  options: { session?: DeviceSession; onFrame?: (frame: I420Frame, receivedAtMs: number) => void } = {},
): Promise<Watcher> {
  if (!watcherCleanupRegistered) {
    watcherCleanupRegistered = true;
    onCleanup('close lancam viewers', async () => {
      watcherCleanupRegistered = false;
      await Promise.all([...openWatchers].map((w) => w.close()));
    });
  }
  const session = options.session ?? (await openSession(client, device));
  let resolveFirst!: (at: number) => void;
  const firstFrame = new Promise<number>((resolve) => (resolveFirst = resolve));
  const counters = { frames: 0, smallFrames: 0 };
  let viewer: CameraViewer;
  try {
    viewer = await withTimeout(
      CameraViewer.open(session, {
        iceAddresses: [LOOPBACK],
        onFrame: (frame, receivedAtMs) => {
          if (counters.frames === 0) resolveFirst(performance.now());
          counters.frames++;
          if (frame.width < device.width) counters.smallFrames++;
          options.onFrame?.(frame, receivedAtMs);
        },
      }),
      STEP_TIMEOUT_MS,
      'the camera did not accept the video session',
    );
  } catch (err) {
    await closeSession(session).catch(() => undefined);
    throw err;
  }
  let closing: Promise<void> | undefined;
  const watcher: Watcher = {
    session,
    viewer,
    get frames() {
      return counters.frames;
    },
    get smallFrames() {
      return counters.smallFrames;
    },
    firstFrame,
    close: () =>
      (closing ??= (async () => {
        openWatchers.delete(watcher);
        viewer.close();
        await closeSession(session);
      })()),
  };
  openWatchers.add(watcher);
  return watcher;
}

// ---------------------------------------------------------------------------------------------
// The bare baseline: two wrtc peer connections in this process

const { RTCPeerConnection, nonstandard } = wrtc;
type PeerConnection = InstanceType<typeof RTCPeerConnection>;
type SdpType = 'offer' | 'answer' | 'pranswer' | 'rollback';
interface IceCandidateLike {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

/** `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...` */
function isLoopbackUdpHost(candidate: string): boolean {
  const fields = candidate.replace(/^candidate:/, '').split(' ');
  return fields[2]?.toLowerCase() === 'udp' && fields[4] === LOOPBACK && fields[6] === 'typ' && fields[7] === 'host';
}

function withoutCandidates(description: { type: SdpType; sdp?: string }): { type: SdpType; sdp: string } {
  const sdp = (description.sdp ?? '')
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') && !line.startsWith('a=end-of-candidates'))
    .join('\r\n');
  return { type: description.type, sdp };
}

const openBarePairs = new Set<() => void>();
let bareCleanupRegistered = false;

export interface BareRun {
  /** From pattern start + createOffer() to the first frame at the sink. */
  firstFrame: number;
  /** From the same start to the receiver's connectionState "connected" (ICE + DTLS done). */
  connected: number;
  /** The pattern's frame number of the first frame that arrived (0 = nothing was lost at the start). */
  firstFrameNumber: number | undefined;
}

/** Adds `a=fmtp:<vp8> x-google-start-bitrate=<kbps>` to a description (libwebrtc's start bitrate). */
function withStartBitrate(description: { type: SdpType; sdp: string }, kbps: number): { type: SdpType; sdp: string } {
  const pt = /a=rtpmap:(\d+) VP8\/90000/.exec(description.sdp)?.[1];
  if (pt === undefined) throw new Error('no VP8 in the description');
  const sdp = description.sdp.replace(new RegExp(`(a=rtpmap:${pt} VP8/90000\r\n)`), `$1a=fmtp:${pt} x-google-start-bitrate=${kbps}\r\n`);
  return { type: description.type, sdp };
}

/**
 * One bare session: a PatternSource (the device's own test-pattern source) feeding an
 * RTCVideoSource, a sender peer connection with its track (addTrack, as the device does), a
 * receiver with an RTCVideoSink. Timed from just before the pattern starts and createOffer() to
 * the first frame at the sink; everything is closed before this returns (not timed).
 * `startBitrateKbps` puts x-google-start-bitrate into the answer the sender applies.
 */
export async function bareTimeToFirstFrame(width: number, height: number, fps: number, options: { startBitrateKbps?: number } = {}): Promise<BareRun> {
  if (!bareCleanupRegistered) {
    bareCleanupRegistered = true;
    onCleanup('close bare wrtc peer connections', async () => {
      bareCleanupRegistered = false;
      for (const close of [...openBarePairs]) close();
    });
  }
  const sender = new RTCPeerConnection({ iceServers: [] });
  const receiver = new RTCPeerConnection({ iceServers: [] });
  const source = new nonstandard.RTCVideoSource();
  const track = source.createTrack();
  const pattern = new PatternSource(width, height, fps);
  pattern.on('frame', (frame) => source.onFrame({ width: frame.width, height: frame.height, data: frame.data }));
  let sink: { stop(): void; onframe: unknown } | undefined;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    openBarePairs.delete(close);
    void pattern.stop();
    sink?.stop();
    track.stop();
    sender.close();
    receiver.close();
  };
  openBarePairs.add(close);
  try {
    // Candidates that arrive before the remote description is set wait for it.
    const forward = (to: PeerConnection) => {
      const pending: IceCandidateLike[] = [];
      let ready = false;
      const add = (c: IceCandidateLike) => void to.addIceCandidate(c).catch(() => undefined);
      return {
        onCandidate: (event: { candidate: IceCandidateLike | null }) => {
          const candidate = event.candidate;
          if (!candidate || !isLoopbackUdpHost(candidate.candidate)) return;
          if (ready) add(candidate);
          else pending.push(candidate);
        },
        remoteSet: () => {
          ready = true;
          for (const c of pending.splice(0)) add(c);
        },
      };
    };
    const toReceiver = forward(receiver);
    const toSender = forward(sender);
    sender.onicecandidate = toReceiver.onCandidate;
    receiver.onicecandidate = toSender.onCandidate;

    let connectedAt = NaN;
    receiver.onconnectionstatechange = () => {
      if (receiver.connectionState === 'connected' && Number.isNaN(connectedAt)) connectedAt = performance.now();
    };
    let resolveFirst!: (first: { at: number; frameNumber: number | undefined }) => void;
    const firstFrame = new Promise<{ at: number; frameNumber: number | undefined }>((resolve) => (resolveFirst = resolve));
    let frames = 0;
    receiver.ontrack = (event: { track: unknown }) => {
      if (sink) return;
      const s = new nonstandard.RTCVideoSink(event.track as never);
      sink = s;
      s.onframe = ({ frame }: { frame: I420Frame }) => {
        if (frames++ > 0) return;
        const at = performance.now();
        resolveFirst({ at, frameNumber: decodeI420(frame)?.frameNumber });
      };
    };
    sender.addTrack(track);

    const t0 = performance.now();
    pattern.start();
    const offer = await sender.createOffer();
    await sender.setLocalDescription(offer);
    await receiver.setRemoteDescription(withoutCandidates(offer));
    toReceiver.remoteSet();
    const answer = await receiver.createAnswer();
    await receiver.setLocalDescription(answer);
    const remote = withoutCandidates(answer);
    await sender.setRemoteDescription(options.startBitrateKbps === undefined ? remote : withStartBitrate(remote, options.startBitrateKbps));
    toSender.remoteSet();
    const first = await withTimeout(firstFrame, STEP_TIMEOUT_MS, 'no frame at the bare wrtc receiver');
    return { firstFrame: first.at - t0, connected: connectedAt - t0, firstFrameNumber: first.frameNumber };
  } finally {
    close();
  }
}

// ---------------------------------------------------------------------------------------------
// CPU

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process (all its threads), in seconds, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond();
}

/** user + system CPU of this (the bench) process, in seconds. */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
