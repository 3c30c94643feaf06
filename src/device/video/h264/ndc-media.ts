/**
 * The H.264 stack (the default; `--video-stack h264`): node-datachannel (libdatachannel) peers that send the
 * one shared H.264 stream (encoded-stream.ts). Per viewer only an RTP packetizer (H.264, RFC
 * 6184: single NAL / FU-A), RTCP sender reports, a NACK responder (retransmits from its history)
 * and SRTP; nothing is decoded or encoded per viewer. A viewer starts at a keyframe: joining asks
 * the source for one (the pattern gives one at once; a passed-through camera's cached GOP is sent,
 * or its next IDR awaited), and a viewer's PLI asks again (rate-limited in the source). Which of
 * the camera's main and sub streams a viewer gets is its StreamSelector's (stream-selector.ts).
 *
 * node-datachannel is loaded on first use, so the vp8 stack never needs its native module.
 * Its JS wrappers must stay referenced while in use: a collected PeerConnection or Track stops
 * delivering (the peer object below holds them).
 */
import { EventEmitter } from 'node:events';
import type * as NdcModule from 'node-datachannel';
import type { Logger } from '../../../net/log';
import type { IceServer, VideoStreamChoice } from '../../../shared/protocol/webrtc-api';
import { toNdcIceServers } from '../../../shared/video/ndc-ice-servers';

export { toNdcIceServers };
import type { SourceStatus } from '../capture';
import type { PeerCallbacks, PeerState, VideoMedia, VideoMediaEvents, VideoPeer } from '../video-peer';
import type { EncodedUnit, SharedEncodedStream } from './encoded-stream';
import { StreamSelector, StreamSet } from './stream-selector';
import type { SharedAudioStream } from '../audio/audio-stream';
import { addOpusTrack } from '../audio/opus-track';

type Ndc = typeof NdcModule;

export const H264_PAYLOAD_TYPE = 96;
/** Constrained baseline, packetization mode 1: what every browser decodes (level is not binding). */
export const H264_FMTP = 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1';
const MID = 'video';
const CNAME = 'lancam';

let loaded: Promise<Ndc> | undefined;
function loadNdc(): Promise<Ndc> {
  loaded ??= import('node-datachannel').then((ndc) => {
    // LANCAM_NDC_LOG=Debug|Info|Warning: libdatachannel's own log on stderr, for diagnosing ICE/DTLS.
    const level = process.env.LANCAM_NDC_LOG;
    if (level === 'Debug' || level === 'Info' || level === 'Warning' || level === 'Verbose') ndc.initLogger(level, (l, m) => process.stderr.write(`libdatachannel ${l}: ${m}\n`));
    return ndc;
  });
  return loaded;
}

/** PLIs (PSFB, FMT 1) in an RTCP compound packet. */
export function countPli(buf: Uint8Array): number {
  let n = 0;
  let off = 0;
  while (off + 4 <= buf.length) {
    const version = buf[off]! >> 6;
    if (version !== 2) break;
    const fmt = buf[off]! & 0x1f;
    const pt = buf[off + 1]!;
    if (pt === 206 && fmt === 1) n++;
    off += (((buf[off + 2]! << 8) | buf[off + 3]!) + 1) * 4;
  }
  return n;
}

export class NdcMedia extends EventEmitter<VideoMediaEvents> implements VideoMedia {
  readonly description = 'H.264 shared by all viewers (node-datachannel)';
  private nextSsrc = 0x1a2b0000;
  /** Main and sub stream (stream-selector.ts); just the main stream unless a sub is given. */
  readonly streams: StreamSet;

  constructor(
    readonly stream: SharedEncodedStream,
    private readonly log: Logger,
    streams?: StreamSet,
    /** The camera's sound, on an Opus track next to the video (audio/opus-track.ts); none: video only. */
    readonly audio?: SharedAudioStream | undefined,
  ) {
    super();
    this.streams = streams ?? new StreamSet(stream, undefined);
    stream.on('status', (status) => this.emit('status', status));
  }

  get status(): SourceStatus {
    return this.stream.status;
  }

  get viewerCount(): number {
    return this.stream.viewerCount + (this.streams.sub?.viewerCount ?? 0);
  }

