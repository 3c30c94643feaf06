/**
 * The pairing client: its pure parts (mode choice, base64url, names, passwords) and its flow
 * against an in-process fake camera (a ChannelServer on loopback that speaks the pairing API of
 * src/shared/protocol/iam-api.ts), including a man in the middle who relays every request.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INVITE_PASSWORD_LENGTH, inviteUser, PASSWORD_ALPHABET, randomPassword, toAclUser } from '../../src/companion/acl';
import { DeviceSession } from '../../src/companion/device-session';
import { CompanionError } from '../../src/companion/errors';
import { openHome, type ClientHome } from '../../src/companion/home';
import { KnownDeviceStore } from '../../src/companion/known-devices';
import {
  chooseMode,
  defaultFingerprintName,
  fromBase64url,
  pair,
  suggestUsername,
  THROTTLED_MESSAGE,
  toBase64url,
  truncateUtf8,
  WINDOW_CLOSED_MESSAGE,
  WRONG_PASSWORD_MESSAGE,
} from '../../src/companion/pairing';
import { connectChannel, type ClientChannel } from '../../src/net/channel/client';
import { errorResponse, type RpcRequest, type RpcResponse } from '../../src/net/channel/rpc-peer';
import { ChannelServer, type ChannelConnection } from '../../src/net/channel/server';
import { generatePrivateKey, identityFromKey, type Identity } from '../../src/net/keys';
import { Spake2Device } from '../../src/net/pairing/spake2';
import { formatPairingString, parsePairingString } from '../../src/shared/pairing-string';
import type { PairingMode } from '../../src/shared/protocol/device-api';
import { PASSWORD_AUTH_EXPORTER_LABEL, PASSWORD_AUTH_EXPORTER_LENGTH, type IamUserView } from '../../src/shared/protocol/iam-api';
import { cleanupAll, tempDir } from '../helpers/processes';

// ---------------------------------------------------------------------------------------------
// Pure parts
// ---------------------------------------------------------------------------------------------

describe('chooseMode (--mode auto)', () => {
  const all: PairingMode[] = ['local-initial', 'local-open', 'password-open', 'password-invite'];

  it('uses the invitation of a pairing string with u= and pwd=', () => {
    expect(chooseMode({ offered: all, pairingStringPassword: true, pairingStringUser: true })).toBe('password-invite');
    expect(chooseMode({ offered: ['password-invite'], pairingStringPassword: true, pairingStringUser: true })).toBe('password-invite');
  });

  it('uses password open for a pairing string with pwd= and no u=', () => {
    expect(chooseMode({ offered: all, pairingStringPassword: true })).toBe('password-open');
  });

  it('refuses a pairing string whose mode the camera does not offer, saying what it offers', () => {
    expect(() => chooseMode({ offered: ['local-open'], pairingStringPassword: true, pairingStringUser: true })).toThrow(/invitation.*it offers: local-open/);
    expect(() => chooseMode({ offered: ['password-invite'], pairingStringPassword: true })).toThrow(/password pairing.*it offers: password-invite/);
  });

  it('prefers local initial, then local open, without a password', () => {
    expect(chooseMode({ offered: all })).toBe('local-initial');
    expect(chooseMode({ offered: ['local-open', 'password-open'] })).toBe('local-open');
    expect(chooseMode({ offered: ['local-open', 'password-open'], password: true })).toBe('local-open');
    // A pairing string without a password (only fp=) pairs locally.
    expect(chooseMode({ offered: ['local-initial'], pairingStringUser: false })).toBe('local-initial');
  });

  it('uses password open when a password is given and nothing local is offered', () => {
    expect(chooseMode({ offered: ['password-open', 'password-invite'], password: true })).toBe('password-open');
    expect(chooseMode({ offered: ['password-invite'], password: true, username: true })).toBe('password-invite');
  });

  it('fails clearly, listing what the camera offers', () => {
    const fail = (input: Parameters<typeof chooseMode>[0]) => {
      try {
        chooseMode(input);
      } catch (err) {
        expect(err).toBeInstanceOf(CompanionError);
        expect((err as CompanionError).status).toBe('no-pairing-mode');
        return (err as Error).message;
      }
      throw new Error('expected chooseMode to fail');
    };
    expect(fail({ offered: [] })).toMatch(/offers no pairing mode.*invite you.*pair-window/);
    expect(fail({ offered: ['password-open'] })).toMatch(/it offers: password-open.*--password/);
    expect(fail({ offered: ['password-invite'] })).toMatch(/it offers: password-invite.*--pairing-string/);
  });
});

describe('base64url', () => {
  it('round-trips every length, unpadded', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
      const text = toBase64url(bytes);
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(fromBase64url(text)).toEqual(bytes);
    }
  });

  it('encodes a view of a larger buffer correctly', () => {
    const buffer = new Uint8Array([1, 2, 3, 4, 5, 6]);
    expect(toBase64url(buffer.subarray(2, 4))).toBe(toBase64url(new Uint8Array([3, 4])));
  });

  it('matches RFC 4648 test vectors (base64url alphabet, no padding)', () => {
    const enc = (s: string) => toBase64url(new TextEncoder().encode(s));
    expect(enc('f')).toBe('Zg');
    expect(enc('fo')).toBe('Zm8');
    expect(enc('foo')).toBe('Zm9v');
    expect(enc('foobar')).toBe('Zm9vYmFy');
    expect(toBase64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  });

  it('refuses standard base64, padding, impossible lengths and non-canonical encodings', () => {
    for (const text of ['+/8', 'Zg==', 'Zm9v!', 'Z', 'Zh', 'Zm9=', 'Zm 9v']) expect(() => fromBase64url(text), text).toThrow(TypeError);
  });
});

describe('names and passwords', () => {
  it('names the key "<login>@<hostname>" (so keys can be told apart), at most 64 bytes, never cutting a character', () => {
    expect(defaultFingerprintName('kitchen-pi', 'alice')).toBe('alice@kitchen-pi');
    expect(defaultFingerprintName('kitchen-pi', 'bob')).not.toBe(defaultFingerprintName('kitchen-pi', 'alice'));
    expect(defaultFingerprintName('kitchen-pi')).toMatch(/^.+@kitchen-pi$/);
    // No login name to be had: the host still tells it apart.
    expect(defaultFingerprintName('kitchen-pi', null)).toBe('lancam on kitchen-pi');
    const long = defaultFingerprintName('ä'.repeat(40), 'al');
    expect(new TextEncoder().encode(long).length).toBeLessThanOrEqual(64);
    expect(long).toBe(`al@${'ä'.repeat(30)}`);
    expect(truncateUtf8('a😀b', 4)).toBe('a');
    expect(truncateUtf8('a😀b', 5)).toBe('a😀');
  });

  it('suggests a valid username from the login name', () => {
    expect(suggestUsername('Alice Smith')).toBe('alicesmith');
    expect(suggestUsername('ÆØÅ')).toBe('user');
    expect(suggestUsername('x'.repeat(80))).toBe('x'.repeat(64));
    expect(suggestUsername()).toMatch(/^[a-z0-9_.-]{1,64}$/);
  });

  it('makes invite passwords from the unambiguous alphabet', () => {
    expect(PASSWORD_ALPHABET).not.toMatch(/[0O1lI,=]/);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const pw = randomPassword();
      expect(pw).toHaveLength(INVITE_PASSWORD_LENGTH);
      expect([...pw].every((c) => PASSWORD_ALPHABET.includes(c))).toBe(true);
      seen.add(pw);
    }
    expect(seen.size).toBe(200);
  });

  it('shows users without absent fields', () => {
    const fp = 'ab'.repeat(32);
    expect(toAclUser({ Username: 'bob', Fingerprints: [{ Fingerprint: fp }], HasPassword: false })).toEqual({ username: 'bob', fingerprints: [{ fingerprint: fp }] });
    expect(
      toAclUser({ Username: 'bob', Role: 'Guest', DisplayName: 'Bob', Fingerprints: [{ Fingerprint: fp, Name: 'phone' }], HasPassword: true }),
    ).toStrictEqual({ username: 'bob', role: 'Guest', displayName: 'Bob', fingerprints: [{ fingerprint: fp, name: 'phone' }] });
  });
});

// ---------------------------------------------------------------------------------------------
// The flow against a fake camera
// ---------------------------------------------------------------------------------------------

interface FakeUser {
  Username: string;
  Role: string;
  Fingerprints: { Fingerprint: string; Name?: string }[];
  password?: string;
}

interface FakeCamera {
  identity: Identity;
  port: number;
  users: FakeUser[];
  requests: string[];
  modes: PairingMode[];
  windowOpen: boolean;
  openPassword: string | undefined;
  failedAttempts: number;
  close(): Promise<void>;
}

const servers: ChannelServer[] = [];
const channels: ClientChannel[] = [];

const view = (u: FakeUser): IamUserView => ({ Username: u.Username, Role: u.Role, Fingerprints: u.Fingerprints, HasPassword: u.password !== undefined });

async function startFakeCamera(setup: Partial<Pick<FakeCamera, 'modes' | 'windowOpen' | 'openPassword' | 'users'>> = {}): Promise<FakeCamera> {
  const identity = await identityFromKey(generatePrivateKey(), 'fake camera');
  const server = new ChannelServer({ identity, host: '127.0.0.1', port: 0 });
  servers.push(server);
  const camera: FakeCamera = {
    identity,
    port: 0,
    users: setup.users ?? [],
    requests: [],
    modes: setup.modes ?? ['local-initial', 'local-open', 'password-open', 'password-invite'],
    windowOpen: setup.windowOpen ?? false,
    openPassword: setup.openPassword,
    failedAttempts: 0,
    close: () => server.close(),
  };
  server.on('connection', (conn: ChannelConnection) => {
    let spake: { device: Spake2Device; username: string } | undefined;
    let authenticated: string | undefined;
    const me = () => camera.users.find((u) => u.Fingerprints.some((f) => f.Fingerprint === conn.clientFingerprint));
    const addKey = (user: FakeUser, body: unknown) => {
      const name = (body as { FingerprintName?: string }).FingerprintName;
      user.Fingerprints.push({ Fingerprint: conn.clientFingerprint, ...(name ? { Name: name } : {}) });
    };
    conn.peer.serve(async (req: RpcRequest): Promise<RpcResponse> => {
      camera.requests.push(`${req.method} ${req.path}`);
      const body = (req.body ?? {}) as Record<string, string>;
      switch (`${req.method} ${req.path}`) {
        case 'GET /device/info':
          return { status: 205, body: { ProductId: 'pr-fake', DeviceId: 'de-fake', FriendlyName: 'Fake camera', Fingerprint: identity.fingerprint, ProtocolVersion: '1', AppName: 'fake', AppVersion: '0' } };
        case 'GET /iam/pairing':
          return { status: 205, body: { Modes: camera.modes, ProductId: 'pr-fake', DeviceId: 'de-fake', FriendlyName: 'Fake camera' } };
        case 'GET /iam/me': {
          const user = me();
          return user ? { status: 205, body: view(user) } : errorResponse(404, 'not-paired', 'not paired');
        }
        case 'GET /iam/users':
          return { status: 205, body: camera.users.map((u) => u.Username) };
        case 'POST /iam/users': {
          if (camera.users.some((u) => u.Username === body.Username)) return errorResponse(409, 'exists', 'exists');
          const user: FakeUser = { Username: body.Username!, Role: '', Fingerprints: [] };
          camera.users.push(user);
          return { status: 201, body: view(user) };
        }
        case 'POST /iam/pairing/local-initial': {
          if (camera.users.some((u) => u.Username === 'admin')) return errorResponse(409, 'paired', 'already paired');
          const user: FakeUser = { Username: 'admin', Role: 'Administrator', Fingerprints: [] };
          addKey(user, body);
          camera.users.push(user);
          return { status: 201 };
        }
        case 'POST /iam/pairing/local-open': {
          if (!camera.windowOpen) return errorResponse(403, 'closed', 'pairing window closed');
          if (camera.users.some((u) => u.Username === body.Username)) return errorResponse(409, 'taken', 'username taken');
          const user: FakeUser = { Username: body.Username!, Role: 'Guest', Fingerprints: [] };
          addKey(user, body);
          camera.users.push(user);
          return { status: 201 };
        }
        case 'POST /iam/pairing/password-auth/start': {
          if (camera.failedAttempts >= 3) return errorResponse(429, 'throttled', 'slow down');
          const username = body.Username!;
          const password = (username === '' ? camera.openPassword : camera.users.find((u) => u.Username === username)?.password) ?? 'unknown-user-password';
          const aad = conn.exportKeyingMaterial(PASSWORD_AUTH_EXPORTER_LENGTH, PASSWORD_AUTH_EXPORTER_LABEL);
          const device = Spake2Device.respond({ password, idA: conn.clientFingerprint, idB: identity.fingerprint, aad, pA: fromBase64url(body.T!) });
          spake = { device, username };
          return { status: 201, body: { S: toBase64url(device.pB), Kc: toBase64url(device.cB) } };
        }
        case 'POST /iam/pairing/password-auth/finish': {
          const pending = spake;
          spake = undefined;
          try {
            pending!.device.verify(fromBase64url(body.Kc!));
            authenticated = pending!.username;
            return { status: 204 };
          } catch {
            camera.failedAttempts++;
            return errorResponse(401, 'wrong-password', 'wrong password');
          }
        }
        case 'POST /iam/pairing/password-invite': {
          const user = camera.users.find((u) => u.Username === authenticated);
          if (!user || authenticated === '') return errorResponse(401, 'unauthorized', 'authenticate first');
          delete user.password;
          addKey(user, body);
          return { status: 201 };
        }
        case 'POST /iam/pairing/password-open': {
          if (authenticated !== '') return errorResponse(401, 'unauthorized', 'authenticate first');
          if (camera.users.some((u) => u.Username === body.Username)) return errorResponse(409, 'taken', 'username taken');
          const user: FakeUser = { Username: body.Username!, Role: 'Guest', Fingerprints: [] };
          addKey(user, body);
          camera.users.push(user);
          return { status: 201 };
        }
      }
      const userMatch = /^\/iam\/users\/([a-z0-9_.-]+)(\/role|\/password)?$/.exec(req.path);
      const user = camera.users.find((u) => u.Username === userMatch?.[1]);
      if (userMatch && user) {
        if (req.method === 'GET' && !userMatch[2]) return { status: 205, body: view(user) };
        if (req.method === 'DELETE' && !userMatch[2]) {
          camera.users.splice(camera.users.indexOf(user), 1);
          return { status: 202 };
        }
        if (req.method === 'PUT' && userMatch[2] === '/role') {
          if (!['Administrator', 'Guest'].includes(req.body as string)) return errorResponse(404, 'no-role', 'no such role');
          user.Role = req.body as string;
          return { status: 204 };
        }
        if (req.method === 'PUT' && userMatch[2] === '/password') {
          user.password = req.body as string;
          return { status: 204 };
        }
      }
      if (req.method === 'GET' && req.path === '/iam/roles') return { status: 205, body: ['Administrator', 'Guest'] };
      return errorResponse(404, 'not-found', `no ${req.path}`);
    });
  });
  camera.port = (await server.listen()).port;
  return camera;
}

/**
 * A man in the middle: terminates TLS with its own key and relays every request to the camera.
 * A careful one (`rewrite`) replaces the camera's fingerprint in /device/info with its own.
 */
