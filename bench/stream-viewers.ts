/**
 * The viewers of the "streams" benchmark (bench/streams.ts), a child process of its own so that
 * neither the device nor Janus shares a process with them: node-datachannel peers that count
 * complete frames (RTP marker bit with no sequence gap since the previous one) without decoding
 * anything, so the server is what is measured.
 *
 *   stream-viewers.ts lancam <host> <port> [home]
 *                                            pairs as the camera's admin (local-initial; or uses the
 *                                            already paired client home `home`), opens one
 *                                            DeviceSession and signals every viewer over it with the
 *                                            companion's own ViewerPeer (what `lancam watch` does).
 *   stream-viewers.ts janus <url> <id>       drives Janus's HTTP API (create, attach the streaming
 *                                            plugin, watch, answer with start) per viewer.
 *
 * Commands are JSON lines on stdin: {type:'add', id}, {type:'remove', id}, {type:'exit'}.
 * Out on stdout: {type:'ready'}, {type:'added', id} (once signaled), {type:'error', id, message},
 * and every 500 ms {type:'stats', viewers: {id: {frames, gaps, bytes, firstFrameMs, at}}}.
 *
 * Network safety: runs inside the benchmark's network namespace (only `lo`); every peer binds
 * 127.0.0.1 and has no ICE server; the lancam viewers also filter candidates to 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type * as NdcModule from 'node-datachannel';
import { DeviceSession } from '../src/companion/device-session';
import { openHome } from '../src/companion/home';
import { KnownDeviceStore } from '../src/companion/known-devices';
import { pair } from '../src/companion/pairing';
import { lanTransport } from '../src/companion/video/signaling-transport';
import { ViewerPeer, type PeerConnectionLike } from '../src/shared/video/viewer-peer';

type Ndc = typeof NdcModule;
type Msg = Record<string, unknown> & { type: string };
const LOOPBACK = process.env.VIEWER_BIND ?? '127.0.0.1';

function out(message: Msg): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

interface Counter {
  frames: number;
  bytes: number;
  gaps: number;
  audioTracks: number;
  audioBytes: number;
  startedAt: number;
  firstFrameAt?: number;
}

const counters = new Map<string, Counter>();
/** node-datachannel wrappers must stay referenced: a collected PeerConnection or Track stops delivering. */
const held = new Map<string, unknown[]>();

/**
 * Counts complete frames of one video track's RTP (no decoding). An audio track (lancam's
 * h264 stack offers the source's sound, e.g. the pattern's tone) is accepted by libdatachannel's
 * answer but ignored here: counted in `audioTracks`, its packets in `audioBytes`, never as frames.
 */
