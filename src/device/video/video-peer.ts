/**
 * What a viewer session needs from a WebRTC stack, whatever the stack: one peer connection that
 * sends the camera's video to one viewer. The session (video-service.ts) owns the signaling
 * (SETUP_REQUEST, DESCRIPTION, CANDIDATE, CLOSE), the IAM gate and candidate filtering, and talks
 * to the stack only through this interface, so a filter can sit between the two and either stack
 * can carry the media:
 *   - h264/ndc-media.ts: node-datachannel (libdatachannel), one H.264 stream for all viewers,
 *     an RTP packetizer and SRTP per viewer (the default, `--video-stack h264`);
 *   - wrtc-media.ts: @roamhq/wrtc, raw frames, one libwebrtc VP8 encoder per viewer
 *     (`--video-stack vp8`).
 */
import type { IceServer, VideoStreamChoice } from '../../shared/protocol/webrtc-api';
import type { SourceStatus } from './capture';

export interface IceCandidateInit {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface PeerCallbacks {
  /** A local candidate (the session decides whether it is signaled). */
  onCandidate(candidate: IceCandidateInit): void;
  onState(state: PeerState): void;
}

export interface VideoPeer {
  /** 'stable' when no offer is outstanding. */
  readonly signalingState: string;
  /** Creates and applies the camera's offer; resolves with its SDP. */
  createOffer(): Promise<string>;
  /** Applies the viewer's description; for an offer, resolves with the answer's SDP. */
  acceptDescription(description: { type: 'offer' | 'answer'; sdp: string }): Promise<string | undefined>;
  addRemoteCandidate(candidate: IceCandidateInit): Promise<void>;
  /** Ends the peer connection and gives the viewer's share of the media back. Idempotent. */
  close(): void;
  /** Switches to the camera's main or sub stream on the same track (stacks with main/sub streams). */
  selectStream?(stream: VideoStreamChoice): void;
  /** The stream being sent now (stacks with main/sub streams). */
  readonly sending?: VideoStreamChoice;
}

export interface VideoMediaEvents {
  status: [SourceStatus];
}

/** A video source together with the stack that sends it: makes one peer per viewer. */
export interface VideoMedia {
  /** For logs: which stack and codec. */
  readonly description: string;
  readonly status: SourceStatus;
  readonly viewerCount: number;
  /** A peer for one more viewer, already carrying the video; starts the source for the first. */
  createPeer(options: { iceServers: IceServer[]; bindAddress?: string; stream?: VideoStreamChoice; name?: string }, callbacks: PeerCallbacks): Promise<VideoPeer>;
  on(event: 'status', listener: (status: SourceStatus) => void): unknown;
  close(): Promise<void>;
}
