/**
 * How a viewer's signaling travels: over the LAN channel (requests out, events in), or signed
 * through a relay (see ../remote/relay-transport.ts). No WebRTC here, so Electron main can use it.
 */
import { SIGNALING_EVENT, SIGNALING_PATH, signalingEnvelopeSchema, type SignalingMessage } from '../../shared/protocol/webrtc-api';
import type { DeviceSession } from '../device-session';

export interface SignalingTransport {
  send(sessionId: string, message: SignalingMessage): Promise<void>;
  /** Delivers the camera's messages for this session; returns an unsubscribe function. */
  subscribe(sessionId: string, onMessage: (message: SignalingMessage) => void, onClose: (reason: string) => void): () => void;
}

/** Signaling over an open LAN session (requests out, events in). */
export function lanTransport(session: DeviceSession): SignalingTransport {
  return {
    send: async (sessionId, message) => {
      await session.call('POST', SIGNALING_PATH, { Session: sessionId, Message: message });
    },
    subscribe: (sessionId, onMessage, onClose) => {
      const peer = session.channel.peer;
      const onEvent = (event: { event: string; body?: unknown }) => {
        if (event.event !== SIGNALING_EVENT) return;
        const parsed = signalingEnvelopeSchema.safeParse(event.body);
        if (parsed.success && parsed.data.Session === sessionId) onMessage(parsed.data.Message);
      };
      const onChannelClose = () => onClose('the connection to the camera closed');
      peer.on('event', onEvent);
      peer.on('close', onChannelClose);
      return () => {
        peer.off('event', onEvent);
        peer.off('close', onChannelClose);
      };
    },
  };
}

