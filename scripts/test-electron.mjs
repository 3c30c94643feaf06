#!/usr/bin/env node
// `npm run test:electron`: the desktop story in a real Electron (test/browser/desktop-electron.test.ts), where a binary
// exists. No Electron binary can be downloaded on our build machines, so this looks for one and,
// when there is none, prints "skipped: no Electron binary" and exits 0 (1 with
// LANCAM_REQUIRE_ELECTRON=1). It never reports a pass it did not run: when it runs, it succeeds
// only if the vitest report shows the story's test passed and nothing was skipped.
//
// Where it looks: LANCAM_ELECTRON_BINARY; ELECTRON_OVERRIDE_DIST_PATH/electron; the electron npm
// package's own download (node_modules/electron/dist, named by its path.txt). Nothing is
// downloaded, and `electron` is not required (that would try to download).
//
// Network: the test runs inside a fresh user + network namespace holding only loopback
// (`unshare --user --map-current-user --net`), so cameras, Electron and its WebRTC stay there.
// LANCAM_ELECTRON_NETNS=off runs it on the host instead (your own desktop, if unshare is refused).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const required = process.env.LANCAM_REQUIRE_ELECTRON === '1';

function findElectron() {
  const candidates = [];
  if (process.env.LANCAM_ELECTRON_BINARY) candidates.push(path.resolve(process.env.LANCAM_ELECTRON_BINARY));
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) candidates.push(path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, 'electron'));
  const pathFile = path.join(root, 'node_modules/electron/path.txt');
  if (existsSync(pathFile)) candidates.push(path.join(root, 'node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim()));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return { binary: candidate, looked: candidates };
    } catch {
      // not there, or not executable
    }
  }
  return { binary: undefined, looked: candidates.length ? candidates : ['LANCAM_ELECTRON_BINARY (unset)', 'ELECTRON_OVERRIDE_DIST_PATH (unset)', 'node_modules/electron/path.txt (absent)'] };
}

function skip(reason) {
  console.log(`test:electron: skipped: ${reason}`);
  if (required) console.error('test:electron: LANCAM_REQUIRE_ELECTRON=1, so this is a failure');
  process.exit(required ? 1 : 0);
}

const { binary, looked } = findElectron();
if (!binary) skip(`no Electron binary (looked at: ${looked.join(', ')})`);
if (process.getuid?.() === 0) skip(`Electron binary ${binary} found, but this is root: Electron refuses to run as root with its sandbox on, and the story tests the sandbox; run it as a normal user`);

const build = spawnSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const report = path.join(root, 'test-artifacts/electron-vitest.json');
const vitest = [process.execPath, path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', 'test/browser/desktop-electron.test.ts', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`];
const isolated = process.env.LANCAM_ELECTRON_NETNS !== 'off';
const command = isolated ? ['unshare', '--user', '--map-current-user', '--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...vitest] : vitest;
console.log(`test:electron: ${binary}${isolated ? ' (in a network namespace with only loopback)' : ' (on the host network: LANCAM_ELECTRON_NETNS=off)'}`);
const result = spawnSync(command[0], command.slice(1), { cwd: root, stdio: 'inherit', env: { ...process.env, LANCAM_ELECTRON_BINARY: binary, LANCAM_ELECTRON_ISOLATED: '1' } });
if (result.status !== 0) process.exit(result.status ?? 1);

const summary = JSON.parse(readFileSync(report, 'utf8'));
if (summary.numPassedTests < 1 || summary.numPendingTests > 0 || summary.numFailedTests > 0) {
  console.error(`test:electron: the story did not run in full (passed ${summary.numPassedTests}, skipped ${summary.numPendingTests}, failed ${summary.numFailedTests})`);
  process.exit(1);
}
console.log(`test:electron: passed (${summary.numPassedTests} test(s) in real Electron)`);
