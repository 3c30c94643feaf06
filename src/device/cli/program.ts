/**
 * The `lancam-device` command line: runs the camera daemon.
 */
import { H264_ENCODER_PACKAGES, h264EncoderProblem } from '../video/h264/encoder-check';
import os from 'node:os';
import path from 'node:path';
import { collect, parseCount, parseSeconds } from '../../net/cli-args';
import { Command, CommanderError } from 'commander';
import { groupFingerprint } from '../../shared/fingerprint';
import { parseAudioDevice } from '../video/audio/ffmpeg-audio-source';
import { DeviceDaemon, DEFAULT_PORT, DEFAULT_VIDEO, APP_NAME, APP_VERSION, type VideoStack } from '../daemon';

/** The test pattern's size on the H.264 stack when --size is not given: HD. */
const H264_PATTERN_SIZE = '1280x720';
/** The vp8 stack's output size when --size is not given (an encode per viewer: kept small). */
const VP8_SIZE = '640x480';
import { createLogger } from '../../net/log';
import { DEFAULT_LIMITS } from '../../net/channel/limits';
import { DEFAULT_MAX_VIEWERS_PER_USER, DEFAULT_VIDEO_SETUP_TIMEOUT_MS } from '../video/video-service';
import { DEFAULT_GOP_CACHE_BYTES } from '../video/h264/gop-cache';
import { sendControlCommand } from '../control-socket';
import { DEFAULT_WINDOW_SECONDS, MAX_WINDOW_SECONDS } from '../pairing/pairing-window';
import { DEFAULT_PROOF_LIFETIME_MS } from '../pairing/password-proof';
import { DEFAULT_LOCAL_OPEN_TIMING } from '../pairing/local-open-guard';
import { escapeTerminalText, hasControlCharacters } from '../../shared/terminal-text';
import { DEFAULT_SERVICE_USER, installService } from './install-service';

interface RunOptions {
  stateDir: string;
  host: string;
  port: string;
  mdnsInterface?: string;
  mdns: boolean;
  name?: string;
  deviceJson?: string;
  key?: string;
  iamConfig?: string;
  iamState?: string;
  quiet?: boolean;
  handshakeTimeout: string;
  idleTimeout: string;
  maxConnectionsPerAddress: string;
  passwordProof: string;
  pairingSettle: string;
  maxConnections: string;
  maxUnpairedConnections: string;
  unpairedIdleTimeout: string;
  newConnectionsPerSecond: string;
  source: string;
  size?: string;
  fps?: string;
  /** Undefined: not chosen (h264, or vp8 for the pattern where lancam's H.264 encoder cannot run). */
  videoStack?: string;
  /** Commander: true (default), false (--no-audio) or the --audio device. */
  audio: string | boolean;
  subSource?: string;
  gopCache: string;
  congestion: boolean;
  iceAddress: string[];
  iceServer: string[];
  maxViewers: string;
  maxViewersPerUser: string;
  videoSetupTimeout: string;
  ffmpeg?: string;
  relay?: string;
  relayFingerprint?: string;
  notificationCategory: string[];
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LANCAM_DEVICE_STATE_DIR) return env.LANCAM_DEVICE_STATE_DIR;
  return path.join(env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state'), 'lancam-device');
}

