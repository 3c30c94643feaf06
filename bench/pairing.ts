/**
 * "pairing": time to pair, per pairing mode, next to a bare connection setup in the same run.
 *
 * Devices run in this process (DeviceDaemon on 127.0.0.1, port 0, no mDNS, quiet log); the client
 * is the real pairing code, `pair()` from src/companion/pairing.ts, with a fresh client home
 * (openHome + KnownDeviceStore: new key, new certificate) for every pairing, so every pairing is a
 * full new TLS connection plus the mode's protocol. Only `pair()` is timed; making devices, homes,
 * invitations and opening the pairing window are not.
 *
 *   local-initial     a fresh camera per run (new state dir), pair as its first user, stop it
 *   local-open        one shared camera: open its pairing window, pair a new user
 *   password-invite   same camera: the admin invites a user, the new client pairs with the
 *                     pairing string (SPAKE2 bound to the TLS exporter)
 *   password-open     same camera: open pairing password set once, each client pairs with it
 *   bare              connectChannel() with a fresh identity (generated before timing) to the
 *                     same camera + one GET /device/info; the close is awaited, not timed
 *
 * Rounds are interleaved (one of each kind per round) so machine noise hits them alike. The phases
 * of each pairing come from pair()'s onStep callbacks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { DeviceDaemon } from '../src/device/daemon';
import { createLogger } from '../src/net/log';
import { pair, type PairResult } from '../src/companion/pairing';
import { openHome, type ClientHome } from '../src/companion/home';
import { KnownDeviceStore } from '../src/companion/known-devices';
import { DeviceSession } from '../src/companion/device-session';
import { inviteUser, randomPassword, setSetting } from '../src/companion/acl';
import { CompanionError } from '../src/companion/errors';
import { connectChannel, type ClientChannel } from '../src/net/channel/client';
import { generatePrivateKey, identityFromKey, type Identity } from '../src/net/keys';
import { Spake2Client, Spake2Device } from '../src/net/pairing/spake2';
import { PASSWORD_AUTH_EXPORTER_LENGTH } from '../src/shared/protocol/iam-api';
import { Status } from '../src/shared/protocol/status';
import { LOOPBACK, fmtMs, onCleanup, ratio, stats, tempDir, withTimeout, type BenchResult, type Stats } from './lib';

const RUNS = 50;
const WARMUP = 3;
const STEP_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
/** SPAKE2 crypto alone, in-process, for "where the time goes". */
const SPAKE2_CRYPTO_RUNS = 50;

const MODES = ['local-initial', 'local-open', 'password-invite', 'password-open'] as const;
type Mode = (typeof MODES)[number];

/** Phases of one pairing, from pair()'s onStep callbacks (ms). */
interface Phases {
  /** TCP + mutual TLS + pin + WebSocket upgrade + GET /device/info (twice: session, then pair). */
  connect: number;
  /** GET /iam/me (is this client paired already?). */
  check: number;
  /** SPAKE2 exchange: POST password-auth/start and /finish with the crypto (password modes). */
  spake2: number;
  /** The mode's POST (device writes its IAM state atomically: fsync) + GET /iam/me. */
  pairRequest: number;
  /** The client writes its known-device store (lock file + atomic write with fsync). */
  store: number;
}
const PHASE_KEYS: (keyof Phases)[] = ['connect', 'check', 'spake2', 'pairRequest', 'store'];

// ---------------------------------------------------------------------------------------------
// Devices and clients (not timed)

const running = new Set<DeviceDaemon>();

async function stopDevice(daemon: DeviceDaemon): Promise<void> {
  if (!running.delete(daemon)) return;
  await withTimeout(daemon.stop(), STOP_TIMEOUT_MS, `device ${daemon.deviceId} did not stop within ${STOP_TIMEOUT_MS} ms`);
}

