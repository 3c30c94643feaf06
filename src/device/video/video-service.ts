/**
 * Live video on the device: one WebRTC session per viewer, signaled over the authenticated
 * channel and gated by IAM on every message. Access is re-checked whenever IAM changes for a
 * viewer's key, so a removed user (or a role that loses Webrtc:VideoStream) loses a running
 * stream at once.
 */
import { RouteError, type RpcRouter } from '../../net/rpc-router';
import { IamActions, WebrtcActions } from '../../shared/iam/actions';
import { Status } from '../../shared/protocol/status';
import {
  candidateAllowed,
  MAX_SESSIONS_PER_CONNECTION,
  SIGNALING_EVENT,
  SIGNALING_PATH,
  VIDEO_SOURCE_EVENT,
  signalingEnvelopeSchema,
  type IceServer,
  type SignalingMessage,
  type VideoStreamChoice,
  iceServerForWire,
} from '../../shared/protocol/webrtc-api';
import { parseBody, type DeviceCore, type RequestContext } from '../request-context';
import type { Requester } from '../iam/iam-service';
import { SourceLog } from '../../net/log';
import { localBindAddress } from '../../net/local-address';
import { RemoteCandidateFilter, turnAddresses, UnknownAddressBudget } from '../../shared/video/remote-candidates';
import type { SourceStatus } from './capture';
import type { PeerState, VideoMedia, VideoPeer } from './video-peer';

export interface VideoOptions {
  /** ICE servers handed to both ends (none unless the owner configures some). */
  iceServers: IceServer[];
  /** Only candidates with these addresses are signaled (empty: all). */
  iceAddresses: string[];
  /** Viewers at once, over all connections. */
  maxViewers: number;
  /** Viewers one user (or one unpaired key) may hold at once, over all its connections and the relay. */
  maxViewersPerUser?: number | undefined;
  /** A session whose WebRTC connection is not up this long after SETUP_REQUEST is closed (ms). */
  setupTimeoutMs?: number | undefined;
}

const DISCONNECTED_GRACE_MS = 4000;
export const DEFAULT_MAX_VIEWERS_PER_USER = 4;
export const DEFAULT_VIDEO_SETUP_TIMEOUT_MS = 20_000;

/**
 * Where a viewer's signaling comes from and goes to: a LAN channel (many sessions, each with its
 * id) or a relay channel (signed messages). `requester` is who IAM sees.
 */
export interface SignalingEndpoint {
  readonly requester: Requester;
  send(sessionId: string, message: SignalingMessage): void;
  /** ICE servers for this viewer in addition to the configured ones (TURN through the relay). */
  extraIceServers?(): Promise<IceServer[]>;
  /** The video source changed state (retrying, running again). */
  sourceStatus?(status: SourceStatus): void;
  /** Keeps the carrying connection open while video plays; returns the release. */
  hold?(): () => void;
}

class ViewerSession {
  private pc: VideoPeer | undefined;
  /** A STREAM choice that came while the peer was still being made (applied once it exists). */
  private earlyStream: VideoStreamChoice | undefined;
  private makingOffer = false;
  private closed = false;
  private disconnectTimer: NodeJS.Timeout | undefined;
  /** Screens the viewer's ICE candidates (set once the session's ICE servers are known). */
  candidates: RemoteCandidateFilter | undefined;
  /** The WebRTC connection has been up at least once (the setup deadline no longer applies). */
  connected = false;
  readonly startedAt = performance.now();

  constructor(
    readonly endpoint: SignalingEndpoint,
    readonly id: string,
    private readonly service: VideoService,
  ) {}

