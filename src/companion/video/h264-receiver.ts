/**
 * Receiving a camera's H.264 in Node (the CLI viewer), for cameras on the `h264` stack:
 * node-datachannel receives the RTP, it is depacketized here (RFC 6184: single NAL units, STAP-A,
 * FU-A) into Annex B access units, and one ffmpeg process decodes them to I420 (read back as
 * YUV4MPEG2, whose header carries the size). @roamhq/wrtc has no H.264 decoder.
 *
 * `NdcPeerConnection` has the shape of RTCPeerConnection that ViewerPeer uses, so signaling,
 * candidate filtering and the viewer's numbers stay the same for both codecs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type * as NdcModule from 'node-datachannel';
import { toNdcIceServers } from '../../shared/video/ndc-ice-servers';
import type { IceServer } from '../../shared/protocol/webrtc-api';
import type { PeerConnectionLike } from '../../shared/video/viewer-peer';
import { audioCodecOf, OpusAudioTrack } from './audio-receiver';

type Ndc = typeof NdcModule;

export interface I420Picture {
  width: number;
  height: number;
  data: Uint8Array;
}

const START = Buffer.from([0, 0, 0, 1]);
/** An access unit larger than this is dropped (a broken or hostile stream cannot grow memory). */
export const MAX_UNIT_BYTES = 8 * 1024 * 1024;

/** RTP packets of one H.264 stream in, Annex B access units out (on the marker bit). */
export class H264Depacketizer {
  private parts: Buffer[] = [];
  private size = 0;
  private lastSeq: number | undefined;
  private broken = false;
  private inFragment = false;
  /** Access units thrown away because a packet was missing or they were malformed. */
  dropped = 0;

  constructor(
    private readonly onUnit: (unit: Buffer) => void,
    private readonly onLoss: () => void = () => undefined,
  ) {}

  push(packet: Uint8Array): void {
    const rtp = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    if (rtp.length < 12 || rtp[0]! >> 6 !== 2) return;
    const pt = rtp[1]! & 0x7f;
    if (pt >= 72 && pt <= 79) return; // RTCP multiplexed on the same port
    const marker = (rtp[1]! & 0x80) !== 0;
    const seq = rtp.readUInt16BE(2);
    if (this.lastSeq !== undefined && seq !== ((this.lastSeq + 1) & 0xffff)) {
      this.broken = true;
      this.onLoss();
    }
    this.lastSeq = seq;
    let offset = 12 + (rtp[0]! & 0x0f) * 4;
    if (rtp[0]! & 0x10) {
      if (offset + 4 > rtp.length) return;
      offset += 4 + rtp.readUInt16BE(offset + 2) * 4;
    }
    let end = rtp.length;
    if (rtp[0]! & 0x20) end -= rtp[end - 1]!;
    if (offset >= end) {
      if (marker) this.finish();
      return;
    }
    this.payload(rtp.subarray(offset, end));
    if (marker) this.finish();
  }

  private payload(p: Buffer): void {
    const type = p[0]! & 0x1f;
    if (type >= 1 && type <= 23) {
      this.append(START, p);
    } else if (type === 24) {
      // STAP-A: 16-bit size, NAL unit, repeated.
      let i = 1;
      while (i + 2 <= p.length) {
        const n = p.readUInt16BE(i);
        i += 2;
        if (n === 0 || i + n > p.length) {
          this.broken = true;
          return;
        }
        this.append(START, p.subarray(i, i + n));
        i += n;
      }
    } else if (type === 28) {
      if (p.length < 2) {
        this.broken = true;
        return;
      }
      const start = (p[1]! & 0x80) !== 0;
      const stop = (p[1]! & 0x40) !== 0;
      if (start) {
        this.append(START, Buffer.from([(p[0]! & 0xe0) | (p[1]! & 0x1f)]), p.subarray(2));
        this.inFragment = !stop;
      } else if (this.inFragment) {
        this.append(p.subarray(2));
        if (stop) this.inFragment = false;
      } else {
        this.broken = true;
      }
    } else {
      this.broken = true; // STAP-B, MTAP, FU-B: not used with packetization-mode=1 senders here
    }
  }

