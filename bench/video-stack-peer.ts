/**
 * The child processes of the WebRTC stack spike (bench/video-stack-spike.ts), one role each, so
 * that each process's CPU time is its own:
 *
 *   sender <ndc|werift> <file.ts>     reads a pre-encoded Annex B H.264 stream (ffmpeg -re -c copy,
 *                                    a child whose CPU is not counted here), splits it into access
 *                                    units and sends every unit to every viewer: per viewer an
 *                                    H.264 RTP packetizer, SRTP, RTCP (SR, NACK answers, PLI counted).
 *   receivers                       node-datachannel peers that count complete frames (RTP marker
 *                                    bit, no sequence gap) without decoding them.
 *
 * Signaling is JSON lines on stdin/stdout, relayed by the spike. Everything runs inside the
 * spike's own network namespace (only `lo`), and no ICE server is ever configured.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { AccessUnitSplitter } from '../src/device/video/h264/annexb';

type Msg = Record<string, unknown> & { type: string };

function debug(message: string): void {
  if (process.env.SPIKE_DEBUG) process.stderr.write(`${message}\n`);
}

function out(message: Msg): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function lines(onMessage: (m: Msg) => void): void {
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim()) onMessage(JSON.parse(line) as Msg);
  });
  process.stdin.on('end', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
/** Is this RTCP compound packet (or any part of it) a PLI (PT 206, FMT 1) or a NACK (PT 205, FMT 1)? */
function rtcpKinds(buf: Buffer): { pli: number; nack: number } {
  let pli = 0;
  let nack = 0;
  let off = 0;
  while (off + 4 <= buf.length) {
    const fmt = buf[off]! & 0x1f;
    const pt = buf[off + 1]!;
    const len = (buf.readUInt16BE(off + 2) + 1) * 4;
    if (pt === 206 && fmt === 1) pli++;
    if (pt === 205 && fmt === 1) nack++;
    off += len;
  }
  return { pli, nack };
}

// ---------------------------------------------------------------------------------------------
// Senders

interface Viewer {
  waitingForKeyframe: boolean;
  send(unit: Buffer, rtpTimestamp: number): void;
  close(): void;
}

const H264_FMTP = 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1';

async function ndcSender(): Promise<{ add(id: string): Promise<Viewer>; answer(id: string, sdp: string): void; counters: { pli: number; nack: number } }> {
  const ndc = await import('node-datachannel');
  const pcs = new Map<string, InstanceType<typeof ndc.PeerConnection>>();
  const counters = { pli: 0, nack: 0 };
  return {
    counters,
    async add(id) {
      const pc = new ndc.PeerConnection(id, { iceServers: [], bindAddress: '127.0.0.1' });
      pcs.set(id, pc);
      pc.onStateChange((state) => debug(`sender ${id}: ${state}`));
      const ssrc = 1000 + pcs.size;
      const video = new ndc.Video('video', 'SendOnly');
      video.addH264Codec(96, H264_FMTP);
      video.addSSRC(ssrc, 'lancam', 'lancam', 'video');
      const track = pc.addTrack(video);
      const config = new ndc.RtpPacketizationConfig(ssrc, 'lancam', 96, 90000);
      const packetizer = new ndc.H264RtpPacketizer('StartSequence', config);
      packetizer.addToChain(new ndc.RtcpSrReporter(config));
      packetizer.addToChain(new ndc.RtcpNackResponder());
      track.setMediaHandler(packetizer);
      track.onOpen(() => debug(`sender ${id}: track open`));
      track.onMessage((buf) => {
        const k = rtcpKinds(buf);
        counters.pli += k.pli;
        counters.nack += k.nack;
      });
      const sdp = await new Promise<string>((resolve) => {
        pc.onGatheringStateChange((state) => {
          if (state === 'complete') resolve(pc.localDescription()!.sdp);
        });
        pc.setLocalDescription();
      });
      out({ type: 'offer', id, sdp });
      return {
        waitingForKeyframe: true,
        send(unit, rtpTimestamp) {
          if (!track.isOpen()) return;
          config.timestamp = rtpTimestamp;
          track.sendMessageBinary(unit);
        },
        close() {
          track.close();
          pc.close();
        },
      };
    },
    answer(id, sdp) {
      pcs.get(id)?.setRemoteDescription(sdp, 'answer');
    },
  };
}

