/**
 * The original stack (`--video-stack vp8`; the default is h264/ndc-media.ts): raw frames from the shared capture into @roamhq/wrtc,
 * one libwebrtc VP8 encoder per viewer (its first frame is a keyframe, so a new viewer sees a
 * picture at once). Costs an encode per viewer; see docs/video.md.
 */
import { EventEmitter } from 'node:events';
import wrtc from '@roamhq/wrtc';
import { startBitrateKbps, withStartBitrate } from '../../shared/video/sdp';
import type { IceServer } from '../../shared/protocol/webrtc-api';
import type { SharedCapture, SourceStatus } from './capture';
import type { IceCandidateInit, PeerCallbacks, PeerState, VideoMedia, VideoMediaEvents, VideoPeer } from './video-peer';

interface WrtcPeerConnection {
  signalingState: string;
  connectionState: string;
  onicecandidate: ((e: { candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null } | null }) => void) | null;
  onconnectionstatechange: (() => void) | null;
  addTrack(track: unknown): unknown;
  createOffer(): Promise<{ type: 'offer'; sdp: string }>;
  createAnswer(): Promise<{ type: 'answer'; sdp: string }>;
  setLocalDescription(d: { type: string; sdp?: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp?: string }): Promise<void>;
  addIceCandidate(c: IceCandidateInit): Promise<void>;
  close(): void;
}

export class WrtcMedia extends EventEmitter<VideoMediaEvents> implements VideoMedia {
  readonly description = 'VP8 per viewer (@roamhq/wrtc)';

  constructor(
    readonly capture: SharedCapture,
    private readonly frameSize: { width: number; height: number },
  ) {
    super();
    capture.on('status', (status) => this.emit('status', status));
  }

  get status(): SourceStatus {
    return this.capture.status;
  }

  get viewerCount(): number {
    return this.capture.viewerCount;
  }

  async createPeer(options: { iceServers: IceServer[] }, callbacks: PeerCallbacks): Promise<VideoPeer> {
    const track = await this.capture.acquire();
    const pc = new wrtc.RTCPeerConnection({ iceServers: options.iceServers }) as unknown as WrtcPeerConnection;
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) callbacks.onCandidate({ candidate: candidate.candidate, sdpMid: candidate.sdpMid ?? null, sdpMLineIndex: candidate.sdpMLineIndex ?? null });
    };
    pc.onconnectionstatechange = () => callbacks.onState(pc.connectionState as PeerState);
    pc.addTrack(track);
    const { width, height } = this.frameSize;
    let closed = false;
    return {
      get signalingState() {
        return pc.signalingState;
      },
      async createOffer() {
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        return offer.sdp;
      },
      async acceptDescription(description) {
        // A realistic start bitrate, so the encoder does not drop the first frames (see sdp.ts).
        const sdp = description.type === 'answer' ? withStartBitrate(description.sdp, startBitrateKbps(width, height)) : description.sdp;
        await pc.setRemoteDescription({ type: description.type, sdp });
        if (description.type !== 'offer') return undefined;
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        return answer.sdp;
      },
      addRemoteCandidate: (candidate) => pc.addIceCandidate(candidate),
      close: () => {
        if (closed) return;
        closed = true;
        pc.close();
        this.capture.release(track);
      },
    };
  }

  close(): Promise<void> {
    return this.capture.close();
  }
}
