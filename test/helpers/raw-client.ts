/**
 * A bare protocol client for device tests: a channel with a fresh key, and the password
 * authentication steps done by hand, so tests can also misbehave on purpose.
 */
import { connectChannel, type ClientChannel } from '../../src/net/channel/client';
import { generatePrivateKey, identityFromKey, type Identity } from '../../src/net/keys';
import { Spake2Client } from '../../src/net/pairing/spake2';
import { PASSWORD_AUTH_EXPORTER_LABEL, PASSWORD_AUTH_EXPORTER_LENGTH } from '../../src/shared/protocol/iam-api';
import type { RpcResponse } from '../../src/net/channel/rpc-peer';
import type { Method } from '../../src/shared/protocol/frames';
import { expect } from 'vitest';
import { onCleanup, type DeviceProcess } from './processes';

export interface RawClient {
  identity: Identity;
  channel: ClientChannel;
  call(method: Method, path: string, body?: unknown): Promise<RpcResponse>;
  close(): void;
}

export async function newIdentity(name = 'test client'): Promise<Identity> {
  return identityFromKey(generatePrivateKey(), name);
}

export async function rawClient(port: number, options: { identity?: Identity; localAddress?: string; host?: string; expect?: string } = {}): Promise<RawClient> {
  const identity = options.identity ?? (await newIdentity());
  const channel = await connectChannel({
    host: options.host ?? '127.0.0.1',
    port,
    identity,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    verifyDevice: (fp) => {
      if (options.expect && fp !== options.expect) throw new Error(`unexpected device key ${fp}`);
    },
  });
  return {
    identity,
    channel,
    call: (method, path, body) => channel.peer.request(method, path, body),
    close: () => channel.close(),
  };
}

export type PasswordAuthOutcome =
  | { stage: 'start'; response: RpcResponse }
  | { stage: 'client-check'; error: Error }
  | { stage: 'finish'; response: RpcResponse };

/** Runs the SPAKE2 exchange; reports where it stopped. `finish.status === 204` means authenticated. */
export async function passwordAuth(client: RawClient, username: string, password: string): Promise<PasswordAuthOutcome> {
  const spake = Spake2Client.start({
    password,
    idA: client.identity.fingerprint,
    idB: client.channel.deviceFingerprint,
    aad: client.channel.exportKeyingMaterial(PASSWORD_AUTH_EXPORTER_LENGTH, PASSWORD_AUTH_EXPORTER_LABEL),
  });
  const start = await client.call('POST', '/iam/pairing/password-auth/start', { Username: username, T: Buffer.from(spake.message).toString('base64url') });
  if (start.status !== 201) return { stage: 'start', response: start };
  const { S, Kc } = start.body as { S: string; Kc: string };
  let cA: Uint8Array;
  try {
    ({ cA } = spake.finish({ pB: Buffer.from(S, 'base64url'), cB: Buffer.from(Kc, 'base64url') }));
  } catch (error) {
    return { stage: 'client-check', error: error as Error };
  }
  return { stage: 'finish', response: await client.call('POST', '/iam/pairing/password-auth/finish', { Kc: Buffer.from(cA).toString('base64url') }) };
}

/** Starts an exchange with a guess and sends a bogus confirmation: what a guessing attacker does. */
export async function guess(client: RawClient, username: string, password: string): Promise<number> {
  const spake = Spake2Client.start({ password, idA: client.identity.fingerprint, idB: client.channel.deviceFingerprint, aad: Buffer.alloc(32, 1) });
  const start = await client.call('POST', '/iam/pairing/password-auth/start', { Username: username, T: Buffer.from(spake.message).toString('base64url') });
  if (start.status !== 201) return start.status;
  const finish = await client.call('POST', '/iam/pairing/password-auth/finish', { Kc: Buffer.alloc(32, 7).toString('base64url') });
  return finish.status;
}

/** A raw client to a device process, refusing any other key; closed by cleanupAll. */
export async function deviceClient(device: Pick<DeviceProcess, 'port' | 'fingerprint'>, options: Parameters<typeof rawClient>[1] = {}): Promise<RawClient> {
  const client = await rawClient(device.port, { expect: device.fingerprint, ...options });
  onCleanup(async () => client.close());
  return client;
}

/** The camera's first user, paired by local initial pairing over a raw channel. */
export async function adminOf(device: Pick<DeviceProcess, 'port' | 'fingerprint'>): Promise<RawClient> {
  const admin = await deviceClient(device);
  expect((await admin.call('POST', '/iam/pairing/local-initial', { FingerprintName: 'admin laptop' })).status).toBe(201);
  return admin;
}

/** Creates a user with a role and a one-time invite password; returns the password. */
export async function invite(admin: RawClient, username: string, role: string, password = `invite-${username}-pw`): Promise<string> {
  expect((await admin.call('POST', '/iam/users', { Username: username })).status).toBe(201);
  expect((await admin.call('PUT', `/iam/users/${username}/role`, role)).status).toBe(204);
  expect((await admin.call('PUT', `/iam/users/${username}/password`, password)).status).toBe(204);
  return password;
}