async function startDevice(root: string): Promise<{ daemon: DeviceDaemon; address: { host: string; port: number } }> {
  const stateDir = await mkdtemp(path.join(root, 'dev-'));
  // The local-open settle time (10 s by default, a deliberate wait for a rival key) is not what
  // this measures: it is set to nothing here.
  const daemon = await DeviceDaemon.open({ stateDir, host: LOOPBACK, port: 0, mdnsInterface: null, localOpenTiming: { settleMs: 0, quietMs: 0 }, announce: () => undefined, log: createLogger({ quiet: true }) });
  const address = await daemon.start();
  running.add(daemon);
  if (address.host !== LOOPBACK) throw new Error(`device listens on ${address.host}, expected ${LOOPBACK}`);
  return { daemon, address };
}

interface Client {
  home: ClientHome;
  store: KnownDeviceStore;
}

async function newClient(root: string): Promise<Client> {
  const home = await openHome(await mkdtemp(path.join(root, 'home-')));
  return { home, store: new KnownDeviceStore(home.devicesFile) };
}

// ---------------------------------------------------------------------------------------------
// Timed operations

interface PairSample {
  total: number;
  phases: Phases;
  result: PairResult;
}

type PairArgs = Omit<Parameters<typeof pair>[0], 'home' | 'store' | 'onStep'>;

async function timedPair(client: Client, args: PairArgs): Promise<PairSample> {
  const marks: { step: string; at: number }[] = [];
  const onStep = (step: string): void => {
    marks.push({ step, at: performance.now() });
  };
  const t0 = performance.now();
  const result = await withTimeout(pair({ ...args, home: client.home, store: client.store, fingerprintName: 'lancam bench', onStep }), STEP_TIMEOUT_MS, `pair(${String(args.mode)}) did not finish`);
  const t1 = performance.now();
  const at = (prefix: string): number => {
    const mark = marks.find((m) => m.step.startsWith(prefix));
    if (!mark) throw new Error(`pair() reported no step "${prefix}…" (steps: ${marks.map((m) => m.step).join(' | ')})`);
    return mark.at;
  };
  const connected = at('connected to ');
  const paired = at('paired as ');
  const password = args.mode === 'password-open' || args.mode === 'password-invite';
  const authStart = password ? at('checking ') : NaN;
  const pairStart = at('pairing as ');
  const phases: Phases = {
    connect: connected - t0,
    check: (password ? authStart : pairStart) - connected,
    spake2: password ? pairStart - authStart : 0,
    pairRequest: paired - pairStart,
    store: t1 - paired,
  };
  if (result.alreadyPaired || result.mode !== args.mode) throw new Error(`pair(${String(args.mode)}) paired by ${String(result.mode)} (already paired: ${result.alreadyPaired})`);
  return { total: t1 - t0, phases, result };
}

async function closeChannel(channel: ClientChannel): Promise<void> {
  if (!channel.peer.isOpen) return;
  const closed = new Promise<void>((resolve) => channel.peer.once('close', () => resolve()));
  channel.close();
  await withTimeout(closed, STEP_TIMEOUT_MS, 'channel did not close');
}

async function bareOnce(address: { host: string; port: number }, identity: Identity, expected: string): Promise<number> {
  const t0 = performance.now();
  const channel = await connectChannel({
    host: address.host,
    port: address.port,
    identity,
    verifyDevice: (fingerprint) => {
      if (fingerprint !== expected) throw new Error(`device presented key ${fingerprint}, expected ${expected}`);
    },
    timeoutMs: STEP_TIMEOUT_MS,
  });
  try {
    const response = await channel.peer.request('GET', '/device/info', undefined, STEP_TIMEOUT_MS);
    const t1 = performance.now();
    if (response.status !== Status.Content) throw new Error(`GET /device/info answered ${response.status}`);
    return t1 - t0;
  } finally {
    await closeChannel(channel);
  }
}

/** SPAKE2 crypto of one exchange, both sides, in-process (no network): start, respond, finish, verify. */
function spake2CryptoOnce(idA: string, idB: string): { client: number; device: number } {
  const password = randomPassword();
  const aad = new Uint8Array(PASSWORD_AUTH_EXPORTER_LENGTH).fill(7);
  const t0 = performance.now();
  const client = Spake2Client.start({ password, idA, idB, aad });
  const t1 = performance.now();
  const device = Spake2Device.respond({ password, idA, idB, aad, pA: client.message });
  const t2 = performance.now();
  const { cA } = client.finish({ pB: device.pB, cB: device.cB });
  const t3 = performance.now();
  device.verify(cA);
  const t4 = performance.now();
  return { client: t1 - t0 + (t3 - t2), device: t2 - t1 + (t4 - t3) };
}

