/**
 * The check that would have caught issue 9: every built preload requires only what Electron's
 * sandbox gives it, and the built main bundle loads no `@roamhq/wrtc` and no native module that
 * was not rebuilt for Electron (harness/bundle-requires.ts). Each rule is shown failing on a
 * deliberately bad fixture.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/processes';
import { ensureDesktopBuilt, OUT } from './harness/build';
import { bundleSpecifiers, mainViolations, preloadViolations } from './harness/bundle-requires';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const jsFiles = async (dir: string) => (await readdir(dir)).filter((f) => /\.(c|m)?js$/.test(f)).map((f) => path.join(dir, f));

beforeAll(ensureDesktopBuilt, 120_000);

describe('built preload bundles', () => {
  it('require nothing but electron, events, timers and url', async () => {
    const files = await jsFiles(path.join(OUT, 'preload'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const source = await readFile(file, 'utf8');
      expect(bundleSpecifiers(source)).toContain('electron');
      expect(preloadViolations(source), file).toEqual([]);
    }
  });

  it('the check fails on a preload that requires zod or fs', async () => {
    expect(preloadViolations(await readFile(path.join(FIXTURES, 'preload-requires-zod.cjs'), 'utf8'))).toEqual(['zod']);
    expect(preloadViolations(await readFile(path.join(FIXTURES, 'preload-requires-fs.cjs'), 'utf8'))).toEqual(['fs']);
  });
});

describe('built main bundle', () => {
  it('loads no @roamhq/wrtc and no native module', async () => {
    const files = await jsFiles(path.join(OUT, 'main'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const source = await readFile(file, 'utf8');
      expect(bundleSpecifiers(source)).toContain('electron');
      expect(mainViolations(source, path.dirname(file), REPO), file).toEqual([]);
    }
  });

  it('the check fails on a main bundle that loads @roamhq/wrtc, or a package that is a native addon', async () => {
    const wrtc = mainViolations(await readFile(path.join(FIXTURES, 'main-loads-wrtc/index.js'), 'utf8'), path.join(FIXTURES, 'main-loads-wrtc'), REPO);
    expect(wrtc.join('\n')).toContain('@roamhq/wrtc: not loadable in Electron main');
    expect(wrtc.join('\n')).toMatch(/@roamhq\/wrtc -> @roamhq\/wrtc-linux-x64: native module \(.*wrtc\.node\)/);
    const native = mainViolations(await readFile(path.join(FIXTURES, 'main-loads-native/index.js'), 'utf8'), path.join(FIXTURES, 'main-loads-native'), REPO);
    expect(native.join('\n')).toMatch(/lightningcss.*: native module \(.*\.node\)/);
  });
});