  async createPeer(options: { iceServers: IceServer[]; bindAddress?: string; stream?: VideoStreamChoice; name?: string }, callbacks: PeerCallbacks): Promise<VideoPeer> {
    const ndc = await loadNdc();
    const stream = this.stream;
    const pc = new ndc.PeerConnection('lancam-device', {
      iceServers: toNdcIceServers(options.iceServers),
      ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
    });
    const ssrc = this.nextSsrc++ >>> 0;
    const video = new ndc.Video(MID, 'SendOnly');
    video.addH264Codec(H264_PAYLOAD_TYPE, H264_FMTP);
    video.addSSRC(ssrc, CNAME, CNAME, 'video');
    const track = pc.addTrack(video);
    const config = new ndc.RtpPacketizationConfig(ssrc, CNAME, H264_PAYLOAD_TYPE, 90000);
    const packetizer = new ndc.H264RtpPacketizer('StartSequence', config);
    packetizer.addToChain(new ndc.RtcpSrReporter(config));
    packetizer.addToChain(new ndc.RtcpNackResponder());
    track.setMediaHandler(packetizer);

    let closed = false;
    // Which of the camera's streams this viewer gets, and the switch between them (one track).
    const selector = new StreamSelector(
      this.streams,
      options.stream ?? 'main',
      (unit: EncodedUnit) => {
        if (closed || !track.isOpen()) return;
        config.timestamp = unit.timestamp;
        try {
          track.sendMessageBinary(unit.data);
        } catch {
          // A track closing under us: the state callback ends the session.
        }
      },
      this.log,
      options.name ?? `viewer ${ssrc.toString(16)}`,
    );
    const log = this.log;
    track.onOpen(() => {
      // Keyframe on join: the viewer's decoder can start at once (or the cached GOP, passthrough).
      if (stream.source.keyframesOnRequest) log.info('video: keyframe for a joining viewer');
      selector.onOpen();
    });
    track.onMessage((buf) => selector.onRtcp(buf));

    let localDescription: ((sdp: string, type: string) => void) | undefined;
    pc.onLocalDescription((sdp, type) => localDescription?.(sdp, String(type).toLowerCase()));
    // The camera's candidates are held back until the viewer's answer is applied: with them the
    // viewer's ICE can connect (the camera answers checks with its own credentials) and its DTLS
    // ClientHello arrive before the camera knows the viewer's certificate fingerprint, which
    // libdatachannel then rejects ("unknown CA"; seen in about one run in three). Costs one
    // signaling round trip.
    let remoteSet = false;
    const heldBack: { candidate: string; mid: string }[] = [];
    const signalCandidate = (c: { candidate: string; mid: string }): void => {
      if (!closed) callbacks.onCandidate({ candidate: c.candidate.replace(/^a=/, ''), sdpMid: c.mid || MID, sdpMLineIndex: 0 });
    };
    pc.onLocalCandidate((candidate, mid) => {
      if (remoteSet) signalCandidate({ candidate, mid });
      else heldBack.push({ candidate, mid });
    });
    pc.onStateChange((state) => {
      if (!closed) callbacks.onState(state as PeerState);
    });
    const nextLocal = (type: string): Promise<string> =>
      new Promise((resolve) => {
        localDescription = (sdp, t) => {
          if (t !== type) return;
          localDescription = undefined;
          resolve(sdp);
        };
      });

    let audio: Awaited<ReturnType<typeof addOpusTrack>> | undefined;
    try {
      await selector.start();
      audio = this.audio ? await addOpusTrack(ndc, pc, this.audio, { ssrc: (ssrc ^ 0x00800000) >>> 0, cname: CNAME, msid: CNAME }) : undefined;
    } catch (err) {
      // Nothing may stay behind a peer that was never handed out: the stream, the connection.
      closed = true;
      selector.close();
      try {
        track.close();
      } catch {
        // already closed
      }
      pc.close();
      throw err;
    }
    // The peer object keeps pc, track and the handler chain referenced for as long as it lives.
    const held = { pc, track, packetizer, config, selector, audio };
    // A viewer's candidates can overtake its answer (it sends them as they are gathered);
    // libdatachannel refuses a candidate before the remote description, so they wait here.
    const early: { candidate: string; mid: string }[] = [];
    const remoteApplied = (): void => {
      if (remoteSet) return;
      remoteSet = true;
      for (const c of early.splice(0)) pc.addRemoteCandidate(c.candidate, c.mid);
      for (const c of heldBack.splice(0)) signalCandidate(c);
    };
    return {
      get signalingState() {
        return closed ? 'closed' : pc.signalingState();
      },
      async createOffer() {
        const offer = nextLocal('offer');
        pc.setLocalDescription();
        return offer;
      },
      async acceptDescription(description) {
        if (description.type === 'answer') {
          pc.setRemoteDescription(description.sdp, 'answer');
          remoteApplied();
          return undefined;
        }
        const answer = nextLocal('answer');
        pc.setRemoteDescription(description.sdp, 'offer');
        remoteApplied();
        return answer;
      },
      selectStream(choice: VideoStreamChoice) {
        held.selector.prefer(choice);
      },
      get sending() {
        return held.selector.sending;
      },
      async addRemoteCandidate(candidate) {
        const mid = candidate.sdpMid ?? MID;
        if (!remoteSet) {
          if (early.length < 64) early.push({ candidate: candidate.candidate, mid });
          return;
        }
        held.pc.addRemoteCandidate(candidate.candidate, mid);
      },
      close() {
        if (closed) return;
        closed = true;
        held.selector.close();
        held.audio?.close();
        try {
          held.track.close();
        } catch {
          // already closed
        }
        held.pc.close();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.stream.close(), this.streams.sub?.close(), this.audio?.close()]);
  }
}