  async setup(stream?: VideoStreamChoice): Promise<void> {
    const iceServers = [...this.service.options.iceServers, ...((await this.endpoint.extraIceServers?.()) ?? [])];
    this.candidates = this.service.candidateFilter(this.endpoint.requester, iceServers);
    const addresses = this.service.options.iceAddresses;
    const bindAddress = localBindAddress(addresses);
    const pc = await this.service.media.createPeer(
      { iceServers, ...(bindAddress ? { bindAddress } : {}), ...(stream ? { stream } : {}), name: `session ${this.id}` },
      {
        onCandidate: (candidate) => {
          if (this.closed || !candidateAllowed(candidate.candidate, addresses)) return;
          this.send({ type: 'CANDIDATE', candidate });
        },
        onState: (state) => this.onConnectionState(state),
      },
    );
    this.pc = pc;
    if (this.closed) {
      // Closed (revoked, source failed) while the peer was being made.
      pc.close();
      return;
    }
    if (this.earlyStream) pc.selectStream?.(this.earlyStream);
    this.send({ type: 'SETUP_RESPONSE', iceServers: iceServers.map(iceServerForWire) });
    this.makingOffer = true;
    try {
      const sdp = await pc.createOffer();
      this.send({ type: 'DESCRIPTION', description: { type: 'offer', sdp } });
    } finally {
      this.makingOffer = false;
    }
  }

  async receive(message: SignalingMessage): Promise<void> {
    const pc = this.pc;
    if (message.type === 'STREAM' && !pc && !this.closed) {
      // The tile resized or went full screen while the session was being set up: kept for the peer.
      this.earlyStream = message.stream;
      return;
    }
    if (!pc || this.closed) throw new RouteError(Status.NotFound, 'no-session', 'this video session has ended');
    switch (message.type) {
      case 'DESCRIPTION': {
        const description = message.description;
        // The camera is the impolite peer: it ignores a viewer's offer that collides with its own.
        const collision = description.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
        if (collision) return;
        if ((description.type !== 'offer' && description.type !== 'answer') || !description.sdp) {
          throw new RouteError(Status.BadRequest, 'bad-description', `a ${description.type} description with an SDP is expected`);
        }
        try {
          const answer = await pc.acceptDescription({ type: description.type, sdp: description.sdp });
          if (answer !== undefined) this.send({ type: 'DESCRIPTION', description: { type: 'answer', sdp: answer } });
        } catch (err) {
          throw new RouteError(Status.BadRequest, 'bad-description', `the description was not accepted: ${(err as Error).message}`);
        }
        return;
      }
      case 'CANDIDATE':
        if (!candidateAllowed(message.candidate.candidate, this.service.options.iceAddresses)) return;
        try {
          await pc.addRemoteCandidate({ candidate: message.candidate.candidate, sdpMid: message.candidate.sdpMid ?? null, sdpMLineIndex: message.candidate.sdpMLineIndex ?? null });
        } catch (err) {
          throw new RouteError(Status.BadRequest, 'bad-candidate', `the candidate was not accepted: ${(err as Error).message}`);
        }
        return;
      case 'CLOSE':
        this.close(message.reason ?? 'closed by the viewer', false);
        return;
      case 'STREAM':
        // A stack without a sub stream keeps sending main.
        pc.selectStream?.(message.stream);
        return;
      default:
        throw new RouteError(Status.BadRequest, 'unexpected-message', `${message.type} is not expected now`);
    }
  }

  close(reason: string, tellViewer = true): void {
    if (this.closed) return;
    this.closed = true;
    if (this.disconnectTimer) clearTimeout(this.disconnectTimer);
    if (tellViewer) this.send({ type: 'CLOSE', reason });
    this.pc?.close();
    this.service.forget(this, reason);
  }

  private onConnectionState(state: PeerState): void {
    if (state === 'failed') this.close('the WebRTC connection failed');
    else if (state === 'closed') this.close('the WebRTC connection closed', false);
    else if (state === 'disconnected') {
      // A viewer that vanished: give ICE a moment to recover, then clean up.
      this.disconnectTimer ??= setTimeout(() => this.close('the viewer went away'), DISCONNECTED_GRACE_MS);
    } else if (state === 'connected') this.connected = true;
    if (state === 'connected' && this.disconnectTimer) {
      clearTimeout(this.disconnectTimer);
      this.disconnectTimer = undefined;
    }
  }

