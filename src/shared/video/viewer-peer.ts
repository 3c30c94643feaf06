/**
 * The viewer's side of a WebRTC session with a camera, independent of the WebRTC implementation:
 * the CLI passes @roamhq/wrtc's RTCPeerConnection, the desktop renderer Chromium's own. Perfect
 * negotiation with the viewer as the polite peer; the camera offers.
 */
import { candidateAllowed, type IceServer, type SignalingMessage, type VideoStreamChoice } from '../protocol/webrtc-api';

/** The subset of RTCPeerConnection this module uses (structural, so both implementations fit). */
export interface PeerConnectionLike {
  readonly signalingState: string;
  readonly connectionState: string;
  onicecandidate: ((event: { candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null; usernameFragment?: string | null } | null }) => void) | null;
  ontrack: ((event: { track: unknown; streams: readonly unknown[] }) => void) | null;
  onconnectionstatechange: (() => void) | null;
  setRemoteDescription(description: { type: 'offer' | 'answer' | 'pranswer' | 'rollback'; sdp?: string }): Promise<void>;
  setLocalDescription(description: { type: 'offer' | 'answer' | 'pranswer' | 'rollback'; sdp?: string }): Promise<void>;
  createAnswer(): Promise<{ type: 'offer' | 'answer' | 'pranswer' | 'rollback'; sdp?: string }>;
  addIceCandidate(candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }): Promise<void>;
  getStats(): Promise<unknown>;
  close(): void;
}

export type PeerConnectionFactory = (config: { iceServers: IceServer[] }) => PeerConnectionLike;

export interface ViewerPeerOptions {
  createPeerConnection: PeerConnectionFactory;
  /** Sends a signaling message to the camera; rejects when the camera refuses it. */
  send: (message: SignalingMessage) => Promise<void>;
  /** Only candidates with these addresses are used and sent (empty: all). */
  iceAddresses?: readonly string[];
  onTrack: (track: unknown) => void;
  onClose: (reason: string) => void;
  /** The camera's main (default) or sub stream; asked for in SETUP_REQUEST. */
  stream?: VideoStreamChoice;
}

export class ViewerPeer {
  private pc: PeerConnectionLike | undefined;
  private closed = false;
  private readonly pendingCandidates: SignalingMessage[] = [];

  constructor(private readonly options: ViewerPeerOptions) {}

  get peerConnection(): PeerConnectionLike | undefined {
    return this.pc;
  }

  /** Asks the camera for video. */
  async start(): Promise<void> {
    await this.options.send(this.options.stream ? { type: 'SETUP_REQUEST', stream: this.options.stream } : { type: 'SETUP_REQUEST' });
  }

  /** Switches a running session to the camera's main or sub stream (no renegotiation). */
  async selectStream(stream: VideoStreamChoice): Promise<void> {
    if (this.closed) return;
    await this.options.send({ type: 'STREAM', stream });
  }

  /** Handles one message from the camera. */
  async receive(message: SignalingMessage): Promise<void> {
    if (this.closed) return;
    switch (message.type) {
      case 'SETUP_RESPONSE':
        this.createPeer(message.iceServers ?? []);
        for (const queued of this.pendingCandidates.splice(0)) await this.receive(queued);
        return;
      case 'DESCRIPTION': {
        const pc = this.pc;
        if (!pc) throw new Error('the camera sent a description before accepting the session');
        const description = message.description;
        // Polite peer: an incoming offer during our own negotiation wins (rollback is implicit).
        await pc.setRemoteDescription(description);
        if (description.type === 'offer') {
          const answer = await pc.createAnswer();
          await pc.setLocalDescription(answer);
          await this.options.send({ type: 'DESCRIPTION', description: { type: answer.type, ...(answer.sdp !== undefined ? { sdp: answer.sdp } : {}) } });
        }
        return;
      }
      case 'CANDIDATE': {
        if (!this.pc) {
          this.pendingCandidates.push(message);
          return;
        }
        if (!candidateAllowed(message.candidate.candidate, this.options.iceAddresses ?? [])) return;
        await this.pc.addIceCandidate(message.candidate);
        return;
      }
      case 'CLOSE':
        this.close(message.reason ?? 'the camera ended the session', false);
        return;
      case 'SETUP_REQUEST':
        throw new Error('a camera does not ask a viewer for video');
      case 'STREAM':
        throw new Error('a camera does not ask a viewer for a stream');
    }
  }

  close(reason = 'closed by the viewer', tellCamera = true): void {
    if (this.closed) return;
    this.closed = true;
    if (tellCamera) void this.options.send({ type: 'CLOSE', reason }).catch(() => undefined);
    this.pc?.close();
    this.options.onClose(reason);
  }

  private createPeer(iceServers: IceServer[]): void {
    if (this.pc) return;
    const pc = this.options.createPeerConnection({ iceServers });
    this.pc = pc;
    pc.onicecandidate = ({ candidate }) => {
      if (!candidate || !candidateAllowed(candidate.candidate, this.options.iceAddresses ?? [])) return;
      void this.options
        .send({
          type: 'CANDIDATE',
          candidate: {
            candidate: candidate.candidate,
            sdpMid: candidate.sdpMid ?? null,
            sdpMLineIndex: candidate.sdpMLineIndex ?? null,
          },
        })
        .catch(() => undefined);
    };
    pc.ontrack = ({ track }) => this.options.onTrack(track);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') this.close('the connection to the camera failed');
      if (pc.connectionState === 'closed') this.close('the connection to the camera closed', false);
    };
  }
}
