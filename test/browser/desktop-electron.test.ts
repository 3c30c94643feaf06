/**
 * The desktop story (desktop-story.ts) in real Electron: playwright-core's
 * `_electron.launch` starts the installed Electron binary on this repository (package.json main:
 * the built out/main), twice (users A and B, each its own profile through LANCAM_USER_DATA), and
 * the story drives each app's first window, which loads app://lancam/ with the built preload.
 *
 * Run it with `npm run test:electron` (scripts/test-electron.mjs): that finds the binary, builds,
 * and runs this file inside a fresh network namespace holding only loopback (cameras, Electron and
 * its WebRTC all in there). Without LANCAM_ELECTRON_BINARY this file is skipped, and says so; with
 * it set to a file that does not exist it fails rather than skip.
 */
import { access, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { _electron, type ElectronApplication } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, onCleanup, REPO, tempDir } from '../helpers/processes';
import { runDesktopStory, startStoryCameras, type StoryCameras } from './desktop-story';

const binary = process.env.LANCAM_ELECTRON_BINARY;
/** Set by scripts/test-electron.mjs: this process already runs in a namespace of its own. */
const isolated = process.env.LANCAM_ELECTRON_ISOLATED === '1';

async function launch(userData: string, snapshots: string): Promise<ElectronApplication> {
  const app = await _electron.launch({
    executablePath: binary!,
    args: [REPO],
    cwd: REPO,
    env: { ...process.env, LANCAM_USER_DATA: userData, LANCAM_MDNS_INTERFACE: '127.0.0.1', ELECTRON_ENABLE_LOGGING: '1' } as Record<string, string>,
    timeout: 60_000,
  });
  onCleanup(() => app.close().catch(() => undefined));
  // The save dialog is native: answer it with a file in `snapshots`, as a person choosing it would.
  await app.evaluate(({ dialog }, dir) => {
    dialog.showSaveDialog = (async (...args: unknown[]) => {
      const options = (args.length > 1 ? args[1] : args[0]) as { defaultPath?: string };
      return { canceled: false, filePath: `${dir}/${(options.defaultPath ?? 'snapshot.png').split('/').pop()}` };
    }) as typeof dialog.showSaveDialog;
  }, snapshots);
  return app;
}

describe.skipIf(!binary)(`desktop story in real Electron${binary ? '' : ' (skipped: no Electron binary; see npm run test:electron)'}`, () => {
  let cameras: StoryCameras;
  let appA: ElectronApplication;
  let appB: ElectronApplication;
  let snapshotsA: string;
  const started = Date.now();
  const mark = (what: string) => console.log(`desktop-electron: ${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const ns = { name: 'test:electron', wrap: [] as string[] };

  beforeAll(async () => {
    await access(binary!, constants.X_OK);
    if (!isolated) throw new Error('run this through `npm run test:electron`, which gives it a network namespace of its own');
    cameras = await startStoryCameras(ns, mark);
    const [userDataA, userDataB] = await Promise.all([tempDir('lancam-electron-a-'), tempDir('lancam-electron-b-')]);
    snapshotsA = path.join(userDataA, 'Pictures');
    await Promise.all([mkdir(snapshotsA), mkdir(path.join(userDataB, 'Pictures'))]);
    [appA, appB] = await Promise.all([launch(userDataA, snapshotsA), launch(userDataB, path.join(userDataB, 'Pictures'))]);
    mark('two Electron apps up');
  }, 120_000);

  afterAll(cleanupAll, 30_000);

  it('runs the whole story in Electron: the preload loaded, no Node in the page, errors as ApiError', async () => {
    const a = await appA.firstWindow();
    expect(a.url()).toBe('app://lancam/index.html');
    // The preload ran in the sandbox and exposed the API; Node is nowhere in the page.
    expect(await a.evaluate(() => [typeof (globalThis as { lancamIpc?: unknown }).lancamIpc, typeof (globalThis as { require?: unknown }).require, typeof (globalThis as { process?: unknown }).process])).toEqual(['object', 'undefined', 'undefined']);
    const result = await runDesktopStory({
      ...cameras,
      ns,
      screens: path.join(REPO, 'test-artifacts', 'screens', 'real-electron'),
      snapshotDirA: snapshotsA,
      mark,
      openA: async () => a,
      openB: () => appB.firstWindow(),
    });
    expect(result.wrongPasswordMessage).toContain('The password is wrong');
  }, 180_000);
});
