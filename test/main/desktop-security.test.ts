/**
 * The desktop's security gate and policy, checked without Electron: Electronegativity must fail on
 * an insecure window (so the gate in `npm test` can fail), pass on ours, and the CSP literal that
 * main sets on http(s) responses must equal the policy the renderer is served with.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../src/companion/ui-server/ui-server';
import { cleanupAll, REPO, tempDir } from '../helpers/processes';

const run = promisify(execFile);
afterAll(cleanupAll);

/** Runs the gate inside an empty network namespace (the tool tries to reach the internet). */
async function electronegativity(...targets: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('unshare', ['-rn', process.execPath, path.join(REPO, 'scripts/electronegativity.cjs'), ...targets], { cwd: REPO });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('electronegativity gate', () => {
  it('passes on src/main and src/preload', async () => {
    const { code, output } = await electronegativity();
    expect(output).toContain('0 finding(s) above informational');
    expect(code).toBe(0);
  }, 60_000);

  it('fails on a window without context isolation and sandbox', async () => {
    const dir = await tempDir('lancam-insecure-');
    await mkdir(path.join(dir, 'main'));
    await writeFile(
      path.join(dir, 'main', 'index.js'),
      "const { app, BrowserWindow } = require('electron');\napp.whenReady().then(() => {\n  const w = new BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false, sandbox: false } });\n  w.loadURL('https://example.invalid/');\n});\n",
    );
    const { code, output } = await electronegativity(path.join(dir, 'main'));
    expect(code).toBe(1);
    expect(output).toMatch(/CONTEXT_ISOLATION_JS_CHECK|NODE_INTEGRATION_JS_CHECK/);
  }, 60_000);
});

describe('Electron main bundle', () => {
  it('never loads the native WebRTC module (its ABI is not Electron\'s; video runs in the renderer)', async () => {
    const { build } = await import('esbuild');
    const result = await build({ entryPoints: [path.join(REPO, 'src/main/index.ts')], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, external: ['electron'], logLevel: 'silent', outdir: '/nonexistent' });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.includes('src/companion/app/app-service.ts'))).toBe(true);
    expect(inputs.filter((i) => i.includes('@roamhq'))).toEqual([]);
  }, 60_000);
});

describe('content security policy', () => {
  it('main sets the same policy on http(s) responses as on the app:// renderer', async () => {
    const source = await readFile(path.join(REPO, 'src/main/security.ts'), 'utf8');
    const literals = [...source.matchAll(/"(default-src 'none';[^"]+)"/g)].map((m) => m[1]);
    expect(literals.length).toBe(2);
    for (const literal of literals) expect(literal).toBe(contentSecurityPolicy("'self'"));
  });

  it('allows no inline script, no eval and no other origin', () => {
    const policy = contentSecurityPolicy("'self'");
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(policy).toContain("frame-ancestors 'none'");
  });
});