  private send(message: SignalingMessage): void {
    this.endpoint.send(this.id, message);
  }
}

export class VideoService {
  private readonly sessions = new Map<SignalingEndpoint, Map<string, ViewerSession>>();
  private readonly lanEndpoints = new WeakMap<RequestContext, SignalingEndpoint>();
  /** LAN connections with live video are not idle (see RpcPeer.hold). */
  private readonly holds = new Map<SignalingEndpoint, () => void>();
  /** New unknown ICE addresses each user may make the camera check (per minute, over all sessions). */
  private readonly candidateBudgets = new Map<string, UnknownAddressBudget>();
  private readonly candidateLog: SourceLog;

  constructor(
    private readonly core: DeviceCore,
    readonly media: VideoMedia,
    readonly options: VideoOptions,
  ) {
    this.candidateLog = new SourceLog(core.log);
    media.on('status', (status) => {
      if (status.state === 'failed') {
        // Viewers learn at once why there is no picture, instead of waiting for frames.
        for (const session of this.allSessions()) session.close(`the camera's video source failed: ${status.message}`);
        return;
      }
      // A live source being retried (or back): LAN viewers are told, so they can say so.
      for (const endpoint of this.sessions.keys()) endpoint.sourceStatus?.(status);
    });
  }

  /** Usernames with a video stream open now. */
  watchingUsers(): Set<string> {
    const users = new Set<string>();
    for (const map of this.sessions.values()) {
      for (const session of map.values()) {
        const user = this.core.iam.userOf(session.endpoint.requester);
        if (user) users.add(user.Username);
      }
    }
    return users;
  }

  get viewerCount(): number {
    let n = 0;
    for (const map of this.sessions.values()) n += map.size;
    return n;
  }

  register(router: RpcRouter<RequestContext>): void {
    router.on('POST', SIGNALING_PATH, async (_p, body, ctx) => {
      const { Session, Message } = parseBody(signalingEnvelopeSchema, body);
      await this.handle(this.lanEndpoint(ctx), Session, Message);
      return { status: Status.Changed };
    });
  }

  /**
   * One signaling message from a viewer. Refusals throw RouteError (403 not allowed, 404 no such
   * session, 409, 429, 503); the LAN route answers with them, the relay turns them into CLOSE.
   */
  async handle(endpoint: SignalingEndpoint, sessionId: string, message: SignalingMessage): Promise<void> {
    const ctx = { requester: endpoint.requester };
    this.require(ctx.requester, WebrtcActions.Signaling);
    const mine = this.sessions.get(endpoint) ?? new Map<string, ViewerSession>();
    if (message.type === 'SETUP_REQUEST') {
      this.require(ctx.requester, WebrtcActions.VideoStream);
      if (mine.has(sessionId)) throw new RouteError(Status.Conflict, 'session-exists', `video session "${sessionId}" exists already`);
      if (mine.size >= MAX_SESSIONS_PER_CONNECTION) throw new RouteError(Status.TooManyRequests, 'too-many-sessions', `at most ${MAX_SESSIONS_PER_CONNECTION} video sessions per connection`);
      this.admitViewer(endpoint.requester);
      const session = new ViewerSession(endpoint, sessionId, this);
      this.armSetupDeadline(session);
      mine.set(sessionId, session);
      this.sessions.set(endpoint, mine);
      if (!this.holds.has(endpoint) && endpoint.hold) this.holds.set(endpoint, endpoint.hold());
      try {
        await session.setup(message.stream);
      } catch (err) {
        session.close(`setup failed: ${(err as Error).message}`);
        throw new RouteError(Status.InternalError, 'setup-failed', `could not start video: ${(err as Error).message}`);
      }
      this.core.log.info(`video: session ${sessionId} for ${describe(this.core, endpoint.requester)} started (${this.viewerCount} viewer(s))`);
      return;
    }
    // Switching streams is asking for video too.
    if (message.type === 'STREAM') this.require(ctx.requester, WebrtcActions.VideoStream);
    const session = mine.get(sessionId);
    if (!session) throw new RouteError(Status.NotFound, 'no-session', `no video session "${sessionId}" here`);
    const screened = this.screenCandidates(session, message);
    if (screened) await session.receive(screened);
  }

