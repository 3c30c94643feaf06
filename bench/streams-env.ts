/**
 * The set-up shared by the "streams" and "streams-chromium" benchmarks (issue 11's comparison with
 * Janus), none of it timed: a network namespace, GStreamer's RTSP server with a live H.264 camera,
 * Janus's streaming plugin restreaming it, a real `lancam-device --video-stack h264` passing it
 * through, and CPU/RSS of process trees from /proc.
 *
 * Network safety (ARCHITECTURE.md, hard rule). Everything runs inside a namespace made here:
 *   - `lo`, plus one veth pair whose BOTH ends are inside the namespace (lcbench0 192.0.2.1/32,
 *     TEST-NET-1, and lcbench1 with no address, IPv6 off on both). Janus cannot use loopback:
 *     its ICE skips every IFF_LOOPBACK interface (ice.c, janus_ice_setup_local), and this kernel has
 *     no dummy interfaces. A veth whose peer is in the same namespace connects to nothing outside;
 *     checkNamespace() verifies the links, that no route leaves (only local routes) and that no
 *     other namespace's interface is attached.
 *   - Janus's configuration is written here (temp dir) and checked before it starts
 *     (checkJanusConfig): no stun_server/turn_server/TURN REST API, ice_lite off, no nat_1_1_mapping,
 *     half trickle (full_trickle off), ICE only on lcbench0, only the HTTP transport, bound to
 *     127.0.0.1, the admin API off, every other plugin/transport/event handler/logger disabled.
 *     After it started, checkListeners() asserts that each of its listening sockets is on
 *     127.0.0.1 or 192.0.2.1.
 *   - lancam-device listens on 127.0.0.1 with --no-mdns and --ice-address 127.0.0.1; no ICE server
 *     anywhere (neither Janus nor lancam nor any viewer has one).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { access, constants, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createNetns, netnsUnavailable, type Netns } from '../test/helpers/netns';
import { BENCH_DIR, LOOPBACK, REPO, onCleanup, spawnCommand, spawnNode, tempDir, withTimeout, type Child } from './lib';

const run = promisify(execFile);
export const JANUS = '/usr/bin/janus';
export const PYTHON = '/usr/bin/python3';
const DEVICE_BIN = path.join(REPO, 'bin/lancam-device');
const CAMERA_SCRIPT = path.join(BENCH_DIR, 'rtsp-camera.py');
export const VIEWERS_SCRIPT = path.join(BENCH_DIR, 'stream-viewers.ts');
/** Janus's ICE address (TEST-NET-1, on the veth end inside the namespace). */
export const JANUS_ICE_ADDRESS = '192.0.2.1';
const VETH = 'lcbench0';
const VETH_PEER = 'lcbench1';
export const QUICK = process.env.LANCAM_BENCH_QUICK === '1';

