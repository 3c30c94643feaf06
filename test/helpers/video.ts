/**
 * Helpers for the video end-to-end tests: an admin over a raw channel, invited users paired from
 * their own client homes, in-process viewers (CameraViewer, loopback candidates only), device log
 * polling, a `lancam watch` process that can be killed mid-stream, and a short ffmpeg clip.
 *
 * Network safety (ARCHITECTURE.md): every viewer made here passes `iceAddresses: ['127.0.0.1']`,
 * and every device the tests start gets `--ice-address 127.0.0.1`; nobody configures ICE servers.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { openHome, type ClientHome } from '../../src/companion/home';
import { KnownDeviceStore } from '../../src/companion/known-devices';
import { DeviceSession, type DeviceAddress } from '../../src/companion/device-session';
import { pair } from '../../src/companion/pairing';
import { CameraViewer, type I420Frame } from '../../src/companion/video/camera-viewer';
import { REPO, startDevice, tempDir, type DeviceProcess, type StartDeviceOptions } from './processes';
import { invite, type RawClient } from './raw-client';

const run = promisify(execFile);

/** The one address WebRTC may use in tests. */
export const LOOPBACK = '127.0.0.1';
/** `--ice-address 127.0.0.1`, for devices and (as a global option) for the CLI. */
export const ICE_LOOPBACK = ['--ice-address', LOOPBACK];

const cleanups: (() => void | Promise<void>)[] = [];

/** Closes viewers, sessions, raw clients and watch processes made here (call from afterEach). */
export async function cleanupVideo(): Promise<void> {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) {
    try {
      await cleanup();
    } catch {
      // keep cleaning up
    }
  }
}

/** A device with the test pattern (or `source`) on loopback only, no mDNS. */
export function startVideoDevice(options: { size?: string; fps?: number; source?: string; args?: string[] } & Omit<StartDeviceOptions, 'args'> = {}): Promise<DeviceProcess> {
  const { size = '320x240', fps = 30, source, args = [], ...rest } = options;
  return startDevice({
    mdns: false,
    ...rest,
    args: [...ICE_LOOPBACK, '--size', size, '--fps', String(fps), ...(source ? ['--source', source] : []), ...args],
  });
}

export function addressOf(device: DeviceProcess): DeviceAddress {
  return { host: device.host, port: device.port };
}

export interface PairedClient {
  username: string;
  home: ClientHome;
  store: KnownDeviceStore;
  /** A fresh session to the device (closed by cleanupVideo). */
  open(): Promise<DeviceSession>;
}

/** Invites `username` with `role` and pairs a fresh client home as that user (password invite). */
export async function pairedClient(device: DeviceProcess, admin: RawClient, username: string, role: string): Promise<PairedClient> {
  const password = await invite(admin, username, role);
  const home = await openHome(await tempDir('lancam-home-'));
  const store = new KnownDeviceStore(home.devicesFile);
  const target = { address: addressOf(device) };
  const result = await pair({ home, store, target, mode: 'password-invite', username, password, fingerprintName: `${username} laptop` });
  expect(result).toMatchObject({ username, role, fingerprint: device.fingerprint, alreadyPaired: false });
  return {
    username,
    home,
    store,
    open: async () => {
      const session = await DeviceSession.open({ home, store, target });
      cleanups.push(() => session.close());
      return session;
    },
  };
}

export interface CountingViewer {
  viewer: CameraViewer;
  /** performance.now() of every frame received. */
  frameTimes: number[];
}

/** Opens video on a session, loopback candidates only; closed by cleanupVideo. */
export async function openViewer(session: DeviceSession, onFrame?: (frame: I420Frame) => void): Promise<CountingViewer> {
  const frameTimes: number[] = [];
  const viewer = await CameraViewer.open(session, {
    iceAddresses: [LOOPBACK],
    onFrame: (frame) => {
      frameTimes.push(performance.now());
      onFrame?.(frame);
    },
  });
  cleanups.push(() => viewer.close());
  return { viewer, frameTimes };
}

export function count(text: string, pattern: RegExp): number {
  return (text.match(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`)) ?? []).length;
}

/** Polls the device's log (stderr) until `pattern` occurs `times` times; returns the time taken. */
export async function waitForLog(device: DeviceProcess, pattern: RegExp, timeoutMs: number, times = 1): Promise<number> {
  const started = performance.now();
  while (count(device.stderr(), pattern) < times) {
    if (performance.now() - started > timeoutMs) {
      throw new Error(`the device did not log ${String(pattern)} (x${times}) within ${timeoutMs} ms; its log:\n${device.stderr().split('\n').filter((l) => !l.includes(' iam allow: ')).join('\n')}`);
    }
    await sleep(50);
  }
  return performance.now() - started;
}

/** The device's log without the (many) IAM allow lines. */
export function videoLog(device: DeviceProcess): string {
  return device
    .stderr()
    .split('\n')
    .filter((line) => / video|video:/.test(line))
    .join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A running `lancam` process (for killing it mid-stream); killed by cleanupVideo. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnCli(args: string[], home: string): CliProcess {
  const child = spawn(process.execPath, [path.join(REPO, 'bin/lancam'), '--home', home, '--mdns-interface', LOOPBACK, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** A 2 s 320x240@30 clip from ffmpeg's testsrc2 (H.264, or MPEG-4 part 2 without libx264). */
export async function makeClip(dir: string): Promise<{ file: string; codec: string }> {
  const file = path.join(dir, 'clip.mp4');
  const base = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '2', '-pix_fmt', 'yuv420p'];
  try {
    await run('ffmpeg', [...base, '-c:v', 'libx264', file], { timeout: 20_000 });
    return { file, codec: 'libx264' };
  } catch {
    await run('ffmpeg', [...base, '-c:v', 'mpeg4', file], { timeout: 20_000 });
    return { file, codec: 'mpeg4' };
  }
}

export const DOORBELL_ROLE = 'Doorbell';

/**
 * A device whose IAM config (the default one, created by a first run) gains a role "Doorbell"
 * that may signal (Webrtc:Signaling) and read its own user, but not watch (no Webrtc:VideoStream).
 * Started again on the same state directory with `--iam-config` naming that file.
 */
export async function startDoorbellDevice(options: { size?: string; fps?: number } = {}): Promise<DeviceProcess> {
  const first = await startVideoDevice(options);
  expect(await first.stop()).toBe(0);
  const configFile = path.join(first.stateDir, 'iam_config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8')) as {
    Policies: { Id: string; Statements: { Effect: string; Actions: string[] }[] }[];
    Roles: { Id: string; Policies: string[] }[];
  };
  expect(config.Roles.map((r) => r.Id)).toEqual(['Unpaired', 'Administrator', 'Standard', 'Guest']);
  config.Policies.push({ Id: 'RingOnly', Statements: [{ Effect: 'Allow', Actions: ['Webrtc:Signaling'] }] });
  config.Roles.push({ Id: DOORBELL_ROLE, Policies: ['RingOnly', 'ReadOwnUser'] });
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return startVideoDevice({ ...options, stateDir: first.stateDir, args: ['--iam-config', configFile] });
}
