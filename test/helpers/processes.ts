/**
 * Real processes for tests: `lancam-device` daemons and `lancam` CLI runs, always on loopback
 * (listening on 127.0.0.1, mDNS on 127.0.0.1), always stopped within a bounded time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = path.resolve(REPO, '../shared');
export const DEVICE_BIN = path.join(REPO, 'bin/lancam-device');
export const CLI_BIN = path.join(REPO, 'bin/lancam');
export const RELAY_BIN = path.join(REPO, 'bin/lancam-relay');

const cleanups: (() => Promise<void>)[] = [];

/** Registers a cleanup that cleanupAll() runs (last registered, first run). */
export function onCleanup(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** Runs every registered cleanup (call from afterEach/afterAll). */
export async function cleanupAll(): Promise<void> {
  const pending = cleanups.splice(0);
  await Promise.allSettled(pending.reverse().map((c) => c()));
}

export async function tempDir(prefix = 'lancam-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface DeviceProcess {
  process: ChildProcess;
  stateDir: string;
  host: string;
  port: number;
  deviceId: string;
  fingerprint: string;
  stdout(): string;
  stderr(): string;
  /** Sends the signal and waits (bounded) for the exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartDeviceOptions {
  stateDir?: string;
  name?: string;
  /** Announce by mDNS on loopback (default true). */
  mdns?: boolean;
  host?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Resolve on this exit instead of on "listening" (for tests of start-up failures). */
  expectExit?: boolean;
  /** A command prefix, e.g. ['ip', 'netns', 'exec', NAME] to run inside a network namespace. */
  wrap?: string[];
}

/** The command and arguments to spawn `node <script> …args`, optionally behind a prefix. */
export function nodeCommand(script: string, args: string[], wrap: string[] = []): [string, string[]] {
  return wrap.length > 0 ? [wrap[0]!, [...wrap.slice(1), process.execPath, script, ...args]] : [process.execPath, [script, ...args]];
}

export async function startDevice(options: StartDeviceOptions = {}): Promise<DeviceProcess> {
  const stateDir = options.stateDir ?? (await tempDir('lancam-device-'));
  const args = [
    '--state-dir', stateDir,
    '--host', options.host ?? '127.0.0.1',
    '--port', '0',
    ...(options.mdns === false ? ['--no-mdns'] : ['--mdns-interface', '127.0.0.1']),
    ...(options.name ? ['--name', options.name] : []),
    ...(options.args ?? []),
  ];
  const [command, commandArgs] = nodeCommand(DEVICE_BIN, args, options.wrap);
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  cleanups.push(async () => void (await stop('SIGKILL')));

  const listening = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lancam-device did not start within 15 s\nstdout: ${out}\nstderr: ${err}`)), 15_000);
    const check = () => {
      const m = /listening on (\S+):(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new DeviceExitError(code, out, err));
    });
  });
  return {
    process: child,
    stateDir,
    host: listening[1]!,
    port: Number(listening[2]),
    deviceId: /device id\s+(\S+)/.exec(out)![1]!,
    fingerprint: /fingerprint\s+([0-9a-f ]{79})/.exec(out)![1]!.replace(/ /g, ''),
    stdout: () => out,
    stderr: () => err,
    stop,
  };
}

export class DeviceExitError extends Error {
  constructor(
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`lancam-device exited with ${code}: ${stderr.trim()}`);
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = unknown>(): T;
}

/** Runs `lancam` with a home directory (and loopback mDNS), bounded in time. */
export function runCli(args: string[], options: { home: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; wrap?: string[] } = { home: '' }): Promise<CliResult> {
  const full = ['--home', options.home, '--mdns-interface', '127.0.0.1', ...args];
  return new Promise((resolve, reject) => {
    const [command, commandArgs] = nodeCommand(CLI_BIN, full, options.wrap);
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lancam ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T });
    });
  });
}

/**
 * `lancam ui` for one home serving `site` (inside a namespace when `wrap` says so), stopped by
 * cleanupAll; resolves with the address (and token) it prints.
 */
export async function startUi(home: string, site: string, wrap: string[] = []): Promise<{ url: string; pid: number; output: () => string }> {
  const [command, args] = nodeCommand(CLI_BIN, ['--home', home, '--mdns-interface', '127.0.0.1', 'ui', '--static', site, '--snapshots', path.join(home, 'snapshots')], wrap);
  const ui = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => ui.once('exit', () => resolve()));
  onCleanup(async () => {
    if (ui.exitCode !== null || ui.signalCode !== null) return;
    ui.kill('SIGTERM');
    const timer = setTimeout(() => ui.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lancam ui did not start: ${out}`)), 15_000);
    ui.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    ui.stderr.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then(() => reject(new Error(`lancam ui exited: ${out}`)));
  });
  return { url, pid: ui.pid ?? 0, output: () => out };
}

export interface RelayProcess {
  port: number;
  fingerprint: string;
}

/** Starts lancam-relay (optionally inside a namespace), stopped by cleanupAll; reads its port and key fingerprint. */
export async function startRelay(args: string[], wrap: string[] = []): Promise<RelayProcess> {
  const [command, commandArgs] = nodeCommand(RELAY_BIN, ['--port', '0', '--state-dir', await tempDir('lancam-relay-'), ...args], wrap);
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(async () => void child.kill('SIGKILL'));
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lancam-relay did not start: ${out}`)), 15_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const port = /listening on \S+:(\d+)/.exec(out);
      const fp = /fingerprint\s+([0-9a-f]{64})/.exec(out);
      if (port && (fp || args.includes('--insecure-plain'))) {
        clearTimeout(timer);
        resolve({ port: Number(port[1]), fingerprint: fp?.[1] ?? '' });
      }
    });
  });
}

