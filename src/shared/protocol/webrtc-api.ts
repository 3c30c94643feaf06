/**
 * WebRTC signaling over the lancam channel, with Nabto WebRTC's message shapes:
 *
 *   {type: 'SETUP_REQUEST'}                                    viewer -> device: I want video
 *   {type: 'SETUP_RESPONSE', iceServers?}                      device -> viewer: accepted (urls: arrays)
 *   {type: 'DESCRIPTION', description: {type, sdp}}            either way (perfect negotiation)
 *   {type: 'CANDIDATE', candidate: {candidate, sdpMid, ...}}   either way
 *   {type: 'CLOSE', reason}                                    either way: the session ends
 *   {type: 'STREAM', stream}                                   viewer -> device: switch to the main or sub stream
 *
 * lancam's own additions (a Nabto viewer sends neither): SETUP_REQUEST may carry `stream`
 * ('main', the default, or 'sub': a camera's smaller stream), and STREAM switches a running
 * session without renegotiating (same track; the device switches at the other stream's next
 * keyframe).
 *
 * Viewer -> device:  POST /webrtc/signaling {Session, Message}   204 | 400 | 403 | 404 | 429
 * Device -> viewer:  event 'webrtc-signaling' {Session, Message}
 *
 * Every message is checked against IAM (`Webrtc:Signaling`; a SETUP_REQUEST also needs
 * `Webrtc:VideoStream`). The device is the offerer; the viewer is the polite peer.
 */
import { z } from 'zod';

export const SIGNALING_PATH = '/webrtc/signaling';
export const SIGNALING_EVENT = 'webrtc-signaling';
/** The camera's video source changed state (retrying a live source, running again): {state, message, retryInMs?}. */
export const VIDEO_SOURCE_EVENT = 'video-source';
/** Sessions a single connection may hold at once. */
export const MAX_SESSIONS_PER_CONNECTION = 4;

export const iceServerSchema = z.strictObject({
  urls: z.union([z.string().max(512), z.array(z.string().max(512)).max(8)]),
  username: z.string().max(512).optional(),
  credential: z.string().max(512).optional(),
});
export type IceServer = z.infer<typeof iceServerSchema>;

/** An ICE server as Nabto's message encoder writes it: `urls` always an array. */
export function iceServerForWire(server: IceServer): IceServer & { urls: string[] } {
  return { ...server, urls: Array.isArray(server.urls) ? [...server.urls] : [server.urls] };
}

export const sessionDescriptionSchema = z.strictObject({
  type: z.enum(['offer', 'answer', 'pranswer', 'rollback']),
  sdp: z.string().max(32 * 1024).optional(),
});

export const iceCandidateSchema = z.strictObject({
  candidate: z.string().max(1024),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});

export const signalingMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('SETUP_REQUEST'), stream: z.enum(['main', 'sub']).optional() }),
  // Nabto WebRTC (DefaultMessageEncoder.ts): iceServers optional (null read as absent); lancam
  // sends `urls` always as an array, as Nabto's decoder requires, and reads a string too.
  z.strictObject({
    type: z.literal('SETUP_RESPONSE'),
    iceServers: z
      .array(iceServerSchema)
      .max(8)
      .nullable()
      .optional()
      .transform((servers) => servers ?? undefined),
  }),
  z.strictObject({ type: z.literal('DESCRIPTION'), description: sessionDescriptionSchema }),
  z.strictObject({ type: z.literal('CANDIDATE'), candidate: iceCandidateSchema }),
  z.strictObject({ type: z.literal('CLOSE'), reason: z.string().max(200).optional() }),
  z.strictObject({ type: z.literal('STREAM'), stream: z.enum(['main', 'sub']) }),
]);
/** A camera's main (full size) or sub (smaller, lower bitrate) stream. */
export type VideoStreamChoice = 'main' | 'sub';
export type SignalingMessage = z.infer<typeof signalingMessageSchema>;

/**
 * Nabto WebRTC's signing-layer message of type JWT (MessageSigner.ts, ProtocolSigningMessage):
 * what a signed signaling message looks like on the wire, e.g. through lancam-relay.
 */
export const signedMessageSchema = z.strictObject({
  type: z.literal('JWT'),
  jwt: z
    .string()
    .max(80 * 1024)
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/),
});
export type SignedMessage = z.infer<typeof signedMessageSchema>;

export const sessionIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

export const signalingEnvelopeSchema = z.strictObject({ Session: sessionIdSchema, Message: signalingMessageSchema });
export type SignalingEnvelope = z.infer<typeof signalingEnvelopeSchema>;

/** Keeps only candidates whose address is in `allowed` (an empty list allows all). */
export function candidateAllowed(candidate: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
  const address = candidate.replace(/^candidate:/, '').split(' ')[4];
  return address !== undefined && allowed.includes(address);
}
