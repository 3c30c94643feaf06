/**
 * The desktop UI end to end (the story is in desktop-story.ts), twice, against real `lancam-device`
 * cameras, with everything (cameras, companions, Chromium and its WebRTC) inside a network
 * namespace each run creates, with nothing but `lo`; mDNS is bound to 127.0.0.1 in there.
 *
 * 1. `lancam ui`: the renderer (built by vite) served by two `lancam ui` processes (homes A and B),
 *    reaching the companion over its authenticated WebSocket bridge.
 * 2. The Electron path: the BUILT out/main bundle, unmodified, runs twice (users A and B) under the
 *    Electron stand-in (test/desktop/harness): its protocol handler serves out/renderer, its window
 *    loads the BUILT preload in the sandbox harness, and the Chromium page's `window.lancamIpc` is
 *    what that preload exposed through contextBridge, so every call goes preload -> structured-clone
 *    IPC -> the real registerIpc handlers (sender checks included) -> a real AppService.
 * A wrong password shows the same message in both runs.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromiumInNetns } from '../helpers/chromium';
import { createNetns, netnsUnavailable, type Netns } from '../helpers/netns';
import { cleanupAll, onCleanup, REPO, startUi, tempDir } from '../helpers/processes';
import { buildRenderer } from '../helpers/renderer-build';
import { ensureDesktopBuilt } from '../desktop/harness/build';
import { startMain } from '../desktop/harness/main-harness';
import { runDesktopStory, startStoryCameras, type StoryCameras } from './desktop-story';

const SCREENS = path.join(REPO, 'test-artifacts', 'screens');
const unavailable = await netnsUnavailable();
const wrongPassword: Record<string, string> = {};

/** Chromium inside the namespace, with a fresh profile (one per user). */
async function launchChromium(ns: Netns, colorScheme: 'light' | 'dark' = 'light'): Promise<BrowserContext> {
  const profileDir = await mkdtemp(path.join(os.tmpdir(), 'lancam-profile-'));
  onCleanup(() => rm(profileDir, { recursive: true, force: true }));
  const context = await launchChromiumInNetns(ns.wrap, { binDir: await tempDir('lancam-chromium-'), profileDir }, { colorScheme, viewport: { width: 1280, height: 860 } });
  onCleanup(() => context.close());
  return context;
}

function marker(run: string) {
  const started = Date.now();
  return (what: string) => console.log(`desktop-e2e (${run}): ${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

describe.skipIf(unavailable !== undefined)(`desktop UI end to end${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  afterAll(async () => {
    await cleanupAll();
  }, 30_000);

  describe('through lancam ui', () => {
    let ns: Netns;
    let cameras: StoryCameras;
    let homeA: string;
    let urlA: string;
    let urlB: string;
    let contextA: BrowserContext;
    let contextB: BrowserContext;
    const mark = marker('lancam ui');

    beforeAll(async () => {
      await mkdir(SCREENS, { recursive: true });
      ns = await createNetns();
      const site = await tempDir('lancam-renderer-');
      [cameras] = await Promise.all([startStoryCameras(ns, mark), buildRenderer(site).then(() => mark('renderer built'))]);
      homeA = await tempDir('lancam-home-a-');
      const homeB = await tempDir('lancam-home-b-');
      [{ url: urlA }, { url: urlB }, contextA, contextB] = await Promise.all([startUi(homeA, site, ns.wrap), startUi(homeB, site, ns.wrap), launchChromium(ns), launchChromium(ns, 'dark')]);
      mark('two lancam ui and two Chromium profiles (B in dark mode) up');
    }, 60_000);

    afterAll(cleanupAll, 30_000);

    it('discovers, pairs (first owner, invitation), watches, invites, revokes, and warns of a changed key', async () => {
      // Without the token from `lancam ui`'s address, the page says what to do (and cannot call anything).
      const stranger = await contextA.newPage();
      await stranger.goto(urlA.replace(/#token=.*/, ''));
      expect(await stranger.getByTestId('connect-error').innerText()).toContain('Open the address that lancam ui printed');
      await stranger.screenshot({ path: path.join(SCREENS, '00-no-token.png') });
      await stranger.goto('about:blank');
      await stranger.goto(urlA.replace(/#token=.*/, '#token=not-the-token'));
      expect(await stranger.getByTestId('connect-error').innerText()).toContain('access token is not valid');
      await stranger.close();

      const result = await runDesktopStory({
        ...cameras,
        ns,
        screens: SCREENS,
        snapshotDirA: path.join(homeA, 'snapshots'),
        mark,
        openA: async () => {
          const page = await contextA.newPage();
          await page.goto(urlA);
          return page;
        },
        afterOpenA: async (page) => expect(page.url()).not.toContain('token'),
        openB: async () => {
          const page = await contextB.newPage();
          await page.goto(urlB);
          return page;
        },
      });
      wrongPassword['lancam ui'] = result.wrongPasswordMessage;
    }, 100_000);
  });

  describe('through the built preload, Electron IPC and the built main process', () => {
    let ns: Netns;
    let cameras: StoryCameras;
    let snapshotsA: string;
    let urlA: string;
    let urlB: string;
    let contextA: BrowserContext;
    let contextB: BrowserContext;
    const mark = marker('electron path');

    beforeAll(async () => {
      ns = await createNetns();
      [cameras] = await Promise.all([startStoryCameras(ns, mark), ensureDesktopBuilt().then(() => mark('out/ built'))]);
      const [userDataA, userDataB] = await Promise.all([tempDir('lancam-userdata-a-'), tempDir('lancam-userdata-b-')]);
      snapshotsA = path.join(userDataA, 'Pictures');
      await Promise.all([mkdir(snapshotsA), mkdir(path.join(userDataB, 'Pictures'))]);
      const mainA = startMain({ userData: userDataA, wrap: ns.wrap, env: { LANCAM_STANDIN_SAVE_DIR: snapshotsA, LANCAM_STANDIN_PICTURES: snapshotsA } });
      const mainB = startMain({ userData: userDataB, wrap: ns.wrap, env: { LANCAM_STANDIN_SAVE_DIR: path.join(userDataB, 'Pictures') } });
      await Promise.all([mainA.started, mainB.started]);
      [urlA, urlB, contextA, contextB] = await Promise.all([mainA.serve(), mainB.serve(), launchChromium(ns), launchChromium(ns, 'dark')]);
      await Promise.all([mainA.bridgePage(contextA), mainB.bridgePage(contextB)]);
      mark('two built main processes (A, B) and two Chromium profiles up');
    }, 60_000);

    afterAll(cleanupAll, 30_000);

    it('the same story: discovers, pairs, watches, invites, revokes, and warns of a changed key', async () => {
      const open = (context: BrowserContext, url: string) => async () => {
        const page = await context.newPage();
        await page.goto(`${url}index.html`);
        return page;
      };
      const result = await runDesktopStory({ ...cameras, ns, screens: path.join(SCREENS, 'electron'), snapshotDirA: snapshotsA, mark, openA: open(contextA, urlA), openB: open(contextB, urlB) });
      wrongPassword.electron = result.wrongPasswordMessage;
    }, 100_000);
  });

  it('a wrong password shows the same message on both paths', () => {
    expect(Object.keys(wrongPassword).sort()).toEqual(['electron', 'lancam ui']);
    expect(wrongPassword.electron).toBe(wrongPassword['lancam ui']);
  });
});