async function startRelay(camera: FakeCamera, rewrite = true): Promise<{ port: number; identity: Identity }> {
  const identity = await identityFromKey(generatePrivateKey(), 'relay');
  const server = new ChannelServer({ identity, host: '127.0.0.1', port: 0 });
  servers.push(server);
  server.on('connection', (conn: ChannelConnection) => {
    const upstream = connectChannel({ host: '127.0.0.1', port: camera.port, identity, verifyDevice: () => undefined });
    void upstream.then((c) => channels.push(c));
    conn.peer.serve(async (req) => {
      const response = await (await upstream).peer.request(req.method, req.path, req.body);
      if (rewrite && req.path === '/device/info') return { ...response, body: { ...(response.body as object), Fingerprint: identity.fingerprint } };
      return response;
    });
  });
  return { port: (await server.listen()).port, identity };
}

let home: ClientHome;
let store: KnownDeviceStore;

beforeEach(async () => {
  home = await openHome(await tempDir('lancam-pair-'));
  store = new KnownDeviceStore(home.devicesFile);
});
afterEach(async () => {
  for (const c of channels.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await cleanupAll();
});

const at = (camera: { port: number }) => ({ address: { host: '127.0.0.1', port: camera.port } });

async function withSession<T>(camera: FakeCamera, use: (s: DeviceSession) => Promise<T>): Promise<T> {
  const session = await DeviceSession.open({ home, store, target: at(camera) });
  try {
    return await use(session);
  } finally {
    session.close();
  }
}

async function failure(promise: Promise<unknown>): Promise<CompanionError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CompanionError);
    return err as CompanionError;
  }
  throw new Error('expected a failure');
}

