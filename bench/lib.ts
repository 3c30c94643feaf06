/**
 * Shared pieces of the benchmarks: the result type, statistics, a registry of cleanups (so
 * run.ts can stop every server and process even when a benchmark throws), and child processes
 * (a real `lancam-device`, the TLS echo server) that always listen on 127.0.0.1 only.
 *
 * Network safety (ARCHITECTURE.md): every socket here is on loopback. The device is started with
 * --host 127.0.0.1 and either --no-mdns or --mdns-interface 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string;
  /** One line for people. */
  summary: string;
  results: Record<string, unknown>;
}

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(BENCH_DIR, '..');
export const LOOPBACK = '127.0.0.1';
const DEVICE_BIN = path.join(REPO, 'bin/lancam-device');

// ---------------------------------------------------------------------------------------------
// Statistics

export interface Stats {
  n: number;
  median: number;
  mean: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Statistics in the unit of the samples (ms here), rounded to 0.001. */
export function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const sum = sorted.reduce((a, b) => a + b, 0);
  const mid = sorted.length / 2;
  const median = sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    n: sorted.length,
    median: round(median),
    mean: round(sum / sorted.length),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    min: round(sorted[0] ?? NaN),
    max: round(sorted.at(-1) ?? NaN),
  };
}

/** "4.1" for 4.123; more digits below 1. */
export function fmtMs(ms: number): string {
  return ms < 1 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

// ---------------------------------------------------------------------------------------------
// Cleanups

const cleanups: { label: string; fn: () => Promise<void> }[] = [];

/** Registers `fn` to run at the end of the current benchmark (run.ts calls runCleanups). */
export function onCleanup(label: string, fn: () => Promise<void>): void {
  cleanups.push({ label, fn });
}

/** Runs every registered cleanup, newest first, each bounded by `timeoutMs`. Never throws. */
export async function runCleanups(timeoutMs = 8000): Promise<string[]> {
  const pending = cleanups.splice(0).reverse();
  const problems: string[] = [];
  for (const { label, fn } of pending) {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      fn().then(
        () => undefined,
        (err: unknown) => `${label}: ${(err as Error).message}`,
      ),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`${label}: did not finish within ${timeoutMs} ms`), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome) problems.push(outcome);
  }
  return problems;
}

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  onCleanup(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Helpers

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `message` when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes

export interface Child {
  process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `re` in stdout (bounded). */
  waitFor(re: RegExp, ms: number, what: string): Promise<RegExpExecArray>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns `node <args>` with piped output and registers its stop as a cleanup. `wrap` is a command
 * prefix, e.g. ['ip', 'netns', 'exec', NAME] (which execs, so the pid is still node's).
 */
export function spawnNode(label: string, args: string[], options: { stdin?: 'pipe' | 'ignore'; env?: NodeJS.ProcessEnv; wrap?: string[] } = {}): Child {
  return spawnCommand(label, process.execPath, args, options);
}

/** As spawnNode, for any executable (Janus, python3, ...). */
export function spawnCommand(label: string, executable: string, args: string[], options: { stdin?: 'pipe' | 'ignore'; env?: NodeJS.ProcessEnv; wrap?: string[] } = {}): Child {
  const [command, commandArgs] = options.wrap?.length ? [options.wrap[0]!, [...options.wrap.slice(1), executable, ...args]] : [executable, args];
  const child = spawn(command, commandArgs, { stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 3000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  onCleanup(`stop ${label} (pid ${child.pid ?? '?'})`, () => stop());
  const waitFor = (re: RegExp, ms: number, what: string) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(out);
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
        child.stdout!.off('data', check);
        child.off('exit', onExit);
      };
      child.stdout!.on('data', check);
      child.once('exit', onExit);
      check();
    });
  return { process: child, stdout: () => out, stderr: () => err, waitFor, stop };
}

export interface DeviceChild extends Child {
  host: string;
  port: number;
  deviceId: string;
  fingerprint: string;
}

/**
 * Starts a real `lancam-device` process on 127.0.0.1 (port chosen by the OS) with a fresh state
 * directory. mDNS: off, or on 127.0.0.1 only. `onSpawn` is called right after spawn (for timing).
 */
export async function startDeviceProcess(options: { mdns: boolean; name?: string; args?: string[]; onSpawn?: (child: Child) => void }): Promise<DeviceChild> {
  const stateDir = await tempDir('lancam-bench-device-');
  const args = [
    DEVICE_BIN,
    '--state-dir', stateDir,
    '--host', LOOPBACK,
    '--port', '0',
    ...(options.mdns ? ['--mdns-interface', LOOPBACK] : ['--no-mdns']),
    ...(options.name ? ['--name', options.name] : []),
    ...(options.args ?? []),
  ];
  const child = spawnNode('lancam-device', args);
  options.onSpawn?.(child);
  const m = await child.waitFor(/listening on (\S+):(\d+)/, 20_000, '"listening on" line');
  const out = child.stdout();
  const deviceId = /device id\s+(\S+)/.exec(out)?.[1];
  const fingerprint = /fingerprint\s+([0-9a-f ]{79})/.exec(out)?.[1]?.replace(/ /g, '');
  if (!deviceId || !fingerprint) throw new Error(`cannot parse lancam-device output:\n${out}`);
  if (m[1] !== LOOPBACK) throw new Error(`lancam-device listens on ${m[1]}, expected ${LOOPBACK}`);
  return { ...child, host: m[1], port: Number(m[2]), deviceId, fingerprint };
}
