/**
 * "connect": connection setup to first response, over sequential connections.
 *
 *   lancam       connectChannel() to a real `lancam-device` process (127.0.0.1, --no-mdns):
 *                TCP + mutual TLS 1.3 + fingerprint pin + WebSocket upgrade, then
 *                GET /device/info until the 205 arrives. Timed from before connectChannel()
 *                to the response; the close that follows is not timed (but awaited).
 *   bare TLS     tls.connect() (TLS 1.3, same P-256 self-signed certificate types, client
 *                certificate presented = mutual auth, peer fingerprint checked) to a TLS echo
 *                server in another process (bench/tls-echo-server.ts), write 1 byte, read the
 *                echo. This is the ratio's baseline.
 *   bare TLS (server auth only)   the same without a client certificate, for reference.
 *
 * Both servers run in child processes; the clients run in this process. The three kinds are
 * interleaved (one of each per round) so that machine noise hits them alike. A few warm-up
 * rounds are not counted.
 */
import path from 'node:path';
import tls from 'node:tls';
import { connectChannel, type ClientChannel } from '../src/net/channel/client';
import { fingerprintOfCertificate, generatePrivateKey, identityFromKey, type Identity } from '../src/net/keys';
import { Status } from '../src/shared/protocol/status';
import { BENCH_DIR, LOOPBACK, fmtMs, ratio, spawnNode, startDeviceProcess, stats, withTimeout, type BenchResult } from './lib';

const CONNECTIONS = 200;
const WARMUP = 10;
/** Requests on one open channel (kept under the channel's burst of 100 requests). */
const REQUESTS_ON_OPEN_CHANNEL = 50;
const STEP_TIMEOUT_MS = 10_000;

async function closeChannel(channel: ClientChannel): Promise<void> {
  if (!channel.peer.isOpen) return;
  const closed = new Promise<void>((resolve) => channel.peer.once('close', () => resolve()));
  channel.close();
  await withTimeout(closed, STEP_TIMEOUT_MS, 'channel did not close');
}

interface LancamSample {
  total: number;
  /** connectChannel() resolved: TCP + TLS + fingerprint check + WebSocket upgrade. */
  open: number;
  /** verifyDevice() called, i.e. the TLS handshake is complete (client side). */
  tls: number;
  /** From the TLS handshake to the open WebSocket (HTTP upgrade round trip). */
  upgrade: number;
  /** GET /device/info round trip on the fresh channel. */
  request: number;
}

async function lancamOnce(host: string, port: number, identity: Identity, expected: string): Promise<LancamSample> {
  const t0 = performance.now();
  let tTls = NaN;
  const channel = await connectChannel({
    host,
    port,
    identity,
    verifyDevice: (fingerprint) => {
      tTls = performance.now();
      if (fingerprint !== expected) throw new Error(`device presented key ${fingerprint}, expected ${expected}`);
    },
    timeoutMs: STEP_TIMEOUT_MS,
  });
  const t1 = performance.now();
  try {
    const response = await channel.peer.request('GET', '/device/info', undefined, STEP_TIMEOUT_MS);
    const t2 = performance.now();
    if (response.status !== Status.Content) throw new Error(`GET /device/info answered ${response.status}: ${JSON.stringify(response.body)}`);
    return { total: t2 - t0, open: t1 - t0, tls: tTls - t0, upgrade: t1 - tTls, request: t2 - t1 };
  } finally {
    await closeChannel(channel);
  }
}

/** Client credentials of a bare TLS connection: none, PEM parsed per connection (as connectChannel does), or a SecureContext made once. */
type BareClientAuth = { kind: 'none' } | { kind: 'pem'; identity: Identity } | { kind: 'context'; context: tls.SecureContext };

