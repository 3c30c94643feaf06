/**
 * The set-up of the "chromium" benchmark (bench/chromium.ts), none of it timed: a network
 * namespace with nothing but `lo`, and inside it a `lancam-device` (test pattern), a CLI home
 * paired with it as admin (local-initial), `lancam ui` serving the benchmark page
 * (test/browser/chromium-bench-page.ts, bundled with esbuild) and Debian's Chromium driven by
 * playwright-core through a wrapper script that starts it inside the namespace.
 *
 * Network safety (ARCHITECTURE.md, hard rule): Chromium's WebRTC runs only inside the namespace
 * made here, which has only `lo` (checked), with --allow-loopback-in-peer-connection and
 * --disable-features=WebRtcHideLocalIpsWithMdns; no ICE server anywhere. The device, the CLI and
 * `lancam ui` run inside the namespace too (listening on 127.0.0.1, mDNS on 127.0.0.1). Every
 * process is registered with onCleanup; the namespace's cleanup (which runs last) SIGKILLs
 * anything still inside it and deletes it. Copied in small from test/helpers/netns.ts and
 * test/browser/chromium-video.test.ts, with bench/lib.ts's cleanup registry.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { BrowserContext } from 'playwright-core';
import { CHROMIUM, launchChromiumInNetns } from '../test/helpers/chromium';
import { LOOPBACK, REPO, onCleanup, tempDir, withTimeout, type Child } from './lib';

const run = promisify(execFile);

const DEVICE_BIN = path.join(REPO, 'bin/lancam-device');
const CLI_BIN = path.join(REPO, 'bin/lancam');
const PAGE_ENTRY = path.join(REPO, 'test/browser/chromium-bench-page.ts');


/** Why the benchmark cannot run here (it is then skipped), or undefined when it can. */
export async function chromiumUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'network namespaces need root (Chromium WebRTC runs only inside one)';
  try {
    await run('ip', ['netns', 'list']);
  } catch (err) {
    return `ip netns does not work here: ${(err as Error).message.split('\n')[0]}`;
  }
  try {
    await access(CHROMIUM, constants.X_OK);
  } catch {
    return `no Chromium at ${CHROMIUM}`;
  }
  return undefined;
}

export interface Netns {
  name: string;
  /** Prefix for spawn: ['ip', 'netns', 'exec', name]. */
  wrap: string[];
}