/** Why these benchmarks cannot run here (then skipped), or undefined. */
export async function streamsUnavailable(): Promise<string | undefined> {
  const netns = await netnsUnavailable();
  if (netns) return netns;
  for (const file of [JANUS, PYTHON, '/usr/bin/ffmpeg']) {
    try {
      await access(file, constants.X_OK);
    } catch {
      return `no ${file}`;
    }
  }
  try {
    await run(PYTHON, ['-c', 'import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer']);
  } catch {
    return 'no GStreamer RTSP server for python3 (gir1.2-gst-rtsp-server, python3-gi)';
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Namespace

export async function startNamespace(): Promise<Netns> {
  const ns = await createNetns((cleanup) => onCleanup('delete the network namespace', cleanup));
  const ip = (...args: string[]) => run('ip', ['netns', 'exec', ns.name, ...args]);
  await ip('ip', 'link', 'add', VETH, 'type', 'veth', 'peer', 'name', VETH_PEER);
  for (const dev of [VETH, VETH_PEER]) await ip('sysctl', '-q', '-w', `net.ipv6.conf.${dev}.disable_ipv6=1`);
  await ip('ip', 'addr', 'add', `${JANUS_ICE_ADDRESS}/32`, 'dev', VETH);
  await ip('ip', 'link', 'set', VETH, 'up');
  await ip('ip', 'link', 'set', VETH_PEER, 'up');
  await checkNamespace(ns);
  return ns;
}

/** Throws unless the namespace has exactly lo + our veth pair (both ends here) and only local routes. */
export async function checkNamespace(ns: Netns): Promise<{ links: string[]; routes: string[] }> {
  const ip = (...args: string[]) => run('ip', ['netns', 'exec', ns.name, 'ip', ...args]);
  const links = (await ip('-o', 'link', 'show')).stdout.trim().split('\n').map((l) => l.split(':')[1]!.trim());
  const names = links.map((l) => l.split('@')[0]!).sort();
  if (names.join(',') !== ['lo', VETH, VETH_PEER].sort().join(',')) throw new Error(`namespace ${ns.name} has unexpected interfaces: ${links.join(', ')}`);
  // Each veth end's peer must be the other end, in this namespace (no link-netns attribute).
  for (const dev of [VETH, VETH_PEER]) {
    const detail = (await ip('-d', 'link', 'show', dev)).stdout;
    if (/link-netns|link-netnsid/.test(detail)) throw new Error(`${dev} is attached to another namespace:\n${detail}`);
  }
  const routes = [
    ...(await ip('route', 'show', 'table', 'all')).stdout.trim().split('\n'),
    ...(await ip('-6', 'route', 'show', 'table', 'all')).stdout.trim().split('\n'),
  ].filter(Boolean);
  const leaving = routes.filter((r) => !/^(local|broadcast|multicast|anycast|unreachable)\s/.test(r) && !/\btable local\b/.test(r) && !/^::1 dev lo/.test(r) && !/^fe80::\/64 dev lo/.test(r));
  if (leaving.length) throw new Error(`namespace ${ns.name} has non-local routes: ${leaving.join(' | ')}`);
  return { links, routes };
}

/** Every listening/bound socket of `pid` is on an address of the namespace (127.0.0.1 or 192.0.2.1). */
export async function checkListeners(ns: Netns, pid: number, allowed: string[]): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'exec', ns.name, 'ss', '-H', '-ltunap']);
  const mine = stdout.split('\n').filter((l) => l.includes(`pid=${pid},`));
  const bad = mine.filter((l) => {
    const local = l.trim().split(/\s+/)[4] ?? '';
    const host = local.slice(0, local.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    return !allowed.includes(host);
  });
  if (bad.length) throw new Error(`process ${pid} has sockets beyond ${allowed.join(', ')}:\n${bad.join('\n')}`);
  return mine.map((l) => l.trim().split(/\s+/).slice(0, 5).join(' '));
}

// ---------------------------------------------------------------------------------------------
// The RTSP camera

export interface Camera {
  child: Child;
  url: string;
}

export async function startCamera(ns: Netns, width: number, height: number, fps: number, gopSeconds: number): Promise<Camera> {
  const kbps = width >= 1920 ? 6000 : width >= 1280 ? 3000 : 1500;
  const child = spawnCommand(`RTSP camera ${width}x${height}`, PYTHON, [CAMERA_SCRIPT, '0', String(width), String(height), String(fps), String(gopSeconds), String(kbps)], { wrap: ns.wrap });
  const m = await child.waitFor(/ready (\d+)/, 15_000, 'the RTSP server ready line');
  return { child, url: `rtsp://${LOOPBACK}:${m[1]}/cam` };
}

// ---------------------------------------------------------------------------------------------
// Janus

const ALL_PLUGINS = ['audiobridge', 'duktape', 'echotest', 'lua', 'nosip', 'recordplay', 'sip', 'textroom', 'videocall', 'videoroom', 'voicemail'];
const ALL_TRANSPORTS = ['mqtt', 'nanomsg', 'pfunix', 'rabbitmq', 'websockets'];
const ALL_EVENTS = ['gelfevh', 'mqttevh', 'nanomsgevh', 'rabbitmqevh', 'sampleevh', 'wsevh'];
const so = (names: string[]) => names.map((n) => `libjanus_${n}.so`).join(',');