function countFrames(ndc: Ndc, id: string, track: InstanceType<Ndc['Track']>): void {
  const c = counters.get(id)!;
  if (track.type() !== 'video') {
    c.audioTracks++;
    const session = new ndc.RtcpReceivingSession();
    held.get(id)?.push(track, session);
    track.setMediaHandler(session);
    track.onMessage((buf) => (c.audioBytes += buf.length));
    return;
  }
  const session = new ndc.RtcpReceivingSession();
  held.get(id)?.push(track, session);
  track.setMediaHandler(session);
  let lastSeq = -1;
  let broken = false;
  track.onMessage((buf) => {
    if (buf.length < 12 || buf[0]! >> 6 !== 2) return;
    const pt = buf[1]! & 0x7f;
    if (pt >= 72 && pt <= 79) return; // RTCP
    const seq = buf.readUInt16BE(2);
    if (lastSeq >= 0 && seq !== ((lastSeq + 1) & 0xffff)) {
      c.gaps++;
      broken = true;
    }
    lastSeq = seq;
    c.bytes += buf.length;
    if (buf[1]! & 0x80) {
      if (!broken) {
        c.frames++;
        c.firstFrameAt ??= performance.now();
      }
      broken = false;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// lancam: the companion's ViewerPeer over a counting node-datachannel peer

class CountingPeer implements PeerConnectionLike {
  onicecandidate: PeerConnectionLike['onicecandidate'] = null;
  ontrack: PeerConnectionLike['ontrack'] = null;
  onconnectionstatechange: (() => void) | null = null;
  private readonly pc: InstanceType<Ndc['PeerConnection']>;
  private state = 'new';
  private answer: Promise<string> | undefined;

  constructor(ndc: Ndc, id: string) {
    this.pc = new ndc.PeerConnection(`lancam-${id}`, { iceServers: [], bindAddress: LOOPBACK });
    held.get(id)!.push(this.pc);
    this.pc.onStateChange((state) => {
      this.state = state;
      this.onconnectionstatechange?.();
    });
    this.pc.onLocalCandidate((candidate, mid) => this.onicecandidate?.({ candidate: { candidate: candidate.replace(/^a=/, ''), sdpMid: mid, sdpMLineIndex: 0 } }));
    this.pc.onTrack((track) => countFrames(ndc, id, track));
  }

  get signalingState(): string {
    return this.pc.signalingState();
  }

  get connectionState(): string {
    return this.state;
  }

  async setRemoteDescription(description: { type: string; sdp?: string }): Promise<void> {
    if (description.type !== 'offer' || !description.sdp) throw new Error(`expected an offer, got ${description.type}`);
    this.answer = new Promise((resolve) => {
      this.pc.onLocalDescription((sdp, type) => {
        if (String(type).toLowerCase() === 'answer') resolve(sdp);
      });
    });
    this.pc.setRemoteDescription(description.sdp, 'offer');
  }

  async createAnswer(): Promise<{ type: 'answer'; sdp: string }> {
    if (!this.answer) throw new Error('no offer to answer');
    return { type: 'answer', sdp: await this.answer };
  }

  async setLocalDescription(): Promise<void> {
    // libdatachannel applied its answer when it made it.
  }

  async addIceCandidate(candidate: { candidate: string; sdpMid?: string | null }): Promise<void> {
    this.pc.addRemoteCandidate(candidate.candidate, candidate.sdpMid ?? '0');
  }

  async getStats(): Promise<unknown> {
    return new Map();
  }

  close(): void {
    try {
      this.pc.close();
    } catch {
      // already closed
    }
  }
}

async function lancamViewers(ndc: Ndc, host: string, port: number, pairedHome: string | undefined): Promise<{ add(id: string): Promise<void>; remove(id: string): void; close(): Promise<void> }> {
  const dir = pairedHome ?? (await mkdtemp(path.join(os.tmpdir(), 'lancam-bench-viewers-')));
  const home = await openHome(dir);
  const store = new KnownDeviceStore(home.devicesFile);
  const target = { address: { host, port } };
  if (!pairedHome) await pair({ home, store, target, mode: 'local-initial', fingerprintName: 'lancam bench viewers' });
  // One connection per viewer, as separate viewers would have (the camera allows 4 video sessions per connection).
  const peers = new Map<string, { peer: ViewerPeer; off: () => void; session: DeviceSession }>();
  const remove = (id: string): void => {
    const p = peers.get(id);
    p?.peer.close();
    p?.off();
    // Let the CLOSE reach the camera before the connection goes.
    if (p) setTimeout(() => p.session.close(), 200).unref();
    peers.delete(id);
  };
  return {
    async add(id) {
      const session = await DeviceSession.open({ home, store, target });
      if (!session.known) throw new Error('the session is not to a paired device');
      const transport = lanTransport(session);
      const sessionId = randomBytes(8).toString('base64url');
      const peer = new ViewerPeer({
        createPeerConnection: () => new CountingPeer(ndc, id),
        send: (message) => transport.send(sessionId, message),
        iceAddresses: [LOOPBACK],
        onTrack: () => undefined,
        onClose: (reason) => out({ type: 'closed', id, reason }),
      });
      const off = transport.subscribe(
        sessionId,
        (message) => peer.receive(message).catch((err: unknown) => peer.close(`signaling failed: ${(err as Error).message}`)),
        (reason) => peer.close(reason, false),
      );
      peers.set(id, { peer, off, session });
      await peer.start();
    },
    remove,
    async close() {
      for (const id of [...peers.keys()]) remove(id);
      await new Promise((resolve) => setTimeout(resolve, 300));
      if (!pairedHome) await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Janus: its HTTP API (long poll for events), one Janus session and handle per viewer

async function janusCall(url: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, transaction: randomBytes(6).toString('hex') }) });
  const reply = (await res.json()) as Record<string, unknown>;
  if (reply.janus === 'error') throw new Error(`janus: ${JSON.stringify(reply.error)}`);
  return reply;
}

function janusViewers(ndc: Ndc, base: string, mountpoint: number): { add(id: string): Promise<void>; remove(id: string): void; close(): Promise<void> } {
  const viewers = new Map<string, { sessionUrl: string; pc: InstanceType<Ndc['PeerConnection']>; stop: () => void }>();
  return {
    async add(id) {
      const created = await janusCall(base, { janus: 'create' });
      const sessionUrl = `${base}/${(created.data as { id: number }).id}`;
      const attached = await janusCall(sessionUrl, { janus: 'attach', plugin: 'janus.plugin.streaming' });
      const handleUrl = `${sessionUrl}/${(attached.data as { id: number }).id}`;
      let polling = true;
      const offer = new Promise<string>((resolve, reject) => {
        const poll = async (): Promise<void> => {
          while (polling) {
            try {
              const res = await fetch(`${sessionUrl}?maxev=5&rid=${Date.now()}`);
              const events = (await res.json()) as Record<string, unknown> | Record<string, unknown>[];
              for (const e of Array.isArray(events) ? events : [events]) {
                const jsep = e.jsep as { type: string; sdp: string } | undefined;
                if (jsep?.type === 'offer') resolve(jsep.sdp);
                const data = (e.plugindata as { data?: Record<string, unknown> } | undefined)?.data;
                if (data?.error) reject(new Error(`janus: ${String(data.error)}`));
              }
            } catch (err) {
              if (polling) reject(err as Error);
              return;
            }
          }
        };
        void poll();
      });
      const pc = new ndc.PeerConnection(`janus-${id}`, { iceServers: [], bindAddress: LOOPBACK });
      held.get(id)!.push(pc);
      pc.onTrack((track) => countFrames(ndc, id, track));
      viewers.set(id, { sessionUrl, pc, stop: () => (polling = false) });
      await janusCall(handleUrl, { janus: 'message', body: { request: 'watch', id: mountpoint } });
      const sdp = await offer;
      const answer = await new Promise<string>((resolve) => {
        pc.onGatheringStateChange((state) => {
          if (state === 'complete') resolve(pc.localDescription()!.sdp);
        });
        pc.setRemoteDescription(sdp, 'offer');
      });
      await janusCall(handleUrl, { janus: 'message', body: { request: 'start' }, jsep: { type: 'answer', sdp: answer } });
      await janusCall(handleUrl, { janus: 'trickle', candidate: { completed: true } });
    },
    remove(id) {
      const v = viewers.get(id);
      if (!v) return;
      v.stop();
      try {
        v.pc.close();
      } catch {
        // already closed
      }
      void janusCall(v.sessionUrl, { janus: 'destroy' }).catch(() => undefined);
      viewers.delete(id);
    },
    async close() {
      for (const id of [...viewers.keys()]) this.remove(id);
    },
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const [kind, a, b, c] = process.argv.slice(2);
  if ((kind !== 'lancam' && kind !== 'janus') || !a || !b) {
    process.stderr.write('usage: stream-viewers.ts lancam <host> <port> [home] | janus <url> <mountpoint id>\n');
    process.exit(2);
  }
  const ndc = await import('node-datachannel');
  const impl = kind === 'lancam' ? await lancamViewers(ndc, a, Number(b), c) : janusViewers(ndc, a, Number(b));
  out({ type: 'ready' });
  setInterval(() => {
    const now = performance.now();
    out({
      type: 'stats',
      viewers: Object.fromEntries([...counters].map(([id, c]) => [id, { frames: c.frames, bytes: c.bytes, gaps: c.gaps, audioTracks: c.audioTracks, audioBytes: c.audioBytes, firstFrameMs: c.firstFrameAt !== undefined ? c.firstFrameAt - c.startedAt : null, at: now }])),
    });
  }, 500).unref();
  const exit = async (): Promise<void> => {
    await impl.close().catch(() => undefined);
    process.exit(0);
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (!line.trim()) return;
    const m = JSON.parse(line) as Msg;
    const id = String(m.id);
    if (m.type === 'add') {
      counters.set(id, { frames: 0, bytes: 0, gaps: 0, audioTracks: 0, audioBytes: 0, startedAt: performance.now() });
      held.set(id, []);
      impl.add(id).then(
        () => out({ type: 'added', id }),
        (err: unknown) => out({ type: 'error', id, message: (err as Error).message }),
      );
    } else if (m.type === 'remove') {
      impl.remove(id);
      counters.delete(id);
      held.delete(id);
    } else if (m.type === 'exit') {
      void exit();
    }
  });
  process.stdin.on('end', () => void exit());
}

main().catch((err: unknown) => {
  out({ type: 'fatal', message: (err as Error).stack ?? String(err) });
  process.exit(1);
});
