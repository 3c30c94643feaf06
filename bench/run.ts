/**
 * `npm run bench` (= `tsx bench/run.ts [--only <name>]`): runs every benchmark in turn, prints
 * one JSON line per benchmark as it finishes, then one `name: summary` line per benchmark, and
 * writes everything to bench/results/latest.json. Exits 1 if a benchmark threw (the others
 * still run), 2 on a bad command line. Every server and process a benchmark started is stopped
 * after it, bounded in time, also when it threw or on Ctrl-C.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, runCleanups, type BenchResult } from './lib';

interface Benchmark {
  name: string;
  load: () => Promise<{ run: () => Promise<BenchResult> }>;
  /** Overrides BENCHMARK_TIMEOUT_MS for a benchmark that needs longer. */
  timeoutMs?: number;
}

const BENCHMARKS: Benchmark[] = [
  { name: 'connect', load: () => import('./connect') },
  { name: 'discovery', load: () => import('./discovery') },
  { name: 'video', load: () => import('./video'), timeoutMs: 240_000 },
  { name: 'relay', load: () => import('./relay'), timeoutMs: 120_000 },
  { name: 'chromium', load: () => import('./chromium'), timeoutMs: 180_000 },
  { name: 'pairing', load: () => import('./pairing') },
  { name: 'streams', load: () => import('./streams'), timeoutMs: 480_000 },
  { name: 'streams-chromium', load: () => import('./streams-chromium'), timeoutMs: 300_000 },
];

/** A benchmark that runs longer than this is abandoned (and its cleanups run). */
const BENCHMARK_TIMEOUT_MS = 120_000;

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\nusage: npm run bench [-- [--quick] [--only <${BENCHMARKS.map((b) => b.name).join('|')}>]]\n`);
  process.exit(2);
}

function selected(argv: string[]): Benchmark[] {
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--only') {
      only = argv[++i];
      if (!only) usage('--only needs a benchmark name');
    } else if (arg.startsWith('--only=')) {
      only = arg.slice('--only='.length);
    } else if (arg === '--quick') {
      // Shorter runs of the benchmarks that have a quick mode (streams, streams-chromium), for development.
      process.env.LANCAM_BENCH_QUICK = '1';
    } else if (arg === '--help' || arg === '-h') {
      usage('runs the lancam benchmarks');
    } else {
      usage(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (only === undefined) return BENCHMARKS;
  const bench = BENCHMARKS.find((b) => b.name === only);
  if (!bench) usage(`no benchmark named ${JSON.stringify(only)}`);
  return [bench];
}

async function runOne(bench: Benchmark): Promise<BenchResult> {
  const { run } = await bench.load();
  const timeoutMs = bench.timeoutMs ?? BENCHMARK_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      run(),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
    if (result.name !== bench.name) throw new Error(`module returned result named ${JSON.stringify(result.name)}`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<number> {
  const benches = selected(process.argv.slice(2));
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`bench: ${signal}, stopping servers and processes\n`);
    void runCleanups(5000).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const startedAt = new Date();
  const results: BenchResult[] = [];
  const failures: { name: string; error: string }[] = [];
  for (const bench of benches) {
    process.stderr.write(`bench: running ${bench.name}...\n`);
    const t0 = performance.now();
    try {
      const result = await runOne(bench);
      results.push(result);
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } catch (err) {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      failures.push({ name: bench.name, error });
      process.stderr.write(`bench: ${bench.name} failed: ${error}\n`);
    } finally {
      const problems = await runCleanups();
      for (const p of problems) process.stderr.write(`bench: cleanup after ${bench.name}: ${p}\n`);
      process.stderr.write(`bench: ${bench.name} took ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  }

  const file = path.join(BENCH_DIR, 'results', 'latest.json');
  await mkdir(path.dirname(file), { recursive: true });
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { node: process.version, platform: `${os.platform()} ${os.release()}`, arch: os.arch(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', loadavg: os.loadavg() },
    results,
    failures,
  };
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);

  process.stdout.write('\n');
  for (const r of results) process.stdout.write(`${r.name}: ${r.summary}\n`);
  for (const f of failures) process.stdout.write(`${f.name}: FAILED: ${f.error.split('\n')[0]}\n`);
  process.stderr.write(`bench: results written to ${path.relative(process.cwd(), file)}\n`);
  return failures.length > 0 ? 1 : 0;
}

// Exit explicitly: @roamhq/wrtc can crash the process at its natural exit (after everything was
// printed and written), which would turn a good run's status into a segfault.
process.exit(await main());