describe('pair', () => {
  it('pairs by local initial pairing in auto mode, stores the pinned key, and then says it is already paired', async () => {
    const camera = await startFakeCamera();
    const steps: string[] = [];
    const result = await pair({ home, store, target: at(camera), fingerprintName: 'test key', onStep: (s) => steps.push(s) });
    expect(result).toMatchObject({ deviceId: 'de-fake', productId: 'pr-fake', username: 'admin', role: 'Administrator', mode: 'local-initial', alreadyPaired: false, fingerprint: camera.identity.fingerprint });
    expect(camera.users[0]!.Fingerprints).toEqual([{ Fingerprint: home.identity.fingerprint, Name: 'test key' }]);
    expect(steps.length).toBeGreaterThan(2);
    const known = await store.get('de-fake');
    expect(known).toMatchObject({ fingerprint: camera.identity.fingerprint, username: 'admin', role: 'Administrator', friendlyName: 'Fake camera', lastAddress: { host: '127.0.0.1', port: camera.port } });

    camera.requests.length = 0;
    const again = await pair({ home, store, target: at(camera) });
    expect(again).toMatchObject({ alreadyPaired: true, mode: undefined, username: 'admin' });
    expect(camera.requests.filter((r) => r.startsWith('POST'))).toEqual([]);
    expect((await store.get('de-fake'))!.pairedAt).toBe(known!.pairedAt);
  });

  it('reports an owned camera (409) and a closed pairing window (403) clearly', async () => {
    const owned = await startFakeCamera({ users: [{ Username: 'admin', Role: 'Administrator', Fingerprints: [] }] });
    const err = await failure(pair({ home, store, target: at(owned), mode: 'local-initial' }));
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/already has an owner/);

    const closed = await startFakeCamera({ modes: ['local-open'] });
    const err2 = await failure(pair({ home, store, target: at(closed), username: 'bob' }));
    expect(err2.status).toBe(403);
    expect(err2.message).toBe(WINDOW_CLOSED_MESSAGE);
    expect(await store.list()).toEqual([]);
  });

  it('pairs by local open pairing inside the window, with a username; a taken name is a 409', async () => {
    const camera = await startFakeCamera({ modes: ['local-open'], windowOpen: true, users: [{ Username: 'taken', Role: 'Guest', Fingerprints: [] }] });
    const err = await failure(pair({ home, store, target: at(camera), username: 'taken' }));
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/username is taken/);
    const result = await pair({ home, store, target: at(camera), username: 'bob' });
    expect(result).toMatchObject({ mode: 'local-open', username: 'bob', role: 'Guest' });
  });

  it('pairs by invitation: inviteUser on one client, pair with the pairing string on another', async () => {
    const camera = await startFakeCamera({ modes: ['password-invite'] });
    const invitation = await withSession(camera, (s) => inviteUser(s, 'carol', 'Guest'));
    expect(invitation).toMatchObject({ username: 'carol', role: 'Guest' });
    expect(parsePairingString(invitation.pairingString)).toEqual({
      productId: 'pr-fake',
      deviceId: 'de-fake',
      username: 'carol',
      password: invitation.password,
      fingerprint: camera.identity.fingerprint,
    });
    expect(camera.users.find((u) => u.Username === 'carol')).toMatchObject({ Role: 'Guest', password: invitation.password });

    // Carol's own client (a fresh home).
    home = await openHome(await tempDir('lancam-carol-'));
    store = new KnownDeviceStore(home.devicesFile);
    const result = await pair({ home, store, target: at(camera), pairingString: invitation.pairingString });
    expect(result).toMatchObject({ mode: 'password-invite', username: 'carol', role: 'Guest' });
    expect(camera.requests).toContain('POST /iam/pairing/password-auth/finish');
    expect(await store.get('de-fake')).toMatchObject({ username: 'carol', fingerprint: camera.identity.fingerprint });
  });

  it('removes a half-created user when the role does not exist', async () => {
    const camera = await startFakeCamera();
    const err = await failure(withSession(camera, (s) => inviteUser(s, 'dave', 'NoSuchRole')));
    expect(err.status).toBe(404);
    expect(err.message).toMatch(/no role "NoSuchRole".*Administrator, Guest/);
    expect(camera.users.map((u) => u.Username)).not.toContain('dave');
  });

  it('pairs by open password, and reports a wrong password without sending anything further', async () => {
    const camera = await startFakeCamera({ modes: ['password-open'], openPassword: 'open-sesame' });
    const err = await failure(pair({ home, store, target: at(camera), password: 'wrong-one', username: 'eve' }));
    expect(err.status).toBe(401);
    expect(err.message).toBe(WRONG_PASSWORD_MESSAGE);
    expect(camera.requests.at(-1)).toBe('POST /iam/pairing/password-auth/start');

    const result = await pair({ home, store, target: at(camera), password: 'open-sesame', username: 'frank' });
    expect(result).toMatchObject({ mode: 'password-open', username: 'frank' });
  });

  it('says "too many attempts" when the camera throttles (429)', async () => {
    const camera = await startFakeCamera({ modes: ['password-open'], openPassword: 'open-sesame' });
    camera.failedAttempts = 3;
    const err = await failure(pair({ home, store, target: at(camera), password: 'open-sesame', username: 'gina' }));
    expect(err.status).toBe(429);
    expect(err.message).toBe(THROTTLED_MESSAGE);
  });

  it('refuses a camera whose key is not the pairing string\'s fp= before sending anything', async () => {
    const camera = await startFakeCamera({ modes: ['password-invite'] });
    const other = 'cd'.repeat(32);
    const text = formatPairingString({ deviceId: 'de-fake', username: 'carol', password: 'abcdefgh', fingerprint: other });
    const err = await failure(pair({ home, store, target: at(camera), pairingString: text }));
    expect(err.status).toBe('device-key-mismatch');
    expect(camera.requests).toEqual([]);
  });

  it('refuses a pairing string for another device id', async () => {
    const camera = await startFakeCamera();
    const err = await failure(pair({ home, store, target: at(camera), pairingString: 'd=de-other,u=carol,pwd=abcdefgh' }));
    expect(err.status).toBe('device-mismatch');
    // Asked once (the session remembers it), and nothing else was sent.
    expect(camera.requests).toEqual(['GET /device/info']);
  });

  it('fails confirmation through a man in the middle who relays every message, with the right password', async () => {
    const camera = await startFakeCamera({ modes: ['password-invite'] });
    const invitation = await withSession(camera, (s) => inviteUser(s, 'hank', 'Guest'));
    // The victim gets the string without fp= (say, typed in) and is sent to the relay.
    const { fingerprint: _fp, ...rest } = parsePairingString(invitation.pairingString);
    home = await openHome(await tempDir('lancam-hank-'));
    store = new KnownDeviceStore(home.devicesFile);
    const relay = await startRelay(camera);
    camera.requests.length = 0;
    const err = await failure(pair({ home, store, target: at(relay), pairingString: formatPairingString(rest) }));
    expect(err.status).toBe(401);
    expect(err.message).toBe(WRONG_PASSWORD_MESSAGE);
    expect(camera.requests).not.toContain('POST /iam/pairing/password-auth/finish');
    expect(camera.requests).not.toContain('POST /iam/pairing/password-invite');
    expect(await store.list()).toEqual([]);
    // A careless relay that passes /device/info on unchanged is caught even earlier.
    const careless = await startRelay(camera, false);
    expect((await failure(pair({ home, store, target: at(careless), pairingString: formatPairingString(rest) }))).status).toBe('bad-response');
    // The same string straight to the camera still works: nothing was used up.
    const ok = await pair({ home, store, target: at(camera), pairingString: formatPairingString(rest) });
    expect(ok).toMatchObject({ mode: 'password-invite', username: 'hank' });
  });

  it('needs a target or a pairing string, and checks arguments before connecting', async () => {
    expect((await failure(pair({ home, store }))).status).toBe('usage');
    expect((await failure(pair({ home, store, target: at({ port: 1 }), username: 'Bad Name' }))).status).toBe('usage');
    expect((await failure(pair({ home, store, target: at({ port: 1 }), password: 'abc' }))).status).toBe('usage');
    expect((await failure(pair({ home, store, pairingString: 'u=x' }))).status).toBe('bad-pairing-string');
    expect((await failure(pair({ home, store, pairingString: 'd=de-1,pwd=abcdefgh', password: 'other-pw' }))).message).toMatch(/differs/);
  });
});