async function weriftSender(): Promise<{ add(id: string): Promise<Viewer>; answer(id: string, sdp: string): Promise<void>; counters: { pli: number; nack: number } }> {
  const w = await import('werift');
  const pcs = new Map<string, InstanceType<typeof w.RTCPeerConnection>>();
  const counters = { pli: 0, nack: 0 };
  return {
    counters,
    async add(id) {
      const pc = new w.RTCPeerConnection({
        iceServers: [],
        iceAdditionalHostAddresses: ['127.0.0.1'],
        codecs: {
          video: [
            new w.RTCRtpCodecParameters({
              mimeType: 'video/H264',
              clockRate: 90000,
              payloadType: 96,
              rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
              parameters: H264_FMTP,
            }),
          ],
          audio: [],
        },
      });
      pcs.set(id, pc);
      const track = new w.MediaStreamTrack({ kind: 'video' });
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
      transceiver.sender.onPictureLossIndication.subscribe(() => counters.pli++);
      transceiver.sender.onGenericNack.subscribe(() => counters.nack++);
      const packetizer = new w.H264Packetizer({ payloadType: 96 });
      await pc.setLocalDescription(await pc.createOffer());
      if (pc.iceGatheringState !== 'complete') {
        await new Promise<void>((resolve) => pc.iceGatheringStateChange.subscribe((s) => s === 'complete' && resolve()));
      }
      out({ type: 'offer', id, sdp: pc.localDescription!.sdp });
      let connected = false;
      pc.connectionStateChange.subscribe((s) => {
        connected = s === 'connected';
      });
      return {
        waitingForKeyframe: true,
        send(unit, rtpTimestamp) {
          if (!connected) return;
          for (const packet of packetizer.packetize(unit, rtpTimestamp)) track.writeRtp(packet);
        },
        close() {
          void pc.close();
        },
      };
    },
    async answer(id, sdp) {
      await pcs.get(id)?.setRemoteDescription({ type: 'answer', sdp });
    },
  };
}

async function sender(stack: string, file: string): Promise<void> {
  const impl = stack === 'ndc' ? await ndcSender() : await weriftSender();
  const viewers = new Map<string, Viewer>();
  let frames = 0;
  const ffmpeg = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'h264', '-'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  out({ type: 'ffmpeg', pid: ffmpeg.pid });
  const splitter = new AccessUnitSplitter(({ data, keyframe }) => {
    const ts = (frames++ * 3000) >>> 0;
    for (const v of viewers.values()) {
      if (v.waitingForKeyframe && !keyframe) continue;
      v.waitingForKeyframe = false;
      v.send(data, ts);
    }
  });
  ffmpeg.stdout.on('data', (chunk: Buffer) => splitter.push(chunk));
  setInterval(() => out({ type: 'counters', frames, ...impl.counters }), 1000).unref();
  process.on('exit', () => ffmpeg.kill('SIGKILL'));
  lines(async (m) => {
    if (m.type === 'add') viewers.set(String(m.id), await impl.add(String(m.id)));
    else if (m.type === 'answer') await impl.answer(String(m.id), String(m.sdp));
    else if (m.type === 'remove') {
      viewers.get(String(m.id))?.close();
      viewers.delete(String(m.id));
    } else if (m.type === 'exit') {
      ffmpeg.kill('SIGKILL');
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Receivers: count complete frames, never decode.

async function receivers(): Promise<void> {
  const ndc = await import('node-datachannel');
  const keep: unknown[] = [];
  const stats = new Map<string, { frames: number; bytes: number; gaps: number; firstFrameAt?: number; startedAt: number }>();
  lines((m) => {
    if (m.type !== 'offer') return;
    const id = String(m.id);
    const s: { frames: number; bytes: number; gaps: number; firstFrameAt?: number; startedAt: number } = { frames: 0, bytes: 0, gaps: 0, startedAt: performance.now() };
    stats.set(id, s);
    const pc = new ndc.PeerConnection(`r${id}`, { iceServers: [], bindAddress: '127.0.0.1' });
    pc.onStateChange((state) => debug(`receiver ${id}: ${state}`));
    // The peer and its track must stay referenced: a collected wrapper stops delivering.
    const held: unknown[] = [pc];
    keep.push(held);
    pc.onTrack((track) => {
      held.push(track);
      debug(`receiver ${id}: track ${track.mid()}`);
      track.onOpen(() => debug(`receiver ${id}: track open`));
      track.setMediaHandler(new ndc.RtcpReceivingSession());
      let lastSeq = -1;
      let broken = false;
      track.onMessage((buf) => {
        if (buf.length < 12 || (buf[1]! & 0x7f) !== 96) return;
        const seq = buf.readUInt16BE(2);
        if (lastSeq >= 0 && seq !== ((lastSeq + 1) & 0xffff)) {
          s.gaps++;
          broken = true;
        }
        lastSeq = seq;
        s.bytes += buf.length;
        if (buf[1]! & 0x80) {
          if (!broken) {
            s.frames++;
            s.firstFrameAt ??= performance.now();
          }
          broken = false;
        }
      });
    });
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') out({ type: 'answer', id, sdp: pc.localDescription()!.sdp });
    });
    pc.setRemoteDescription(String(m.sdp), 'offer');
  });
  setInterval(() => {
    const now = performance.now();
    debug(`receivers: ${[...stats].map(([id, s]) => `${id}=${s.frames}/${s.bytes}`).join(' ')}`);
    out({
      type: 'stats',
      viewers: Object.fromEntries([...stats].map(([id, s]) => [id, { frames: s.frames, bytes: s.bytes, gaps: s.gaps, firstFrameMs: s.firstFrameAt !== undefined ? s.firstFrameAt - s.startedAt : null, at: now }])),
    });
  }, 500).unref();
}

const [role, a, b] = process.argv.slice(2);
if (role === 'sender') void sender(a!, b!);
else if (role === 'receivers') void receivers();
else {
  process.stderr.write('usage: video-stack-peer.ts sender <ndc|werift> <file.ts>  | receivers\n');
  process.exit(2);
}