export async function runDeviceCli(argv: string[]): Promise<number> {
  const program = new Command('lancam-device')
    .description('Turn this machine into a pairable, access-controlled lancam camera.')
    .version(APP_VERSION)
    .exitOverride()
    .configureOutput({ outputError: (text) => process.stderr.write(`lancam-device: ${text.replace(/^error: /, '')}`) });

  program
    .command('run', { isDefault: true })
    .description('run the camera (the default command)')
    .option('--state-dir <dir>', 'where device id, key and IAM files live', defaultStateDir())
    .option('--host <addr>', 'address to listen on', '0.0.0.0')
    .option('--port <n>', 'TCP port to listen on (0 = any free port)', String(DEFAULT_PORT))
    .option('--mdns-interface <addr>', 'interface address to announce on by mDNS (default: all interfaces)')
    .option('--no-mdns', 'do not announce by mDNS')
    .option('--name <name>', 'friendly name shown to people')
    .option('--device-json <file>', 'use this device.json (Nabto\'s ProductId, DeviceId, …) in place')
    .option('--key <file>', 'use this existing PEM private key (SEC1 or PKCS#8, P-256) in place')
    .option('--iam-config <file>', 'use this Nabto IAM config file in place')
    .option('--iam-state <file>', 'use this Nabto IAM state file in place')
    .option('--handshake-timeout <seconds>', 'time a client has from TCP connect to an open channel', String(DEFAULT_LIMITS.handshakeTimeoutMs / 1000))
    .option('--idle-timeout <seconds>', 'close a channel that sends nothing for this long', String(DEFAULT_LIMITS.idleTimeoutMs / 1000))
    .option('--max-connections-per-address <n>', 'unfinished and unpaired connections allowed from one source address (IPv6: per /64); paired keys have as many again', String(DEFAULT_LIMITS.maxConnectionsPerAddress))
    .option('--max-connections <n>', 'open connections in all', String(DEFAULT_LIMITS.maxConnections))
    .option('--max-unpaired-connections <n>', 'channels of keys the camera does not know, in all (the oldest is evicted beyond it; the rest of --max-connections stays reserved for paired keys)', String(DEFAULT_LIMITS.maxUnpairedConnections))
    .option('--unpaired-idle-timeout <seconds>', 'close a channel of an unpaired key that sends nothing for this long', String(DEFAULT_LIMITS.unpairedIdleTimeoutMs / 1000))
    .option('--new-connections-per-second <n>', 'new connections accepted per second from one source address (burst 4x; 0 = unlimited)', String(DEFAULT_LIMITS.newConnectionsPerSecondPerAddress))
    .option('--password-proof <seconds>', 'how long a finished password exchange may wait for its pairing', String(DEFAULT_PROOF_LIFETIME_MS / 1000))
    .option('--pairing-settle <seconds>', 'local open pairing: how long the window must be open before a pairing is written (others trying meanwhile is an overlap)', String(DEFAULT_LOCAL_OPEN_TIMING.settleMs / 1000))
    .option('--source <source>', 'video: "pattern" (built-in test pattern), a video file, an rtsp:// URL or /dev/videoN', DEFAULT_VIDEO.source)
    .option('--size <WxH>', `largest picture sent: a camera or file above it is transcoded once to fit (aspect kept), one within it passes untouched (default: the source's own size; the pattern's size, default ${H264_PATTERN_SIZE}; vp8: the output size, default ${VP8_SIZE})`)
    .option('--video-stack <stack>', 'h264 (default): one H.264 stream for all viewers over node-datachannel (H.264 cameras passed through, everything else encoded once); vp8: one @roamhq/wrtc VP8 encoder per viewer (the default for the pattern where GStreamer\'s H.264 encoder is missing)')
    .option('--fps <n>', `highest frame rate sent: a faster source is transcoded once (default: the source's own; the pattern's rate, default ${DEFAULT_VIDEO.fps})`)
    .option('--audio <device>', 'sound from a capture device instead of the source\'s own (ALSA: hw:1,0, default, plughw:…; PulseAudio: pulse or pulse:<source>); by default the pattern\'s tone or the camera\'s/file\'s audio track, as Opus (--video-stack h264)')
    .option('--no-audio', 'send video only')
    .option('--sub-source <source>', 'h264: the camera\'s sub stream (a file, rtsp:// URL or /dev/videoN with H.264), or "none" (default: the pattern gets a 640-wide sub encode of its own, other sources none)')
    .option('--gop-cache <MB>', 'h264: bound of the GOP cache that gives viewers joining a passed-through camera a picture at once (0: off)', String(DEFAULT_GOP_CACHE_BYTES / 1024 / 1024))
    .option('--no-congestion', 'h264: do not move viewers on a weak link to the sub stream')
    .option('--ice-address <addr>', 'offer only WebRTC candidates with this address (repeatable; default: all)', collect, [])
    .option('--ice-server <url>', 'STUN/TURN server for WebRTC, e.g. stun:host:3478 (repeatable; default: none)', collect, [])
    .option('--max-viewers <n>', 'viewers at once', String(DEFAULT_VIDEO.maxViewers))
    .option('--max-viewers-per-user <n>', 'viewers one user may hold at once (administrators may still take a guest\'s slot on a full camera)', String(DEFAULT_MAX_VIEWERS_PER_USER))
    .option('--video-setup-timeout <seconds>', 'close a video session whose WebRTC connection is not up this long after it was requested', String(DEFAULT_VIDEO_SETUP_TIMEOUT_MS / 1000))
    .option('--ffmpeg <path>', 'the ffmpeg binary for file, RTSP and camera sources', 'ffmpeg')
    .option('--relay <url>', 'connect out to this lancam-relay (wss://host:port), so clients beyond the LAN can watch')
    .option('--relay-fingerprint <fp>', 'the relay\'s key fingerprint, as lancam-relay prints it (pins the relay)')
    .option('--notification-category <name>', 'a notification category users may subscribe to (Nabto apps; repeatable)', collect, [])
    .option('--quiet', 'no log lines on stderr')
    .action(async (opts: RunOptions) => {
      await run(opts);
    });

  program
    .command('pair-window')
    .description('open the pairing window of the daemon running on this state directory (like pressing its pairing button)')
    .option('--state-dir <dir>', 'the running daemon\'s state directory', defaultStateDir())
    .option('--seconds <n>', 'how long the window stays open', String(DEFAULT_WINDOW_SECONDS))
    .action(async (opts: { stateDir: string; seconds: string }) => {
      const seconds = Number(opts.seconds);
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_WINDOW_SECONDS) throw new Error(`--seconds must be a whole number from 1 to ${MAX_WINDOW_SECONDS}`);
      const answer = await sendControlCommand(opts.stateDir, { command: 'pair-window', seconds });
      if (!answer.ok) throw new Error(answer.error);
      process.stdout.write(`pairing window open for ${seconds} s: pair with "lancam pair <device> --mode local-open" now\n`);
    });

  program
    .command('unpair-last')
    .description('undo the most recent pairing of the daemon running on this state directory (the user or key it added), e.g. when the camera shows a key you did not expect')
    .option('--state-dir <dir>', 'the running daemon\'s state directory', defaultStateDir())
    .action(async (opts: { stateDir: string }) => {
      const answer = await sendControlCommand(opts.stateDir, { command: 'unpair-last' });
      if (!answer.ok) throw new Error(answer.error);
      process.stdout.write(`${escapeTerminalText(String(answer.done))}\n`);
    });

  program
    .command('install-service')
    .description('run this camera unattended: write the hardened systemd unit (its own system user, read-only system, state in /var/lib/lancam-device), create the user, and print the systemctl commands')
    .argument('[run-options...]', 'options for lancam-device run, after --, e.g. -- --source /dev/video0 --video-stack h264')
    .option('--root <dir>', 'write under this directory instead of / (try it without touching this machine)')
    .option('--user <name>', 'the service\'s system user (created if missing)', DEFAULT_SERVICE_USER)
    .option('--enable', 'also run the systemctl commands (enable and start; under --root: enable only)')
    .action(async (runArgs: string[], opts: { root?: string; user: string; enable?: boolean }) => {
      const runCommand = program.commands.find((c) => c.name() === 'run');
      const known = new Map<string, boolean>();
      for (const o of runCommand?.options ?? []) {
        const takesValue = o.required || o.optional;
        if (o.long) known.set(o.long, takesValue);
        if (o.short) known.set(o.short, takesValue);
      }
      const result = await installService({ root: opts.root, user: opts.user, enable: Boolean(opts.enable), runArgs, knownRunOptions: known });
      const lines = [
        `wrote ${result.unitPath}`,
        `wrote ${result.sysusersPath}`,
        result.userCreated ? `created the system user "${opts.user}"` : `the system user "${opts.user}" exists already`,
        ...result.notes.map((n) => `note: ${n}`),
        ...(result.ran ? [`ran: ${result.commands.join('; ')}`] : ['now run:', ...result.commands.map((c) => `  ${c}`)]),
        ...(opts.root === undefined
          ? [
              'then:',
              '  journalctl -u lancam-device -f                   # its log: device id, fingerprint, pairings',
              '  systemctl kill -s SIGUSR1 lancam-device          # the pairing button (opens the window)',
              `  sudo -u ${opts.user} lancam-device unpair-last --state-dir /var/lib/lancam-device   # undo the last pairing`,
            ]
          : []),
      ];
      process.stdout.write(`${lines.map((l) => escapeTerminalText(l)).join('\n')}\n`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`lancam-device: ${(err as Error).message}\n`);
    return 1;
  }
}

