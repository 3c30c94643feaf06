/**
 * lancam-relay: routes signaling between clients and cameras that cannot reach each other
 * directly (a camera behind NAT connects OUT to the relay). The relay is not trusted: it holds no
 * secret, and every signaling message it carries is an HS256 JWT that only the client and the
 * camera can make (see signed-signaling in src/net). WebSocket JSON frames, path /v1.
 *
 * Camera:
 *   relay  -> camera  {type:'challenge', nonce}
 *   camera -> relay   {type:'device-hello', token}     ES256 JWT by the camera's key; header.jwk = its
 *                                                      public key; payload {sub: deviceId, fp, aud:
 *                                                      'lancam-relay:<relay key fingerprint>', nonce (the
 *                                                      challenge), iat, exp <= 120 s}
 *   relay  -> camera  {type:'device-ready'}
 *   relay  -> camera  {type:'channel-open', channel}  a client asked for this camera
 *   relay  -> camera  {type:'message', channel, data} / {type:'channel-closed', channel}
 *                     data: Nabto WebRTC's signed message {type:'JWT', jwt} (webrtc-api.ts)
 *   camera -> relay   {type:'message', channel, data} / {type:'channel-close', channel}
 *   camera -> relay   {type:'channel-verified', channel}  the camera verified a signed client message on it
 *                                                      (before that, a channel has a deadline and is the first evicted)
 *   camera -> relay   {type:'turn-request', requestId, user, channel}  -> relay {type:'turn-credentials', requestId, iceServers}
 *                                                      (only for a verified channel of this camera; rate-limited per camera key)
 * Client:
 *   client -> relay   {type:'connect', deviceId, fingerprint}   routed only to a camera that proved that key
 *   relay  -> client  {type:'connected', channel} | {type:'error', code, message}
 *   client <-> relay  {type:'message', data}
 *   relay  -> client  {type:'channel-closed', reason}
 */
import { z } from 'zod';
import { FINGERPRINT_RE } from '../fingerprint';
import { iceServerSchema, signedMessageSchema, type SignedMessage } from './webrtc-api';

export const RELAY_PATH = '/v1';
export const RELAY_AUDIENCE = 'lancam-relay';
/** Largest relay frame (a signed SDP fits comfortably). */
export const RELAY_MAX_FRAME = 96 * 1024;

const channel = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);
const jwt = z.string().max(80 * 1024).regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/);
const deviceId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);

export const relayToDevice = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('challenge'), nonce: z.string().min(16).max(128) }),
  z.strictObject({ type: z.literal('device-ready') }),
  z.strictObject({ type: z.literal('channel-open'), channel }),
  z.strictObject({ type: z.literal('message'), channel, data: signedMessageSchema }),
  z.strictObject({ type: z.literal('channel-closed'), channel }),
  z.strictObject({ type: z.literal('turn-credentials'), requestId: z.string().max(64), iceServers: z.array(iceServerSchema).max(4) }),
  z.strictObject({ type: z.literal('error'), code: z.string().max(64), message: z.string().max(512) }),
]);
export const deviceToRelay = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('device-hello'), token: jwt }),
  z.strictObject({ type: z.literal('message'), channel, data: signedMessageSchema }),
  z.strictObject({ type: z.literal('channel-close'), channel }),
  z.strictObject({ type: z.literal('channel-verified'), channel }),
  z.strictObject({ type: z.literal('turn-request'), requestId: z.string().max(64), user: z.string().regex(/^[a-z0-9_.-]{1,64}$/), channel }),
]);
export const clientToRelay = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('connect'), deviceId, fingerprint: z.string().regex(FINGERPRINT_RE) }),
  z.strictObject({ type: z.literal('message'), data: signedMessageSchema }),
]);
export const relayToClient = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('connected'), channel }),
  z.strictObject({ type: z.literal('message'), data: signedMessageSchema }),
  z.strictObject({ type: z.literal('channel-closed'), reason: z.string().max(512) }),
  z.strictObject({ type: z.literal('error'), code: z.string().max(64), message: z.string().max(512) }),
]);
export type { SignedMessage };
export type RelayToDevice = z.infer<typeof relayToDevice>;
export type DeviceToRelay = z.infer<typeof deviceToRelay>;
export type ClientToRelay = z.infer<typeof clientToRelay>;
export type RelayToClient = z.infer<typeof relayToClient>;

/** coturn's REST-API credentials: username `<expiry unix seconds>:<user>`, password base64(HMAC-SHA1(secret, username)). */
export interface TurnCredentials {
  username: string;
  credential: string;
  urls: string[];
  expiresAt: number;
}