  private append(...chunks: Buffer[]): void {
    for (const c of chunks) {
      this.parts.push(Buffer.from(c));
      this.size += c.length;
    }
    if (this.size > MAX_UNIT_BYTES) {
      this.broken = true;
      this.parts = [];
      this.size = 0;
    }
  }

  private finish(): void {
    const unit = this.size > 0 && !this.broken ? Buffer.concat(this.parts) : undefined;
    if (this.broken || this.size === 0) this.dropped++;
    this.parts = [];
    this.size = 0;
    this.broken = false;
    this.inFragment = false;
    if (unit) this.onUnit(unit);
  }
}

/** YUV4MPEG2 (4:2:0) byte stream in, I420 pictures out. */
export class Y4mReader {
  private buf: Buffer = Buffer.alloc(0);
  private width = 0;
  private height = 0;

  constructor(private readonly onPicture: (picture: I420Picture) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (!this.width) {
        const nl = this.buf.indexOf(0x0a);
        if (nl < 0) return;
        const header = this.buf.subarray(0, nl).toString('latin1');
        const w = /\bW(\d+)/.exec(header);
        const h = /\bH(\d+)/.exec(header);
        if (!header.startsWith('YUV4MPEG2') || !w || !h) throw new Error(`not a YUV4MPEG2 stream: ${header.slice(0, 60)}`);
        this.width = Number(w[1]);
        this.height = Number(h[1]);
        this.buf = this.buf.subarray(nl + 1);
      }
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) return;
      const size = this.width * this.height + 2 * (Math.ceil(this.width / 2) * Math.ceil(this.height / 2));
      if (this.buf.length < nl + 1 + size) return;
      this.onPicture({ width: this.width, height: this.height, data: this.buf.subarray(nl + 1, nl + 1 + size) });
      this.buf = this.buf.subarray(nl + 1 + size);
    }
  }
}

/** One ffmpeg that decodes Annex B H.264 to pictures, as fast as they come. */
export class H264Decoder {
  private readonly child: ChildProcess;
  private readonly reader: Y4mReader;
  private closed = false;

  constructor(onPicture: (picture: I420Picture) => void, ffmpegPath = 'ffmpeg') {
    this.reader = new Y4mReader(onPicture);
    this.child = spawn(
      ffmpegPath,
      ['-hide_banner', '-nostdin', '-loglevel', 'error', '-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0', '-threads', '1', '-f', 'h264', '-i', 'pipe:0', '-f', 'yuv4mpegpipe', '-pix_fmt', 'yuv420p', 'pipe:1'],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    this.child.on('error', () => undefined);
    this.child.stdin!.on('error', () => undefined);
    this.child.stdout!.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk);
      } catch {
        this.close();
      }
    });
  }

  decode(unit: Buffer): void {
    if (this.closed) return;
    // Behind by more than a few pictures: drop rather than queue (the viewer then counts a gap).
    if (this.child.stdin!.writableLength > 4 * 1024 * 1024) return;
    this.child.stdin!.write(unit);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.child.stdin!.end();
    this.child.kill('SIGKILL');
  }
}

/** What ontrack hands CameraViewer for an H.264 stream: decoded pictures come out of it. */
export class H264Track {
  onpicture: ((picture: I420Picture) => void) | null = null;
  private readonly decoder: H264Decoder;
  readonly depacketizer: H264Depacketizer;

  constructor(requestKeyframe: () => void) {
    this.decoder = new H264Decoder((picture) => this.onpicture?.(picture));
    this.depacketizer = new H264Depacketizer((unit) => this.decoder.decode(unit), requestKeyframe);
  }

  stop(): void {
    this.decoder.close();
  }
}

let loaded: Promise<Ndc> | undefined;

