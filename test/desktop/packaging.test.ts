/**
 * Packaging hardening, read from the configuration electron-builder itself loads (package.json
 * "build", through app-builder-lib's getConfig and its schema validation):
 * - Electron fuses (docs: tutorial/fuses.md, Electron 45): RunAsNode, NODE_OPTIONS and --inspect
 *   off; embedded asar integrity validation, only-load-from-asar and cookie encryption on; the
 *   file:// extra privileges off (we serve app://); every fuse of the wire set explicitly. The
 *   config electron-builder would hand to @electron/fuses is flipped on a stand-in binary carrying
 *   Electron's fuse sentinel and default wire, and read back.
 * - asar on (asar integrity, docs tutorial/asar-integrity.md, is computed from it), and the
 *   Node-built WebRTC addon kept out of the app.
 * - resources/: the icons and the Linux desktop entry.
 * Each check is shown failing on a configuration with a fuse missing or wrong.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/processes';

const require = createRequire(import.meta.url);
type Fuses = Record<string, boolean | undefined>;
type BuilderConfig = { asar?: boolean; npmRebuild?: boolean; files?: (string | { filter?: string[] })[]; electronFuses?: Fuses; directories?: { buildResources?: string }; linux?: { icon?: string; desktop?: { entry?: Record<string, string> } } };
const { PlatformPackager } = require('app-builder-lib') as { PlatformPackager: { prototype: { generateFuseConfig(f: Fuses): Promise<Record<string, unknown>> } } };
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config') as { getConfig: (dir: string) => Promise<BuilderConfig>; validateConfiguration: (c: BuilderConfig, logger: { isEnabled: boolean; add(): void }) => Promise<void> };
const fuses = require('@electron/fuses') as {
  FuseV1Options: Record<string, number | string>;
  FuseVersion: { V1: string };
  flipFuses(file: string, config: Record<string, unknown>): Promise<number>;
  getCurrentFuseWire(file: string): Promise<Record<string, unknown>>;
};
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';

/** What the fuses must be: electron-builder option name, @electron/fuses name, wanted value. */
const REQUIRED: [string, string, boolean][] = [
  ['runAsNode', 'RunAsNode', false],
  ['enableNodeOptionsEnvironmentVariable', 'EnableNodeOptionsEnvironmentVariable', false],
  ['enableNodeCliInspectArguments', 'EnableNodeCliInspectArguments', false],
  ['enableEmbeddedAsarIntegrityValidation', 'EnableEmbeddedAsarIntegrityValidation', true],
  ['onlyLoadAppFromAsar', 'OnlyLoadAppFromAsar', true],
  ['enableCookieEncryption', 'EnableCookieEncryption', true],
  ['grantFileProtocolExtraPrivileges', 'GrantFileProtocolExtraPrivileges', false],
];
const fuseNames = () => Object.keys(fuses.FuseV1Options).filter((k) => Number.isNaN(Number(k)));

/** Everything wrong with a packaging configuration's hardening (empty when none). */
async function hardeningProblems(config: BuilderConfig): Promise<string[]> {
  const problems: string[] = [];
  if (config.asar === false) problems.push('asar is off (no asar integrity)');
  if (!config.electronFuses) return [...problems, 'electronFuses is missing'];
  const wire = await PlatformPackager.prototype.generateFuseConfig(config.electronFuses);
  for (const name of fuseNames()) {
    const index = fuses.FuseV1Options[name] as number;
    const wanted = REQUIRED.find(([, n]) => n === name)?.[2];
    if (wire[index] === undefined) problems.push(`fuse ${name} is not set`);
    else if (wanted !== undefined && wire[index] !== wanted) problems.push(`fuse ${name} is ${String(wire[index])}, must be ${String(wanted)}`);
  }
  const patterns = (config.files ?? []).flatMap((f) => (typeof f === 'string' ? [f] : (f.filter ?? [])));
  if (!patterns.includes('!node_modules/@roamhq/**')) problems.push('the Node-built @roamhq/wrtc addon would be packaged');
  return problems;
}

