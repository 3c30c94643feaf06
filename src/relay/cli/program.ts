/**
 * The `lancam-relay` command line: runs the relay that cameras behind NAT connect out to.
 */
import os from 'node:os';
import path from 'node:path';
import { collect, parseCount, parseSeconds } from '../../net/cli-args';
import { createLogger } from '../../net/log';
import { Command, CommanderError } from 'commander';
import { groupFingerprint } from '../../shared/fingerprint';
import { RELAY_PATH } from '../../shared/protocol/relay-api';
import { DEFAULT_RELAY_LIMITS } from '../limits';
import { RelayServer } from '../relay-server';
import { RELAY_KEY_FILE, loadOperatorTls, loadSelfSignedTls, type RelayTlsMaterial } from '../relay-tls';
import { DEFAULT_TURN_TTL_SECONDS, validateTurnConfig, type TurnConfig } from '../turn';
import { readSecret, SecretInputError } from '../../net/secret-input';

export const RELAY_NAME = 'lancam-relay';
export const RELAY_VERSION = '0.1.0';
export const DEFAULT_RELAY_PORT = 5593;

interface RunOptions {
  host: string;
  port: string;
  stateDir: string;
  cert?: string;
  key?: string;
  insecurePlain?: boolean;
  turnUrl: string[];
  turnSecret?: string;
  turnSecretFile?: string;
  turnTtl: string;
  maxChannelsPerDevice: string;
  channelVerifyTimeout: string;
  maxUnverifiedChannelsPerSource: string;
  turnRequestsPerMinute: string;
  maxConnectionsPerAddress: string;
  messagesPerSecond: string;
  messageBurst: string;
  handshakeTimeout: string;
  quiet?: boolean;
}

export function defaultRelayStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LANCAM_RELAY_STATE_DIR) return env.LANCAM_RELAY_STATE_DIR;
  return path.join(env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state'), 'lancam-relay');
}

export async function runRelayCli(argv: string[]): Promise<number> {
  const program = new Command(RELAY_NAME)
    .description('Route signaling between lancam clients and cameras that connect out to this relay (cameras behind NAT). The relay holds no secret: it only forwards messages the two ends sign.')
    .version(RELAY_VERSION)
    .exitOverride()
    .configureOutput({ outputError: (text) => process.stderr.write(`${RELAY_NAME}: ${text.replace(/^error: /, '')}`) })
    .option('--host <addr>', 'address to listen on', '0.0.0.0')
    .option('--port <n>', 'TCP port to listen on (0 = any free port)', String(DEFAULT_RELAY_PORT))
    .option('--state-dir <dir>', `where the relay key (${RELAY_KEY_FILE}) for the self-signed certificate lives`, defaultRelayStateDir())
    .option('--cert <file>', 'serve this TLS certificate (PEM, chain allowed) instead of a self-signed one; needs --key')
    .option('--key <file>', 'the private key (PEM) of --cert')
    .option('--insecure-plain', 'serve plain ws:// without TLS (only behind a TLS-terminating proxy)')
    .option('--turn-url <url>', 'TURN server handed to cameras, e.g. turn:relay.example:3478?transport=udp (repeatable)', collect, [])
    .option('--turn-secret <secret>', "the TURN server's static-auth-secret (coturn use-auth-secret); prefer --turn-secret-file")
    .option('--turn-secret-file <file>', 'read the TURN secret from this file ("-" = standard input); or set $LANCAM_TURN_SECRET')
    .option('--turn-ttl <seconds>', 'lifetime of the TURN credentials handed out for each new session (coturn checks it when an allocation is made; a running session keeps its allocation)', String(DEFAULT_TURN_TTL_SECONDS))
    .option('--max-channels-per-device <n>', 'client channels open at once per camera', String(DEFAULT_RELAY_LIMITS.maxChannelsPerDevice))
    .option('--channel-verify-timeout <seconds>', 'a client channel must carry a message the camera verified within this, or it is closed', String(DEFAULT_RELAY_LIMITS.channelVerifyTimeoutMs / 1000))
    .option('--max-unverified-channels-per-source <n>', 'channels without a verified message from one source address (IPv6: /64)', String(DEFAULT_RELAY_LIMITS.maxUnverifiedChannelsPerSource))
    .option('--turn-requests-per-minute <n>', 'TURN credential requests per camera key and per camera address', String(DEFAULT_RELAY_LIMITS.turnRequestsPerMinute))
    .option('--max-connections-per-address <n>', 'open connections from one source address', String(DEFAULT_RELAY_LIMITS.maxConnectionsPerAddress))
    .option('--messages-per-second <n>', 'sustained frames per second per connection', String(DEFAULT_RELAY_LIMITS.messagesPerSecond))
    .option('--message-burst <n>', 'frames one connection may send at once', String(DEFAULT_RELAY_LIMITS.messageBurst))
    .option('--handshake-timeout <seconds>', 'time from TCP connect to device-hello or connect', String(DEFAULT_RELAY_LIMITS.handshakeTimeoutMs / 1000))
    .option('--quiet', 'no log lines on stderr')
    .action(async (opts: RunOptions) => {
      await run(opts);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`${RELAY_NAME}: ${(err as Error).message}\n`);
    return 1;
  }
}