/** node-datachannel is loaded on first use: VP8 cameras never need its native module. */
export function loadNdc(): Promise<Ndc> {
  loaded ??= import('node-datachannel').then((ndc) => {
    // LANCAM_NDC_LOG=Debug|Info|Warning: libdatachannel's own log on stderr, for diagnosing ICE/DTLS.
    const level = process.env.LANCAM_NDC_LOG;
    if (level === 'Debug' || level === 'Info' || level === 'Warning' || level === 'Verbose') ndc.initLogger(level, (l, m) => process.stderr.write(`libdatachannel ${l}: ${m}\n`));
    return ndc;
  });
  return loaded;
}

/** Does this offer carry H.264 video only (the device's `h264` stack)? */
export function offersH264Only(sdp: string): boolean {
  return /a=rtpmap:\d+ H264\/90000/i.test(sdp) && !/a=rtpmap:\d+ VP8\/90000/i.test(sdp);
}

/** RTCPeerConnection's shape (as ViewerPeer uses it) over a node-datachannel receiving peer. */
export class NdcPeerConnection implements PeerConnectionLike {
  onicecandidate: PeerConnectionLike['onicecandidate'] = null;
  ontrack: PeerConnectionLike['ontrack'] = null;
  onconnectionstatechange: (() => void) | null = null;
  private readonly pc: InstanceType<Ndc['PeerConnection']>;
  private readonly held: unknown[] = [];
  private state = 'new';
  private answer: Promise<string> | undefined;
  private track: H264Track | undefined;
  private bytes = 0;
  /** The camera's sound (audio-receiver.ts), when its offer has an audio track. */
  audio: OpusAudioTrack | undefined;
  private remoteSdp = '';

  constructor(ndc: Ndc, iceServers: IceServer[], bindAddress: string | undefined) {
    this.pc = new ndc.PeerConnection('lancam-viewer', {
      // STUN and TURN (the relay's short-lived TURN credentials reach the viewer in SETUP_RESPONSE).
      iceServers: toNdcIceServers(iceServers),
      ...(bindAddress ? { bindAddress } : {}),
    });
    this.pc.onStateChange((state) => {
      this.state = state;
      this.onconnectionstatechange?.();
    });
    this.pc.onLocalCandidate((candidate, mid) => this.onicecandidate?.({ candidate: { candidate: candidate.replace(/^a=/, ''), sdpMid: mid, sdpMLineIndex: 0 } }));
    this.pc.onTrack((track) => {
      // Held: a collected node-datachannel wrapper stops delivering.
      this.held.push(track);
      const session = new ndc.RtcpReceivingSession();
      this.held.push(session);
      track.setMediaHandler(session);
      if (track.type() === 'audio') {
        const audio = new OpusAudioTrack(audioCodecOf(this.remoteSdp) ?? 'unknown');
        this.audio = audio;
        track.onMessage((msg) => audio.push(msg));
        this.ontrack?.({ track: audio, streams: [] });
        return;
      }
      const h264 = new H264Track(() => track.requestKeyframe());
      this.track = h264;
      track.onMessage((msg) => {
        this.bytes += msg.length;
        h264.depacketizer.push(msg);
      });
      this.ontrack?.({ track: h264, streams: [] });
    });
  }

  get signalingState(): string {
    return this.pc.signalingState();
  }

  get connectionState(): string {
    return this.state;
  }

  async setRemoteDescription(description: { type: 'offer' | 'answer' | 'pranswer' | 'rollback'; sdp?: string }): Promise<void> {
    if (description.type !== 'offer' || !description.sdp) throw new Error(`the H.264 viewer only takes offers, not ${description.type}`);
    this.remoteSdp = description.sdp;
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

  async getStats(): Promise<Map<string, Record<string, unknown>>> {
    const rtt = this.pc.rtt();
    return new Map<string, Record<string, unknown>>([
      ['inbound', { type: 'inbound-rtp', kind: 'video', bytesReceived: this.bytes, framesDropped: this.track?.depacketizer.dropped ?? 0 }],
      ['pair', { type: 'candidate-pair', nominated: true, ...(rtt >= 0 ? { currentRoundTripTime: rtt / 1000 } : {}) }],
    ]);
  }

  close(): void {
    this.track?.stop();
    this.audio?.stop();
    try {
      this.pc.close();
    } catch {
      // already closed
    }
  }
}