describe('packaging configuration', () => {
  it('is valid for electron-builder and sets every fuse as required, with asar on', async () => {
    const config = await getConfig(REPO);
    await validateConfiguration(config, { isEnabled: false, add() {} });
    expect(config.asar).toBe(true);
    // Main loads no native module (bundle-requires.test.ts), so nothing is rebuilt for Electron.
    expect(config.npmRebuild).toBe(false);
    expect(await hardeningProblems(config)).toEqual([]);
    for (const [option, , wanted] of REQUIRED) expect(config.electronFuses?.[option], option).toBe(wanted);
  });

  it('the check fails when a fuse is missing or wrong, or asar is off', async () => {
    const config = await getConfig(REPO);
    for (const [option, name] of REQUIRED) {
      const without = { ...config, electronFuses: { ...config.electronFuses } };
      delete without.electronFuses[option];
      expect(await hardeningProblems(without)).toContain(`fuse ${name} is not set`);
    }
    expect(await hardeningProblems({ ...config, electronFuses: { ...config.electronFuses, runAsNode: true } })).toContain('fuse RunAsNode is true, must be false');
    expect(await hardeningProblems({ ...config, asar: false })).toContain('asar is off (no asar integrity)');
    expect(await hardeningProblems({ ...config, electronFuses: undefined })).toContain('electronFuses is missing');
    expect(await hardeningProblems({ ...config, files: ['out/**', 'package.json'] })).toContain('the Node-built @roamhq/wrtc addon would be packaged');
  });

  it('flips the fuses of an Electron binary as configured (a stand-in carrying Electron\'s sentinel and default wire)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lancam-fuses-'));
    try {
      const binary = path.join(dir, 'lancam');
      // Electron's defaults: RunAsNode 1, cookies 0, NODE_OPTIONS 1, inspect 1, asar integrity 0, only asar 0, V8 snapshot 0, file:// 1.
      const wire = Buffer.concat([Buffer.alloc(64, 7), Buffer.from(SENTINEL), Buffer.from([1, 8]), Buffer.from('10110001'), Buffer.alloc(64, 7)]);
      await writeFile(binary, wire);
      const config = await getConfig(REPO);
      const generated = await PlatformPackager.prototype.generateFuseConfig(config.electronFuses!);
      expect(await fuses.flipFuses(binary, { ...generated, strictlyRequireAllFuses: true })).toBe(1);
      const current = await fuses.getCurrentFuseWire(binary);
      const on = (name: string) => current[fuses.FuseV1Options[name] as number] === 49;
      for (const [, name, wanted] of REQUIRED) expect(on(name), name).toBe(wanted);
      expect((await stat(binary)).size).toBe(wire.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('resources/', () => {
  it('has the app icon and the Linux icon set, square PNGs of the sizes their names say', async () => {
    const config = await getConfig(REPO);
    expect(config.directories?.buildResources).toBe('resources');
    expect(config.linux?.icon).toBe('resources/icons');
    const icon = PNG.sync.read(await readFile(path.join(REPO, 'resources/icon.png')));
    expect([icon.width, icon.height]).toEqual([1024, 1024]);
    for (const size of [16, 32, 48, 64, 128, 256, 512]) {
      const png = PNG.sync.read(await readFile(path.join(REPO, `resources/icons/${size}x${size}.png`)));
      expect([png.width, png.height]).toEqual([size, size]);
    }
  });

  it('has a Linux desktop entry that agrees with what electron-builder writes', async () => {
    const text = await readFile(path.join(REPO, 'resources/linux/lancam.desktop'), 'utf8');
    const lines = text.split('\n');
    expect(lines[0]).toBe('[Desktop Entry]');
    const entry = Object.fromEntries(lines.slice(1).filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(entry).toMatchObject({ Type: 'Application', Name: 'lancam', Exec: 'lancam %U', Icon: 'lancam' });
    expect(entry.Categories).toMatch(/^AudioVideo;Video;/);
    const config = await getConfig(REPO);
    for (const [key, value] of Object.entries(config.linux?.desktop?.entry ?? {})) expect(entry[key], key).toBe(value);
  });
});