/** The start-up line's video part, e.g. "rtsp://cam/1 at most 1280x720@its own rate, H.264 shared by all viewers". */
export function videoLine(source: string, stack: string, size: { width: number; height: number; fps: number }, caps: { maxWidth?: number; maxFps?: number }): string {
  const how = stack === 'h264' ? 'H.264 shared by all viewers (node-datachannel)' : 'VP8 per viewer (@roamhq/wrtc)';
  if (source === 'pattern') return `test pattern ${size.width}x${size.height}@${size.fps}, ${how}`;
  if (stack !== 'h264') return `${source} ${size.width}x${size.height}@${size.fps}, ${how}`;
  if (caps.maxWidth === undefined && caps.maxFps === undefined) return `${source} at its own size and rate, ${how}`;
  return `${source} at most ${caps.maxWidth !== undefined ? `${size.width}x${size.height}` : 'its own size'}@${caps.maxFps !== undefined ? size.fps : 'its own rate'}, ${how}`;
}

/** What the start created and what it found, e.g. "created a new key; kept device.json, IAM config and state (3 users)". */
export function startupSummary(daemon: DeviceDaemon): string {
  const { startup } = daemon;
  const users = daemon.iam.state.Users.length;
  const iamText = `IAM config and state (${users} user${users === 1 ? '' : 's'})`;
  const created: string[] = [];
  const kept: string[] = [];
  (startup.deviceJson === 'created' ? created : kept).push(startup.deviceJson === 'created' ? 'device.json (new ids)' : 'device.json');
  (startup.key === 'created' ? created : kept).push(startup.key === 'created' ? 'a new key' : 'the key');
  (startup.iam === 'created' ? created : kept).push(startup.iam === 'created' ? `default ${iamText}` : iamText);
  const parts = [...(created.length ? [`created ${created.join(', ')}`] : []), ...(kept.length ? [`kept ${kept.join(', ')}`] : [])];
  if (startup.nameSaved) parts.push('saved the --name in the IAM state');
  return parts.join('; ');
}