async function run(opts: RunOptions): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, not "${opts.port}"`);
  if ((opts.cert === undefined) !== (opts.key === undefined)) throw new Error('--cert and --key go together');
  if (opts.insecurePlain && opts.cert) throw new Error('--insecure-plain and --cert exclude each other');
  const limits = {
    maxChannelsPerDevice: parseCount(opts.maxChannelsPerDevice, '--max-channels-per-device'),
    channelVerifyTimeoutMs: parseSeconds(opts.channelVerifyTimeout, '--channel-verify-timeout') * 1000,
    maxUnverifiedChannelsPerSource: parseCount(opts.maxUnverifiedChannelsPerSource, '--max-unverified-channels-per-source'),
    turnRequestsPerMinute: parseCount(opts.turnRequestsPerMinute, '--turn-requests-per-minute'),
    maxConnectionsPerAddress: parseCount(opts.maxConnectionsPerAddress, '--max-connections-per-address'),
    messagesPerSecond: parseCount(opts.messagesPerSecond, '--messages-per-second'),
    messageBurst: parseCount(opts.messageBurst, '--message-burst'),
    handshakeTimeoutMs: parseSeconds(opts.handshakeTimeout, '--handshake-timeout') * 1000,
  };
  const turn = await turnConfig(opts);

  const log = createLogger({ quiet: Boolean(opts.quiet) });
  let tls: RelayTlsMaterial | null = null;
  if (opts.cert && opts.key) tls = await loadOperatorTls(opts.cert, opts.key);
  else if (!opts.insecurePlain) tls = await loadSelfSignedTls(opts.stateDir);

  const server = new RelayServer({ host: opts.host, port, tls, limits, ...(turn ? { turn } : {}), log });
  server.on('rejected', ({ remoteAddress, reason }) => log.warn(`${remoteAddress}: ${reason}`));
  let address: { host: string; port: number };
  try {
    address = await server.listen();
  } catch (err) {
    await server.close().catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${port} on ${opts.host} is in use; choose another with --port`, { cause: err });
    if (code === 'EADDRNOTAVAIL') throw new Error(`${opts.host} is not an address of this machine (--host)`, { cause: err });
    throw err;
  }

  // Signal handlers first: a SIGTERM right after "listening on" must still stop cleanly.
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`${RELAY_NAME}: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      log.info(`${signal}: stopping (closing connections)`);
      void server.close().finally(() => {
        process.stdout.write('stopped\n');
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

  const hostForUrl = address.host.includes(':') ? `[${address.host}]` : address.host;
  const scheme = tls ? 'wss' : 'ws';
  const lines = [`${RELAY_NAME} ${RELAY_VERSION}`];
  if (!tls) {
    lines.push('  tls          none (--insecure-plain): plain ws://, put a TLS-terminating proxy in front');
  } else {
    const what = tls.source === 'operator' ? `certificate ${opts.cert}` : `self-signed, key ${path.join(opts.stateDir, RELAY_KEY_FILE)}${tls.created ? ' (created now)' : ''}`;
    lines.push(`  tls          ${what}`);
    lines.push(`  fingerprint  ${tls.fingerprint}`);
    lines.push(`               ${groupFingerprint(tls.fingerprint)}  (clients and cameras pin it: --relay-fingerprint)`);
  }
  lines.push(`  turn         ${turn ? `${turn.urls.join(', ')} (credentials valid ${turn.ttlSeconds} s)` : 'none (cameras get no TURN servers)'}`);
  lines.push(`  limits       ${limits.maxChannelsPerDevice} channels per camera, ${limits.maxConnectionsPerAddress} connections per address, ${limits.messagesPerSecond} frames/s (burst ${limits.messageBurst})`);
  lines.push(`  url          ${scheme}://${hostForUrl}:${address.port}${RELAY_PATH}`);
  lines.push(`listening on ${address.host}:${address.port}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  await stopped;
}

async function turnConfig(opts: RunOptions): Promise<TurnConfig | undefined> {
  let secret: string | undefined;
  try {
    secret = (
      await readSecret(
        { flag: '--turn-secret', fileFlag: '--turn-secret-file', envName: 'LANCAM_TURN_SECRET', value: opts.turnSecret, file: opts.turnSecretFile },
        { warn: (line) => process.stderr.write(`${RELAY_NAME}: ${line}\n`) },
      )
    )?.trim();
  } catch (err) {
    if (err instanceof SecretInputError) throw new Error(err.message, { cause: err });
    throw err;
  }
  if (opts.turnUrl.length === 0) {
    if (secret !== undefined) throw new Error('a TURN secret needs at least one --turn-url');
    return undefined;
  }
  if (secret === undefined) throw new Error('--turn-url needs --turn-secret-file, $LANCAM_TURN_SECRET or --turn-secret');
  return validateTurnConfig({ urls: opts.turnUrl, secret, ttlSeconds: Number(opts.turnTtl) });
}