export function janusConfig(httpPort: number, rtspUrl: string): Record<string, string> {
  return {
    'janus.jcfg': `general: {
  configs_folder = "@DIR@"
  plugins_folder = "/usr/lib/x86_64-linux-gnu/janus/plugins"
  transports_folder = "/usr/lib/x86_64-linux-gnu/janus/transports"
  events_folder = "/usr/lib/x86_64-linux-gnu/janus/events"
  loggers_folder = "/usr/lib/x86_64-linux-gnu/janus/loggers"
  debug_level = 4
  session_timeout = 120
}
media: {
  ipv6 = false
  rtp_port_range = "40000-40999"
}
nat: {
  nice_debug = false
  ice_lite = false
  ice_tcp = false
  full_trickle = false
  ice_enforce_list = "${VETH}"
}
plugins: {
  disable = "${so(ALL_PLUGINS)}"
}
transports: {
  disable = "${so(ALL_TRANSPORTS)}"
}
loggers: {
  disable = "libjanus_jsonlog.so"
}
events: {
  broadcast = false
  disable = "${so(ALL_EVENTS)}"
}
`,
    'janus.transport.http.jcfg': `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  ip = "${LOOPBACK}"
  port = ${httpPort}
  https = false
}
admin: {
  admin_http = false
  admin_https = false
}
`,
    'janus.plugin.streaming.jcfg': `general: {
  rtp_port_range = "41000-41999"
  events = false
  string_ids = false
}
cam: {
  type = "rtsp"
  id = 1
  description = "bench camera"
  audio = false
  video = true
  url = "${rtspUrl}"
  rtsp_failcheck = false
  rtspiface = "${LOOPBACK}"
  rtsp_reconnect_delay = 2
}
`,
  };
}

/** The network-safety properties of a Janus configuration (throws with the first violation). */
export function checkJanusConfig(files: Record<string, string>): string[] {
  const all = Object.values(files).join('\n');
  const checks: [string, boolean][] = [
    ['no STUN server', !/^\s*stun_server\b/m.test(all)],
    ['no TURN server', !/^\s*turn_(server|rest_api)\b/m.test(all)],
    ['no 1:1 NAT mapping', !/^\s*nat_1_1_mapping\b/m.test(all)],
    ['ICE lite off', /^\s*ice_lite = false$/m.test(all)],
    ['half trickle (full_trickle off)', /^\s*full_trickle = false$/m.test(all)],
    [`ICE only on ${VETH} (inside the namespace)`, new RegExp(`^\\s*ice_enforce_list = "${VETH}"$`, 'm').test(all)],
    ['HTTP bound to 127.0.0.1', /^\s*ip = "127\.0\.0\.1"$/m.test(files['janus.transport.http.jcfg'] ?? '')],
    ['no HTTPS', /^\s*https = false$/m.test(all)],
    ['admin API off', /^\s*admin_http = false$/m.test(all) && /^\s*admin_https = false$/m.test(all)],
    ['other transports disabled', ALL_TRANSPORTS.every((t) => all.includes(`libjanus_${t}.so`))],
    ['event handlers off', /^\s*broadcast = false$/m.test(all)],
    ['RTSP from 127.0.0.1 only', /^\s*url = "rtsp:\/\/127\.0\.0\.1:\d+\//m.test(all) && /^\s*rtspiface = "127\.0\.0\.1"$/m.test(all)],
  ];
  const failed = checks.filter(([, ok]) => !ok).map(([what]) => what);
  if (failed.length) throw new Error(`Janus configuration is not network-safe: ${failed.join(', ')}`);
  return checks.map(([what]) => what);
}

export interface JanusServer {
  child: Child;
  pid: number;
  /** http://127.0.0.1:PORT/janus, reachable inside the namespace only. */
  api: string;
  safety: { config: string[]; sockets: string[] };
}

let nextJanusPort = 18188;

export async function startJanus(ns: Netns, rtspUrl: string): Promise<JanusServer> {
  const dir = await tempDir('lancam-bench-janus-');
  const port = nextJanusPort++;
  const files = janusConfig(port, rtspUrl);
  const config = checkJanusConfig(files);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text.replace('@DIR@', dir));
  const child = spawnCommand('janus', JANUS, ['-C', path.join(dir, 'janus.jcfg'), '-F', dir, '--disable-colors'], { wrap: ns.wrap });
  await child.waitFor(/HTTP webserver started/, 15_000, 'the Janus HTTP transport');
  await child.waitFor(/\[cam\] New video stream/, 20_000, 'the mountpoint receiving the RTSP stream');
  const pid = child.process.pid!;
  const sockets = await checkListeners(ns, pid, [LOOPBACK, JANUS_ICE_ADDRESS, '0.0.0.0', '*']);
  // A wildcard is allowed for UDP only (the RTSP client's RTP/RTCP sockets, inside the namespace,
  // whose only addresses are 127.0.0.1 and 192.0.2.1); every TCP listener must be on 127.0.0.1.
  const tcpNotLoopback = sockets.filter((s) => s.startsWith('tcp') && !s.includes(` ${LOOPBACK}:`));
  if (tcpNotLoopback.length) throw new Error(`Janus listens beyond 127.0.0.1: ${tcpNotLoopback.join(' | ')}`);
  return { child, pid, api: `http://${LOOPBACK}:${port}/janus`, safety: { config, sockets } };
}