async function run(opts: RunOptions): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, not "${opts.port}"`);
  if (opts.name !== undefined && (opts.name.length === 0 || Buffer.byteLength(opts.name) > 64)) throw new Error('--name must be 1 to 64 bytes');
  if (opts.name !== undefined && hasControlCharacters(opts.name)) throw new Error('--name must not contain control characters');
  const limits = {
    handshakeTimeoutMs: parseSeconds(opts.handshakeTimeout, '--handshake-timeout') * 1000,
    idleTimeoutMs: parseSeconds(opts.idleTimeout, '--idle-timeout') * 1000,
    maxConnectionsPerAddress: parseCount(opts.maxConnectionsPerAddress, '--max-connections-per-address'),
    maxConnections: parseCount(opts.maxConnections, '--max-connections'),
    maxUnpairedConnections: parseCount(opts.maxUnpairedConnections, '--max-unpaired-connections'),
    unpairedIdleTimeoutMs: parseSeconds(opts.unpairedIdleTimeout, '--unpaired-idle-timeout') * 1000,
    newConnectionsPerSecondPerAddress: parseCount(opts.newConnectionsPerSecond, '--new-connections-per-second', 0),
  };
  const stackChosen = opts.videoStack !== undefined;
  opts.videoStack ??= 'h264';
  if (opts.videoStack !== 'vp8' && opts.videoStack !== 'h264') throw new Error(`--video-stack must be vp8 or h264, not "${opts.videoStack}"`);
  // Not chosen: H.264, unless lancam's own encoder cannot run here (no python3-gi / GStreamer).
  // The pattern then falls back to vp8 so the first run still shows a picture; a camera keeps
  // H.264 (passthrough needs no encoder) with a warning for what would need one.
  let encoderNote: string | undefined;
  if (!stackChosen && opts.videoStack === 'h264') {
    const problem = await h264EncoderProblem();
    if (problem && opts.source === 'pattern' && opts.subSource === undefined && typeof opts.audio !== 'string') {
      opts.videoStack = 'vp8';
      encoderNote = `video: lancam's H.264 encoder cannot run here (${problem}); the test pattern uses the vp8 stack instead (a VP8 encoder per viewer, no sound). For H.264 and sound install ${H264_ENCODER_PACKAGES}, or choose with --video-stack`;
    } else if (problem) {
      encoderNote = `video: lancam's H.264 encoder cannot run here (${problem}); H.264 cameras are passed through, but a source that must be encoded (a raw or MJPEG webcam, another codec, a camera above --size) will fail. Install ${H264_ENCODER_PACKAGES}, or run with --video-stack vp8`;
    }
  }
  const sizeGiven = opts.size !== undefined;
  const fpsGiven = opts.fps !== undefined;
  opts.size ??= opts.videoStack === 'h264' ? H264_PATTERN_SIZE : VP8_SIZE;
  const size = /^(\d{2,4})x(\d{2,4})$/.exec(opts.size);
  const [width, height] = size ? [Number(size[1]), Number(size[2])] : [NaN, NaN];
  if (!size || width % 2 || height % 2 || width < 16 || height < 16 || width > 3840 || height > 2160) throw new Error(`--size must be WxH with even numbers from 16x16 to 3840x2160, not "${opts.size}"`);
  const fps = Number(opts.fps ?? DEFAULT_VIDEO.fps);
  if (!Number.isInteger(fps) || fps < 1 || fps > 60) throw new Error(`--fps must be a whole number from 1 to 60, not "${opts.fps}"`);
  const caps = { ...(sizeGiven ? { maxWidth: width, maxHeight: height } : {}), ...(fpsGiven ? { maxFps: fps } : {}) };
  if (opts.subSource !== undefined && opts.videoStack !== 'h264') throw new Error('--sub-source needs --video-stack h264');
  if (opts.subSource !== undefined && (opts.subSource === '' || opts.subSource === opts.source)) throw new Error(`--sub-source must be another source than --source, not "${opts.subSource}"`);
  const gopCacheMb = Number(opts.gopCache);
  if (!Number.isFinite(gopCacheMb) || gopCacheMb < 0 || gopCacheMb > 64) throw new Error(`--gop-cache must be a number of MB from 0 to 64, not "${opts.gopCache}"`);
  for (const category of opts.notificationCategory) {
    if (!/^[A-Za-z0-9 _.:-]{1,64}$/.test(category)) throw new Error(`--notification-category must be 1-64 characters of letters, digits, space, "_", ".", ":" or "-", not "${category}"`);
  }
  for (const url of opts.iceServer) if (!/^(stun|stuns|turn|turns):/.test(url)) throw new Error(`--ice-server must be a stun: or turn: URL, not "${url}"`);
  if (typeof opts.audio === 'string') {
    if (opts.videoStack !== 'h264') throw new Error('--audio needs --video-stack h264 (the vp8 stack sends no sound)');
    parseAudioDevice(opts.audio);
  }
  const video = {
    source: opts.source,
    width,
    height,
    fps,
    iceAddresses: opts.iceAddress,
    iceServers: opts.iceServer.map((urls) => ({ urls })),
    maxViewers: parseCount(opts.maxViewers, '--max-viewers'),
    maxViewersPerUser: parseCount(opts.maxViewersPerUser, '--max-viewers-per-user'),
    setupTimeoutMs: parseSeconds(opts.videoSetupTimeout, '--video-setup-timeout') * 1000,
    ffmpegPath: opts.ffmpeg,
    stack: opts.videoStack as VideoStack,
    caps,
    audio: opts.audio,
    ...(opts.subSource !== undefined ? { subSource: opts.subSource } : {}),
    gopCacheBytes: Math.round(gopCacheMb * 1024 * 1024),
    congestion: opts.congestion,
  };
  const log = createLogger({ quiet: Boolean(opts.quiet) });
  if (encoderNote) log.warn(encoderNote);
  const daemon = await DeviceDaemon.open({
    stateDir: opts.stateDir,
    host: opts.host,
    port,
    mdnsInterface: opts.mdns ? opts.mdnsInterface : null,
    name: opts.name,
    deviceJsonFile: opts.deviceJson,
    keyFile: opts.key,
    iamConfigFile: opts.iamConfig,
    iamStateFile: opts.iamState,
    limits,
    passwordProofMs: parseSeconds(opts.passwordProof, '--password-proof') * 1000,
    localOpenTiming: { settleMs: parseSeconds(opts.pairingSettle, '--pairing-settle') * 1000, quietMs: Math.min(3000, parseSeconds(opts.pairingSettle, '--pairing-settle') * 1000) },
    announce: (lines: string[]) => process.stdout.write(`${lines.map((l) => escapeTerminalText(l)).join('\n')}\n`),
    undoHint: `press u here, or run "lancam-device unpair-last${opts.stateDir === defaultStateDir() ? '' : ` --state-dir ${opts.stateDir}`}"`,
    video,
    notificationCategories: opts.notificationCategory,
    relay: opts.relay ? { url: opts.relay, pinFingerprint: opts.relayFingerprint } : undefined,
    log,
  });
  let address: { host: string; port: number };
  try {
    address = await daemon.start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${port} on ${opts.host} is in use (another lancam-device?); choose another with --port`, { cause: err });
    if (code === 'EADDRNOTAVAIL') throw new Error(`${opts.host} is not an address of this machine (--host)`, { cause: err });
    throw err;
  }

  // Signal handlers first: a SIGTERM right after "listening on" must still stop cleanly.
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (process.stdin.isTTY) {
        process.stdin.setRawMode(false);
        process.stdin.pause();
      }
      if (stopping) {
        process.stderr.write(`lancam-device: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      log.info(`${signal}: stopping (mDNS goodbye, closing connections)`);
      void daemon.stop().finally(() => {
        process.stdout.write('stopped\n');
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const pressButton = (reason: string) => daemon.pairingWindow.open(DEFAULT_WINDOW_SECONDS, reason);
  process.on('SIGUSR1', () => pressButton('SIGUSR1'));

  const state = daemon.iam.state;
  const mdns = opts.mdns ? (opts.mdnsInterface ?? 'all interfaces') : 'off';
  const lines = [
    `${APP_NAME} ${APP_VERSION}: ${startupSummary(daemon)}`,
    `  name         ${daemon.friendlyName}${state.FriendlyName ? '' : ' (default: the IAM state has no FriendlyName)'}`,
    `  device id    ${daemon.deviceId}`,
    `  product id   ${daemon.productId}`,
    `  fingerprint  ${groupFingerprint(daemon.fingerprint)}`,
    `  state        ${daemon.paths.stateDir}`,
    `  mDNS         ${mdns}`,
    ...(opts.relay ? [`  relay        ${opts.relay}`] : []),
    `  video        ${videoLine(opts.source, opts.videoStack, { width, height, fps }, caps)}`,
    `listening on ${address.host}:${address.port}`,
  ];
  const initial = state.InitialPairingUsername ? daemon.iam.user(state.InitialPairingUsername) : undefined;
  if (state.LocalInitialPairing && initial && initial.Fingerprints.length === 0) {
    lines.push(`To pair as the owner ("${state.InitialPairingUsername ?? 'admin'}") from this network: lancam pair ${daemon.deviceId}`);
  } else {
    lines.push(`Paired users: ${state.Users.filter((u) => u.Fingerprints.length > 0).length}. To add someone: lancam user invite ${daemon.deviceId} <username> --role Guest`);
  }
  if (process.stdin.isTTY) lines.push('Press u here to undo the last pairing (if the key shown is not the one you expected).');
  lines.push(`Pairing button: ${process.stdin.isTTY ? 'press p here, ' : ''}run "lancam-device pair-window${opts.stateDir === defaultStateDir() ? '' : ` --state-dir ${opts.stateDir}`}", or send SIGUSR1 (pid ${process.pid})`);
  process.stdout.write(`${lines.map((l) => escapeTerminalText(l)).join('\n')}\n`);

  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on('data', (key: Buffer) => {
      const k = key.toString('utf8');
      if (k === 'p' || k === 'P') pressButton('key press');
      else if (k === 'u' || k === 'U') void daemon.unpairLast().catch((err: Error) => process.stdout.write(`nothing undone: ${escapeTerminalText(err.message)}\n`));
      // Raw mode swallows Ctrl-C: turn it back into SIGINT.
      else if (k === '\u0003') process.kill(process.pid, 'SIGINT');
    });
  }
  await stopped;
}