async function bareOnce(port: number, auth: BareClientAuth, expected: string): Promise<{ total: number; tls: number }> {
  const t0 = performance.now();
  let tTls = NaN;
  const socket = tls.connect({
    host: LOOPBACK,
    port,
    minVersion: 'TLSv1.3',
    rejectUnauthorized: false,
    servername: '',
    ...(auth.kind === 'pem' ? { key: auth.identity.keyPem, cert: auth.identity.certPem } : {}),
    ...(auth.kind === 'context' ? { secureContext: auth.context } : {}),
  });
  socket.setNoDelay(true); // as ws does for the lancam channel
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.once('secureConnect', () => {
          tTls = performance.now();
          const cert = socket.getPeerX509Certificate();
          if (!cert || fingerprintOfCertificate(cert) !== expected) return reject(new Error('echo server presented an unexpected key'));
          socket.write(Buffer.from([0x2a]));
        });
        socket.once('data', () => resolve());
      }),
      STEP_TIMEOUT_MS,
      'no echo from the TLS echo server',
    );
    return { total: performance.now() - t0, tls: tTls - t0 };
  } finally {
    socket.end();
    await withTimeout(closed, STEP_TIMEOUT_MS, 'TLS socket did not close').catch(() => socket.destroy());
  }
}

export async function run(): Promise<BenchResult> {
  const [clientIdentity, echoIdentity] = await Promise.all([
    identityFromKey(generatePrivateKey(), 'lancam-bench-client'),
    identityFromKey(generatePrivateKey(), 'lancam-bench-echo'),
  ]);

  // Hundreds of connections a second from one address: this measures handshake cost, not the
  // per-source accept rate limit (a defence against eviction churn), so that limit is off here.
  const device = await startDeviceProcess({ mdns: false, args: ['--new-connections-per-second', '0'] });
  const echo = spawnNode('tls-echo-server', ['--import', 'tsx', path.join(BENCH_DIR, 'tls-echo-server.ts')], {
    stdin: 'pipe',
    env: { LANCAM_BENCH_KEY: echoIdentity.keyPem, LANCAM_BENCH_CERT: echoIdentity.certPem },
  });
  await echo.waitFor(/^ready$/m, 20_000, '"ready" line');
  const mutualPort = Number(/^mutual (\d+)$/m.exec(echo.stdout())?.[1]);
  const serverAuthPort = Number(/^server-auth (\d+)$/m.exec(echo.stdout())?.[1]);

  const sharedContext = tls.createSecureContext({ key: clientIdentity.keyPem, cert: clientIdentity.certPem, minVersion: 'TLSv1.3' });
  const lancam: Record<keyof LancamSample, number[]> = { total: [], open: [], tls: [], upgrade: [], request: [] };
  const bare = {
    mutual: { total: [] as number[], tls: [] as number[] },
    mutualSharedContext: { total: [] as number[], tls: [] as number[] },
    serverAuth: { total: [] as number[], tls: [] as number[] },
  };
  const round = async (record: boolean): Promise<void> => {
    const l = await lancamOnce(device.host, device.port, clientIdentity, device.fingerprint);
    const m = await bareOnce(mutualPort, { kind: 'pem', identity: clientIdentity }, echoIdentity.fingerprint);
    const c = await bareOnce(mutualPort, { kind: 'context', context: sharedContext }, echoIdentity.fingerprint);
    const s = await bareOnce(serverAuthPort, { kind: 'none' }, echoIdentity.fingerprint);
    if (!record) return;
    for (const k of Object.keys(lancam) as (keyof LancamSample)[]) lancam[k].push(l[k]);
    for (const [into, from] of [[bare.mutual, m], [bare.mutualSharedContext, c], [bare.serverAuth, s]] as const) {
      into.total.push(from.total);
      into.tls.push(from.tls);
    }
  };
  const started = performance.now();
  for (let i = 0; i < WARMUP; i++) await round(false);
  for (let i = 0; i < CONNECTIONS; i++) await round(true);

  // For context: the request round trip on an already open channel.
  const openRequests: number[] = [];
  const channel = await connectChannel({ host: device.host, port: device.port, identity: clientIdentity, verifyDevice: () => undefined, timeoutMs: STEP_TIMEOUT_MS });
  try {
    for (let i = 0; i < REQUESTS_ON_OPEN_CHANNEL; i++) {
      const t0 = performance.now();
      const response = await channel.peer.request('GET', '/device/info', undefined, STEP_TIMEOUT_MS);
      openRequests.push(performance.now() - t0);
      if (response.status !== Status.Content) throw new Error(`GET /device/info answered ${response.status}`);
    }
  } finally {
    await closeChannel(channel);
  }
  const elapsedMs = performance.now() - started;

  await Promise.all([device.stop(), echo.stop()]);
  const deviceLog = device.stderr().split('\n').filter((line) => line.trim() !== '');

  const total = stats(lancam.total);
  const baseline = stats(bare.mutual.total);
  const serverAuthOnly = stats(bare.serverAuth.total);
  const sharedCtx = stats(bare.mutualSharedContext.total);
  const r = { median: ratio(total.median, baseline.median), p99: ratio(total.p99, baseline.p99) };
  return {
    name: 'connect',
    summary:
      `lancam median ${fmtMs(total.median)} ms p99 ${fmtMs(total.p99)} ms; ` +
      `bare TLS median ${fmtMs(baseline.median)} ms p99 ${fmtMs(baseline.p99)} ms; ratio ${r.median}x / ${r.p99}x ` +
      `(n=${total.n}, mutual TLS 1.3 both, both servers in child processes)`,
    results: {
      unit: 'ms',
      connections: CONNECTIONS,
      warmupRounds: WARMUP,
      setup: {
        lancam: 'real lancam-device process (child process, 127.0.0.1, --no-mdns); client connectChannel() in the bench process',
        baseline: 'TLS echo server in a child process (bench/tls-echo-server.ts, 127.0.0.1); client tls.connect() in the bench process',
        deviceInAnotherProcess: true,
        baselineInAnotherProcess: true,
        mutualAuth: { lancam: true, bareTls: true, bareTlsSharedContext: true, bareTlsServerAuthOnly: false },
        certificates: 'ECDSA P-256 self-signed (identityFromKey) on every side',
        order: 'interleaved: one lancam, one bare TLS (mutual), one bare TLS (mutual, shared SecureContext), one bare TLS (server auth) per round',
        timed: 'lancam: before connectChannel() to the GET /device/info response; bare: before tls.connect() to the echo of 1 byte. Closing is awaited but not timed.',
      },
      lancam: {
        total,
        phases: {
          tlsHandshake: stats(lancam.tls),
          webSocketUpgrade: stats(lancam.upgrade),
          firstRequest: stats(lancam.request),
        },
        channelOpen: stats(lancam.open),
        phaseNotes: {
          tlsHandshake: 'connectChannel() start -> verifyDevice() callback (TCP + TLS 1.3 handshake, client side)',
          webSocketUpgrade: 'verifyDevice() -> connectChannel() resolved (HTTP upgrade round trip, RpcPeer set up)',
          firstRequest: 'GET /device/info round trip on the fresh channel',
        },
      },
      bareTls: { ...baseline, tlsHandshake: stats(bare.mutual.tls) },
      bareTlsSharedContext: {
        what: 'as bareTls, but the client key and certificate are parsed once into a tls.SecureContext (connectChannel parses the PEM on every connect)',
        ...sharedCtx,
        tlsHandshake: stats(bare.mutualSharedContext.tls),
      },
      bareTlsServerAuthOnly: { ...serverAuthOnly, tlsHandshake: stats(bare.serverAuth.tls) },
      ratioLancamToBareTls: r,
      ratioLancamToBareTlsSharedContext: { median: ratio(total.median, sharedCtx.median), p99: ratio(total.p99, sharedCtx.p99) },
      ratioLancamToBareTlsServerAuthOnly: { median: ratio(total.median, serverAuthOnly.median), p99: ratio(total.p99, serverAuthOnly.p99) },
      requestOnOpenChannel: { what: `GET /device/info on one open channel, ${REQUESTS_ON_OPEN_CHANNEL} sequential requests`, ...stats(openRequests) },
      deviceLogLines: deviceLog.length,
      deviceLogSample: deviceLog.slice(0, 5),
      elapsedMs: Math.round(elapsedMs),
    },
  };
}