// ---------------------------------------------------------------------------------------------

export async function run(): Promise<BenchResult> {
  const root = await tempDir('lancam-bench-pairing-');
  onCleanup('stop pairing-bench devices', async () => {
    await Promise.allSettled([...running].map((d) => stopDevice(d)));
  });
  const started = performance.now();

  // The shared camera, its admin (local initial, not counted) and an admin session.
  const shared = await startDevice(root);
  const admin = await newClient(root);
  await withTimeout(
    pair({ home: admin.home, store: admin.store, target: { address: shared.address }, mode: 'local-initial', fingerprintName: 'lancam bench admin' }),
    STEP_TIMEOUT_MS,
    'admin pairing did not finish',
  );
  const session = await DeviceSession.open({ home: admin.home, store: admin.store, target: { address: shared.address } });
  onCleanup('close the admin session', async () => session.close());
  const openPassword = randomPassword();
  await setSetting(session, 'password-open-password', openPassword);
  await setSetting(session, 'password-open-pairing', true);

  const samples: Record<Mode, PairSample[]> = { 'local-initial': [], 'local-open': [], 'password-invite': [], 'password-open': [] };
  const bare: number[] = [];
  /** Password pairings refused with 429 (guess budget); each is retried from another 127.0.0.x. */
  const throttled: { mode: Mode; round: number; bind: string | undefined }[] = [];
  let passwordBind: string | undefined;
  let nextBind = 2;

  const pairPassword = async (mode: 'password-invite' | 'password-open', round: number, makeArgs: () => Promise<PairArgs>): Promise<PairSample> => {
    for (;;) {
      const client = await newClient(root);
      const args = await makeArgs();
      try {
        return await timedPair(client, { ...args, ...(passwordBind ? { bind: passwordBind } : {}) });
      } catch (err) {
        if (!(err instanceof CompanionError && err.status === Status.TooManyRequests) || nextBind > 20) throw err;
        throttled.push({ mode, round, bind: passwordBind });
        passwordBind = `127.0.0.${nextBind++}`;
      }
    }
  };

  let user = 0;
  const round = async (index: number, record: boolean): Promise<void> => {
    // local-initial: a fresh camera each time.
    {
      const fresh = await startDevice(root);
      const client = await newClient(root);
      try {
        const s = await timedPair(client, { target: { address: fresh.address }, mode: 'local-initial' });
        if (record) samples['local-initial'].push(s);
      } finally {
        await stopDevice(fresh.daemon);
      }
    }
    // local-open: the camera's "button", then a new user.
    {
      const client = await newClient(root);
      shared.daemon.pairingWindow.open(60, 'bench');
      const s = await timedPair(client, { target: { address: shared.address }, mode: 'local-open', username: `open${user++}` });
      if (record) samples['local-open'].push(s);
    }
    // password-invite: the admin invites, the new client pairs with the pairing string.
    {
      const s = await pairPassword('password-invite', index, async () => {
        const invitation = await inviteUser(session, `inv${user++}`, 'Standard');
        return { target: { address: shared.address }, mode: 'password-invite', pairingString: invitation.pairingString };
      });
      if (record) samples['password-invite'].push(s);
    }
    // password-open: the camera's open pairing password, a new user name.
    {
      const s = await pairPassword('password-open', index, async () => ({
        target: { address: shared.address },
        mode: 'password-open',
        password: openPassword,
        username: `pwopen${user++}`,
      }));
      if (record) samples['password-open'].push(s);
    }
    // Baseline: bare connection setup to the same camera.
    {
      const identity = await identityFromKey(generatePrivateKey(), 'lancam-bench-bare');
      const ms = await bareOnce(shared.address, identity, shared.daemon.fingerprint);
      if (record) bare.push(ms);
    }
  };

  for (let i = 0; i < WARMUP; i++) await round(i, false);
  for (let i = 0; i < RUNS; i++) await round(i, true);
  const elapsedMs = performance.now() - started;

  // For "where the time goes": the SPAKE2 crypto alone (noble P-256 in JavaScript).
  const fpA = admin.home.identity.fingerprint;
  const fpB = shared.daemon.fingerprint;
  spake2CryptoOnce(fpA, fpB);
  const cryptoClient: number[] = [];
  const cryptoDevice: number[] = [];
  for (let i = 0; i < SPAKE2_CRYPTO_RUNS; i++) {
    const c = spake2CryptoOnce(fpA, fpB);
    cryptoClient.push(c.client);
    cryptoDevice.push(c.device);
  }

  session.close();
  await stopDevice(shared.daemon);
  await rm(root, { recursive: true, force: true });

  const bareStats = stats(bare);
  const perMode = {} as Record<Mode, { total: Stats; ratioToBare: { median: number; p99: number }; phasesMedian: Record<keyof Phases, number>; phases: Record<keyof Phases, Stats> }>;
  for (const mode of MODES) {
    const total = stats(samples[mode].map((s) => s.total));
    const phases = {} as Record<keyof Phases, Stats>;
    const phasesMedian = {} as Record<keyof Phases, number>;
    for (const key of PHASE_KEYS) {
      phases[key] = stats(samples[mode].map((s) => s.phases[key]));
      phasesMedian[key] = phases[key].median;
    }
    perMode[mode] = { total, ratioToBare: { median: ratio(total.median, bareStats.median), p99: ratio(total.p99, bareStats.p99) }, phasesMedian, phases };
  }
  const spake2Crypto = { client: stats(cryptoClient), device: stats(cryptoDevice) };

  const part = (mode: Mode): string => `${mode} median ${fmtMs(perMode[mode].total.median)} ms p99 ${fmtMs(perMode[mode].total.p99)}`;
  const ratios = MODES.map((m) => `${perMode[m].ratioToBare.median}x`).join(' / ');
  return {
    name: 'pairing',
    summary:
      `${MODES.map(part).join('; ')}; bare connect median ${fmtMs(bareStats.median)} ms p99 ${fmtMs(bareStats.p99)} ` +
      `(median ratios ${ratios}; n=${RUNS} each, device in-process${throttled.length > 0 ? `; ${throttled.length} password pairings throttled (429), retried from other 127.0.0.x` : ''})`,
    results: {
      unit: 'ms',
      runs: RUNS,
      warmupRounds: WARMUP,
      setup: {
        device: 'DeviceDaemon in the bench process (127.0.0.1, port 0, no mDNS, quiet log); clients in the same process',
        client: 'pair() from src/companion/pairing.ts; a fresh home (openHome: new key + certificate) and known-device store per pairing',
        timed: 'pair() only: from the call to its result (connect, requests, device state write, client store write). Making devices, homes, invitations and opening the pairing window are not timed.',
        order: 'interleaved: per round one local-initial (fresh camera), local-open, password-invite, password-open, bare connect',
        bare: 'connectChannel() with a fresh identity (generated before timing) + GET /device/info to the shared camera; close awaited, not timed',
        phases: {
          connect: 'TCP + mutual TLS + pin + WebSocket upgrade + GET /device/info twice (DeviceSession.open for an unknown key, then pair())',
          check: 'GET /iam/me (is this client paired already?)',
          spake2: 'POST /iam/pairing/password-auth/start + /finish with the SPAKE2 crypto on both sides (password modes only)',
          pairRequest: "the mode's POST (the device writes its IAM state atomically, with fsync) + GET /iam/me",
          store: 'the client writes its known-device store (lock file + atomic write with fsync) and closes',
        },
      },
      ...perMode,
      bare: bareStats,
      spake2CryptoInProcess: {
        what: `one exchange's SPAKE2 crypto without network, ${SPAKE2_CRYPTO_RUNS} runs: client = start + finish, device = respond + verify`,
        ...spake2Crypto,
      },
      guessBudget: {
        throttled,
        note:
          throttled.length === 0
            ? `all ${2 * (RUNS + WARMUP)} password pairings came from 127.0.0.1 without a 429 (a successful exchange gives its guess back)`
            : 'some password pairings got 429 and were retried from another 127.0.0.x source address',
      },
      elapsedMs: Math.round(elapsedMs),
    },
  };
}
