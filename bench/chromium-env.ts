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
import { access, constants, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import type { BrowserContext } from 'playwright-core';
import { CHROMIUM, launchChromiumInNetns } from '../test/helpers/chromium';
import { createNetns, netnsUnavailable, type Netns } from '../test/helpers/netns';
import { LOOPBACK, REPO, onCleanup, spawnNode, tempDir, withTimeout, type Child } from './lib';

const DEVICE_BIN = path.join(REPO, 'bin/lancam-device');
const CLI_BIN = path.join(REPO, 'bin/lancam');
const PAGE_ENTRY = path.join(REPO, 'test/browser/chromium-bench-page.ts');


/** Why the benchmark cannot run here (it is then skipped), or undefined when it can. */
export async function chromiumUnavailable(): Promise<string | undefined> {
  const netns = await netnsUnavailable();
  if (netns) return `${netns} (Chromium WebRTC runs only inside a namespace)`;
  try {
    await access(CHROMIUM, constants.X_OK);
  } catch {
    return `no Chromium at ${CHROMIUM}`;
  }
  return undefined;
}

export interface ChromiumEnv {
  ns: Netns;
  device: Child & { port: number; deviceId: string };
  /** options.extraDevices, started and paired, in order. */
  extraDevices: (Child & { port: number; deviceId: string })[];
  /** The CLI home paired with every device (admin). */
  home: string;
  ui: Child;
  /** The page address with its one-time token. */
  url: string;
  context: BrowserContext;
  chromiumVersion: string | null;
  /** Set-up steps and how long each took (ms). */
  setupMs: Record<string, number>;
}

/** Everything above, in order; each step bounded. Throws (after registering cleanups) on failure. */
export async function startChromiumEnv(options: {
  width: number;
  height: number;
  fps: number;
  progress: (message: string) => void;
  /** Use this namespace (made and checked by the caller) instead of a new one with only `lo`. */
  ns?: Netns;
  /** Appended to the device's arguments (later options win, e.g. --video-stack h264). */
  deviceArgs?: string[];
  /** More devices in the same namespace, paired with the same home (the page can watch each by id). */
  extraDevices?: { name: string; args: string[] }[];
}): Promise<ChromiumEnv> {
  const setupMs: Record<string, number> = {};
  let t = performance.now();
  const step = (name: string): void => {
    const now = performance.now();
    setupMs[name] = Math.round(now - t);
    t = now;
  };

  const ns = options.ns ?? (await createNetns((cleanup) => onCleanup('delete the network namespace', cleanup)));
  step('namespace');

  const device = spawnNode('lancam-device (netns)', [
    DEVICE_BIN,
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
    ...(options.deviceArgs ?? []),
  ], { wrap: ns.wrap });
  const listening = await device.waitFor(/listening on (\S+):(\d+)/, 20_000, '"listening on" line');
  if (listening[1] !== LOOPBACK) throw new Error(`lancam-device listens on ${listening[1]}, expected ${LOOPBACK}`);
  const deviceId = /device id\s+(\S+)/.exec(device.stdout())?.[1];
  if (!deviceId) throw new Error(`cannot parse lancam-device output:\n${device.stdout()}`);
  step('device');

  const home = await tempDir('lancam-bench-chromium-home-');
  const cli = ['--home', home, '--mdns-interface', LOOPBACK];
  const pairing = spawnNode('lancam pair (netns)', [CLI_BIN, ...cli, 'pair', '--address', `${LOOPBACK}:${listening[2]}`], { wrap: ns.wrap });
  const pairExit = new Promise<number | null>((resolve) => pairing.process.once('exit', (code) => resolve(code)));
  const code = await withTimeout(pairExit, 20_000, 'lancam pair did not finish within 20 s');
  if (code !== 0) throw new Error(`lancam pair failed (${code}):\n${pairing.stdout()}${pairing.stderr()}`);
  const extraDevices: ChromiumEnv['extraDevices'] = [];
  for (const extra of options.extraDevices ?? []) {
    const child = spawnNode(`lancam-device ${extra.name} (netns)`, [
      DEVICE_BIN,
      '--state-dir', await tempDir('lancam-bench-chromium-device-'),
      '--host', LOOPBACK,
      '--port', '0',
      '--mdns-interface', LOOPBACK,
      '--ice-address', LOOPBACK,
      '--name', extra.name,
      ...extra.args,
    ], { wrap: ns.wrap });
    const m = await child.waitFor(/listening on (\S+):(\d+)/, 20_000, '"listening on" line');
    if (m[1] !== LOOPBACK) throw new Error(`lancam-device listens on ${m[1]}, expected ${LOOPBACK}`);
    const id = /device id\s+(\S+)/.exec(child.stdout())?.[1];
    if (!id) throw new Error(`cannot parse lancam-device output:\n${child.stdout()}`);
    const pairExtra = spawnNode(`lancam pair ${extra.name} (netns)`, [CLI_BIN, ...cli, 'pair', '--address', `${LOOPBACK}:${m[2]}`], { wrap: ns.wrap });
    const extraExit = new Promise<number | null>((resolve) => pairExtra.process.once('exit', (c) => resolve(c)));
    const extraCode = await withTimeout(extraExit, 20_000, 'lancam pair did not finish within 20 s');
    if (extraCode !== 0) throw new Error(`lancam pair failed (${extraCode}):\n${pairExtra.stdout()}${pairExtra.stderr()}`);
    extraDevices.push({ ...child, port: Number(m[2]), deviceId: id });
  }
  step('pair');

  const site = await tempDir('lancam-bench-chromium-site-');
  await build({ entryPoints: [PAGE_ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'chrome120', outfile: path.join(site, 'app.js'), logLevel: 'error' });
  await writeFile(path.join(site, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>lancam chromium bench</title><script type="module" src="/app.js"></script></head><body></body></html>');
  step('buildPage');

  const ui = spawnNode('lancam ui (netns)', [CLI_BIN, ...cli, 'ui', '--static', site], { wrap: ns.wrap });
  const url = (await ui.waitFor(/open (http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]+)/, 15_000, 'the UI address'))[1]!;
  step('ui');

  const dirs = { binDir: await tempDir('lancam-bench-chromium-bin-'), profileDir: await tempDir('lancam-bench-chromium-profile-') };
  options.progress(`launching Chromium in namespace ${ns.name}`);
  const context = await withTimeout(launchChromiumInNetns(ns.wrap, dirs, { timeoutMs: 30_000 }), 35_000, 'Chromium did not start');
  onCleanup('close Chromium', () => context.close());
  step('chromium');

  return { ns, device: { ...device, port: Number(listening[2]), deviceId }, extraDevices, home, ui, url, context, chromiumVersion: context.browser()?.version() ?? null, setupMs };
}
