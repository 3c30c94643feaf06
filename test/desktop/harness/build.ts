/**
 * The built desktop bundles (out/main, out/preload, out/renderer) for the desktop tests: built by
 * `electron-vite build` (as `npm test` and `npm run package` do) when missing or older than the
 * sources, under a lock so test files running in parallel do not build over each other.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../../helpers/processes';

const run = promisify(execFile);
export const OUT = path.join(REPO, 'out');
export const MAIN_BUNDLE = path.join(OUT, 'main/index.js');
export const PRELOAD_BUNDLE = path.join(OUT, 'preload/index.cjs');
export const RENDERER_DIR = path.join(OUT, 'renderer');
const LOCK = path.join(REPO, '.desktop-build-lock');

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestSource(full) : (await stat(full)).mtimeMs);
  }
  return newest;
}

/** The oldest of the three bundles (0 when one is missing), so `npm run build`'s output counts too. */
async function builtAt(): Promise<number> {
  const times = await Promise.all([MAIN_BUNDLE, PRELOAD_BUNDLE, path.join(RENDERER_DIR, 'index.html')].map((f) => stat(f).then((s) => s.mtimeMs, () => 0)));
  return Math.min(...times);
}

async function stale(): Promise<boolean> {
  const built = await builtAt();
  const sources = Math.max(await newestSource(path.join(REPO, 'src')), (await stat(path.join(REPO, 'electron.vite.config.ts'))).mtimeMs);
  return built < sources;
}

export async function ensureDesktopBuilt(): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`could not take ${LOCK} (remove it if no build is running)`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (await stale()) {
      await run(process.execPath, [path.join(REPO, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: REPO, timeout: 110_000 });
    }
  } finally {
    await rmdir(LOCK);
  }
}