// ---------------------------------------------------------------------------------------------
// lancam-device

export interface Device {
  child: Child;
  pid: number;
  port: number;
  deviceId: string;
}

export async function startDevice(ns: Netns, name: string, args: string[]): Promise<Device> {
  const child = spawnNode(`lancam-device ${name}`, [
    DEVICE_BIN,
    '--state-dir', await tempDir('lancam-bench-streams-device-'),
    '--host', LOOPBACK,
    '--port', '0',
    '--no-mdns',
    '--ice-address', LOOPBACK,
    '--video-stack', 'h264',
    '--max-viewers', '20',
    '--max-viewers-per-user', '20',
    '--name', name,
    ...args,
  ], { wrap: ns.wrap });
  const m = await child.waitFor(/listening on (\S+):(\d+)/, 20_000, '"listening on" line');
  if (m[1] !== LOOPBACK) throw new Error(`lancam-device listens on ${m[1]}`);
  const deviceId = /device id\s+(\S+)/.exec(child.stdout())?.[1];
  if (!deviceId) throw new Error(`cannot parse lancam-device output:\n${child.stdout()}`);
  return { child, pid: child.process.pid!, port: Number(m[2]), deviceId };
}

// ---------------------------------------------------------------------------------------------
// Viewer processes (bench/stream-viewers.ts)

export interface ViewerStats {
  frames: number;
  bytes: number;
  gaps: number;
  /** Audio tracks this viewer got (ignored: not counted as frames) and their bytes. */
  audioTracks: number;
  audioBytes: number;
  firstFrameMs: number | null;
  at: number;
}

export interface Viewers {
  child: Child;
  add(id: string): Promise<void>;
  remove(id: string): void;
  stats(): Promise<Record<string, ViewerStats>>;
}

export async function startViewers(ns: Netns, label: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Viewers> {
  const child = spawnNode(`viewers ${label}`, ['--import', 'tsx', VIEWERS_SCRIPT, ...args], { stdin: 'pipe', wrap: ns.wrap, env });
  const waiting = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const statWaiters: ((s: Record<string, ViewerStats>) => void)[] = [];
  let buf = '';
  let ready!: () => void;
  let failed!: (e: Error) => void;
  const isReady = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  child.process.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (m.type === 'ready') ready();
      else if (m.type === 'fatal') failed(new Error(`viewers ${label}: ${String(m.message)}`));
      else if (m.type === 'added') waiting.get(String(m.id))?.resolve();
      else if (m.type === 'error') waiting.get(String(m.id))?.reject(new Error(`viewer ${String(m.id)}: ${String(m.message)}`));
      else if (m.type === 'stats') for (const w of statWaiters.splice(0)) w(m.viewers as Record<string, ViewerStats>);
    }
  });
  child.process.once('exit', () => failed(new Error(`viewers ${label} exited: ${child.stderr().slice(-1000)}`)));
  await withTimeout(isReady, 30_000, `viewers ${label} not ready: ${child.stderr().slice(-1000)}`);
  const send = (m: unknown) => child.process.stdin!.write(`${JSON.stringify(m)}\n`);
  return {
    child,
    add: (id) =>
      withTimeout(
        new Promise<void>((resolve, reject) => {
          waiting.set(id, { resolve, reject });
          send({ type: 'add', id });
        }),
        20_000,
        `viewer ${id} (${label}) was not set up within 20 s`,
      ),
    remove: (id) => send({ type: 'remove', id }),
    stats: () => withTimeout(new Promise((resolve) => statWaiters.push(resolve)), 5000, `no stats from viewers ${label}`),
  };
}

// ---------------------------------------------------------------------------------------------
// /proc

function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** `pid` and all its descendants (pid, command name). */
export function processTree(pid: number): { pid: number; comm: string }[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (!f) continue;
    const ppid = Number(f[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const out: { pid: number; comm: string }[] = [];
  const visit = (p: number): void => {
    let comm: string;
    try {
      comm = readFileSync(`/proc/${p}/comm`, 'utf8').trim();
    } catch {
      return;
    }
    out.push({ pid: p, comm });
    for (const c of parents.get(p) ?? []) visit(c);
  };
  visit(pid);
  return out;
}

/** user+sys CPU seconds of the given processes (all threads; clock ticks of 1/100 s). */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / 100;
}

/** Resident set size in MB of the given processes (summed). */
export function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return Math.round((kb / 1024) * 10) / 10;
}