/** A namespace with only `lo` (up); its cleanup kills whatever still runs inside, then deletes it. */
export async function createNetns(): Promise<Netns> {
  const name = `lancam-b${randomBytes(4).toString('hex')}`;
  await run('ip', ['netns', 'add', name]);
  onCleanup(`delete network namespace ${name}`, async () => {
    const { stdout } = await run('ip', ['netns', 'pids', name]).catch(() => ({ stdout: '' }));
    for (const pid of stdout.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await run('ip', ['netns', 'del', name]);
  });
  await run('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  const { stdout } = await run('ip', ['netns', 'exec', name, 'ip', '-o', 'link', 'show']);
  const links = stdout.trim().split('\n').map((l) => l.split(':')[1]?.trim());
  if (links.length !== 1 || links[0] !== 'lo') throw new Error(`namespace ${name} has unexpected interfaces: ${links.join(', ')}`);
  return { name, wrap: ['ip', 'netns', 'exec', name] };
}

/**
 * `node <script> <args>` inside the namespace (`ip netns exec` execs, so the pid is node's), with
 * piped output; its stop (SIGTERM, SIGKILL after the grace time) is registered as a cleanup.
 */
export function spawnInNetns(label: string, ns: Netns, script: string, args: string[]): Child {
  const child = spawn(ns.wrap[0]!, [...ns.wrap.slice(1), process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 3000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  onCleanup(`stop ${label} (pid ${child.pid ?? '?'})`, () => stop());
  // Matches stdout and stderr (lancam prints its result on stdout, logs on stderr).
  const waitFor = (re: RegExp, ms: number, what: string) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(out) ?? re.exec(err);
        if (!m) return;
        finish();
        resolve(m);
      };
      const onExit = (): void => {
        finish();
        reject(new Error(`${label} exited (${child.exitCode ?? child.signalCode}) before ${what}\nstdout: ${out}\nstderr: ${err}`));
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${label}: no ${what} within ${ms} ms\nstdout: ${out}\nstderr: ${err}`));
      }, ms);
      const finish = (): void => {
        clearTimeout(timer);
        child.stdout.off('data', check);
        child.stderr.off('data', check);
        child.off('exit', onExit);
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      child.once('exit', onExit);
      check();
    });
  return { process: child, stdout: () => out, stderr: () => err, waitFor, stop };
}

export interface ChromiumEnv {
  ns: Netns;
  device: Child & { port: number; deviceId: string };
  ui: Child;
  /** The page address with its one-time token. */
  url: string;
  context: BrowserContext;
  chromiumVersion: string | null;
  /** Set-up steps and how long each took (ms). */
  setupMs: Record<string, number>;
}

/** Everything above, in order; each step bounded. Throws (after registering cleanups) on failure. */
export async function startChromiumEnv(options: { width: number; height: number; fps: number; progress: (message: string) => void }): Promise<ChromiumEnv> {
  const setupMs: Record<string, number> = {};
  let t = performance.now();
  const step = (name: string): void => {
    const now = performance.now();
    setupMs[name] = Math.round(now - t);
    t = now;
  };

  const ns = await createNetns();
  step('namespace');

  const device = spawnInNetns('lancam-device (netns)', ns, DEVICE_BIN, [
    '--state-dir', await tempDir('lancam-bench-chromium-device-'),
    '--host', LOOPBACK,
    '--port', '0',
    // Announced on 127.0.0.1 inside the namespace, so the UI lists it as online (discovered) as the app would.
    '--mdns-interface', LOOPBACK,
    '--ice-address', LOOPBACK,
    '--source', 'pattern',
    '--size', `${options.width}x${options.height}`,
    '--fps', String(options.fps),
    '--name', 'Bench Chromium Cam',
  ]);
  const listening = await device.waitFor(/listening on (\S+):(\d+)/, 20_000, '"listening on" line');
  if (listening[1] !== LOOPBACK) throw new Error(`lancam-device listens on ${listening[1]}, expected ${LOOPBACK}`);
  const deviceId = /device id\s+(\S+)/.exec(device.stdout())?.[1];
  if (!deviceId) throw new Error(`cannot parse lancam-device output:\n${device.stdout()}`);
  step('device');

  const home = await tempDir('lancam-bench-chromium-home-');
  const cli = ['--home', home, '--mdns-interface', LOOPBACK];
  const pairing = spawnInNetns('lancam pair (netns)', ns, CLI_BIN, [...cli, 'pair', '--address', `${LOOPBACK}:${listening[2]}`]);
  const pairExit = new Promise<number | null>((resolve) => pairing.process.once('exit', (code) => resolve(code)));
  const code = await withTimeout(pairExit, 20_000, 'lancam pair did not finish within 20 s');
  if (code !== 0) throw new Error(`lancam pair failed (${code}):\n${pairing.stdout()}${pairing.stderr()}`);
  step('pair');

  const site = await tempDir('lancam-bench-chromium-site-');
  await build({ entryPoints: [PAGE_ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'chrome120', outfile: path.join(site, 'app.js'), logLevel: 'error' });
  await writeFile(path.join(site, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>lancam chromium bench</title><script type="module" src="/app.js"></script></head><body></body></html>');
  step('buildPage');

  const ui = spawnInNetns('lancam ui (netns)', ns, CLI_BIN, [...cli, 'ui', '--static', site]);
  const url = (await ui.waitFor(/open (http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]+)/, 15_000, 'the UI address'))[1]!;
  step('ui');

  const dirs = { binDir: await tempDir('lancam-bench-chromium-bin-'), profileDir: await tempDir('lancam-bench-chromium-profile-') };
  options.progress(`launching Chromium in namespace ${ns.name}`);
  const context = await withTimeout(launchChromiumInNetns(ns.wrap, dirs, { timeoutMs: 30_000 }), 35_000, 'Chromium did not start');
  onCleanup('close Chromium', () => context.close());
  step('chromium');

  return { ns, device: { ...device, port: Number(listening[2]), deviceId }, ui, url, context, chromiumVersion: context.browser()?.version() ?? null, setupMs };
}
