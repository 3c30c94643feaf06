/**
 * Signaling through a lancam-relay: every message signed with this user's shared secret (HS256),
 * every message from the camera verified (signature, sequence, both nonces). The relay can only
 * drop the channel; anything it tampers with, replays, reorders or injects ends the session.
 */
import { SignedSignalingClient } from '../../net/signed-signaling';
import { connectClientToRelay, type RelayClientConnection } from '../../relay/relay-client';
import type { RemoteAccessGrant } from '../../shared/remote-access-string';
import type { SignalingMessage, SignedMessage } from '../../shared/protocol/webrtc-api';
import { CompanionError } from '../errors';
import type { SignalingTransport } from '../video/signaling-transport';

export interface RelayTransport extends SignalingTransport {
  close(): void;
}

export async function openRelayTransport(grant: RemoteAccessGrant, relay: { url: string; pinFingerprint?: string | undefined }): Promise<RelayTransport> {
  let connection: RelayClientConnection;
  try {
    connection = await connectClientToRelay({
      url: relay.url,
      deviceId: grant.deviceId,
      fingerprint: grant.fingerprint,
      ...(relay.pinFingerprint ? { pinFingerprint: relay.pinFingerprint } : {}),
    });
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'relay';
    throw new CompanionError(code, `cannot reach ${grant.deviceId} through the relay: ${(err as Error).message}`);
  }
  // The HMAC key is the secret string's UTF-8 bytes, as Nabto WebRTC's signer uses a shared secret.
  const signer = new SignedSignalingClient(grant.kid, grant.secret);
  let incoming: Promise<void> = Promise.resolve();
  return {
    send: async (_sessionId: string, message: SignalingMessage) => {
      if (!connection.isOpen) throw new CompanionError('relay-closed', 'the relay channel is closed');
      connection.send(await signer.sign(message));
    },
    subscribe: (_sessionId, onMessage, onClose) => {
      let ended = false;
      const end = (reason: string) => {
        if (ended) return;
        ended = true;
        onClose(reason);
      };
      const onData = (token: SignedMessage) => {
        incoming = incoming.then(async () => {
          if (ended) return;
          try {
            onMessage(await signer.verify(token));
          } catch (err) {
            connection.close();
            end(`refused a message from the relay (${(err as { code?: string }).code ?? 'invalid'}): the relay or the network changed, replayed or injected signaling`);
          }
        });
      };
      const onClosed = (reason: string) => end(`the relay channel closed: ${reason}`);
      connection.on('message', onData);
      connection.on('closed', onClosed);
      return () => {
        connection.off('message', onData);
        connection.off('closed', onClosed);
      };
    },
    close: () => connection.close(),
  };
}