  /**
   * Room for one more viewer, or a RouteError: a user beyond its own cap gets 429; a full camera
   * gets 503, except for an administrator, for whom the newest session of a non-administrator is
   * closed (an owner is never locked out of his own camera by guests).
   */
  private admitViewer(requester: Requester): void {
    const perUser = this.options.maxViewersPerUser ?? DEFAULT_MAX_VIEWERS_PER_USER;
    const who = this.viewerKey(requester);
    const all = this.allSessions();
    const own = all.filter((s) => this.viewerKey(s.endpoint.requester) === who).length;
    if (own >= perUser) throw new RouteError(Status.TooManyRequests, 'too-many-viewers', `at most ${perUser} video sessions per user`);
    if (all.length < this.options.maxViewers) return;
    if (this.isAdministrator(requester)) {
      const victim = all.filter((s) => !this.isAdministrator(s.endpoint.requester)).sort((a, b) => b.startedAt - a.startedAt)[0];
      if (victim) {
        victim.close('the camera is full and an administrator needs a viewer slot');
        return;
      }
    }
    throw new RouteError(Status.ServiceUnavailable, 'camera-busy', `the camera serves ${this.options.maxViewers} viewers already`);
  }

  /** Unanswered sessions hold a slot (and keep their connection out of the idle timeout): they expire. */
  private armSetupDeadline(session: ViewerSession): void {
    const ms = this.options.setupTimeoutMs ?? DEFAULT_VIDEO_SETUP_TIMEOUT_MS;
    if (ms <= 0) return;
    setTimeout(() => {
      if (!session.connected) session.close(`no WebRTC connection within ${Math.round(ms / 1000)} s of the setup request`);
    }, ms).unref();
  }

  /** Sessions are counted per IAM user; an unpaired key or unknown secret counts as itself. */
  private viewerKey(requester: Requester): string {
    const user = this.core.iam.userOf(requester);
    if (user) return `user:${user.Username}`;
    return requester.remoteKid !== undefined ? `kid:${requester.remoteKid}` : `key:${requester.fingerprint}`;
  }

  private isAdministrator(requester: Requester): boolean {
    return this.core.iam.authorize(requester, IamActions.SetUserRole).effect === 'allow';
  }

  /** A gate for one session's remote candidates; the unknown-address budget is per user. */
  candidateFilter(requester: Requester, iceServers: readonly IceServer[]): RemoteCandidateFilter {
    const who = requester.remoteKid !== undefined ? `kid:${requester.remoteKid}` : `key:${requester.fingerprint}`;
    let budget = this.candidateBudgets.get(who);
    if (!budget) {
      if (this.candidateBudgets.size > 4096) this.candidateBudgets.clear();
      budget = new UnknownAddressBudget();
      this.candidateBudgets.set(who, budget);
    }
    const urls = iceServers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
    return new RemoteCandidateFilter({ viewerAddress: requester.remoteKid === undefined ? requester.remoteAddress : undefined, turnAddresses: turnAddresses(urls) }, budget);
  }

  /**
   * Drops remote candidates the camera must not send to (see remote-candidates.ts) before they
   * reach the WebRTC stack: a refused CANDIDATE is answered as accepted but never used, and refused
   * `a=candidate` lines are cut from a description. Returns undefined when nothing is left to pass on.
   */
  private screenCandidates(session: ViewerSession, message: SignalingMessage): SignalingMessage | undefined {
    const filter = session.candidates;
    if (!filter) return message;
    const refuse = (reasons: string[]) => {
      const who = describe(this.core, session.endpoint.requester);
      for (const reason of reasons) this.candidateLog.info(who, `video: session ${session.id} for ${who}: remote candidate refused: ${reason}`);
    };
    if (message.type === 'CANDIDATE') {
      if (message.candidate.candidate.trim() === '') return message; // end of candidates
      const verdict = filter.check(message.candidate.candidate);
      if (verdict.ok) return message;
      refuse([verdict.reason]);
      return undefined;
    }
    if (message.type === 'DESCRIPTION' && message.description.sdp) {
      const { sdp, refused } = filter.filterSdp(message.description.sdp);
      refuse(refused);
      return refused.length === 0 ? message : { ...message, description: { ...message.description, sdp } };
    }
    return message;
  }

  /** The viewer's channel closed: its sessions end. */
  endpointClosed(endpoint: SignalingEndpoint): void {
    for (const session of [...(this.sessions.get(endpoint)?.values() ?? [])]) session.close('the viewer disconnected', false);
    this.sessions.delete(endpoint);
    this.release(endpoint);
  }

  connectionClosed(ctx: RequestContext): void {
    const endpoint = this.lanEndpoints.get(ctx);
    if (endpoint) this.endpointClosed(endpoint);
  }

  /** IAM changed: every session that may no longer stream is cut now. */
  recheck(): void {
    for (const [endpoint, map] of this.sessions) {
      if (this.core.iam.authorize(endpoint.requester, WebrtcActions.VideoStream).effect === 'allow') continue;
      for (const session of [...map.values()]) session.close('access revoked');
    }
  }

  forget(session: ViewerSession, reason: string): void {
    const map = this.sessions.get(session.endpoint);
    if (!map?.delete(session.id)) return;
    if (map.size === 0) {
      this.sessions.delete(session.endpoint);
      this.release(session.endpoint);
    }
    this.core.log.info(`video: session ${session.id} for ${describe(this.core, session.endpoint.requester)} ended: ${reason} (${this.viewerCount} viewer(s))`);
  }

  async close(): Promise<void> {
    for (const session of this.allSessions()) session.close('the camera is shutting down');
    await this.media.close();
  }

  private release(endpoint: SignalingEndpoint): void {
    this.holds.get(endpoint)?.();
    this.holds.delete(endpoint);
  }

  private allSessions(): ViewerSession[] {
    return [...this.sessions.values()].flatMap((map) => [...map.values()]);
  }

  private require(requester: Requester, action: string): void {
    if (this.core.iam.authorize(requester, action).effect !== 'allow') throw new RouteError(Status.Forbidden, 'forbidden', `not allowed: ${action}`);
  }

  private lanEndpoint(ctx: RequestContext): SignalingEndpoint & { sourceStatus(status: SourceStatus): void } {
    let endpoint = this.lanEndpoints.get(ctx) as (SignalingEndpoint & { sourceStatus(status: SourceStatus): void }) | undefined;
    if (!endpoint) {
      const peer = ctx.connection.peer;
      endpoint = {
        requester: ctx.requester,
        send: (sessionId, message) => {
          if (peer.isOpen) peer.emitEvent(SIGNALING_EVENT, { Session: sessionId, Message: message });
        },
        hold: () => peer.hold(),
        sourceStatus: (status) => {
          if (peer.isOpen) peer.emitEvent(VIDEO_SOURCE_EVENT, { state: status.state, message: status.message, ...(status.retryInMs !== undefined ? { retryInMs: status.retryInMs } : {}) });
        },
      };
      this.lanEndpoints.set(ctx, endpoint);
    }
    return endpoint;
  }
}

function describe(core: DeviceCore, requester: Requester): string {
  const user = core.iam.userOf(requester);
  const via = requester.remoteKid !== undefined ? ' via relay' : '';
  return user ? `user ${user.Username}${via}` : `client ${requester.fingerprint.slice(0, 12)}…${via}`;
}
