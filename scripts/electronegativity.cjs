#!/usr/bin/env node
// Runs Electronegativity (Doyensec's Electron security linter) over src/main and src/preload and
// fails on any finding above INFORMATIONAL. (The tool's own CLI exits 0 whatever it finds.)
//
// Network: the tool fetches translations from a public URL every time it runs. Our machines send
// nothing beyond loopback, so the translation loader is replaced, before the tool is loaded, by
// one that reads the locale files shipped inside the package. Nothing else is changed.
'use strict';
const path = require('node:path');

const toolDir = path.dirname(require.resolve('@doyensec/electronegativity/package.json'));
const i18nModule = path.join(toolDir, 'dist/locales/i18n.js');
const i18n = require(require.resolve('i18n', { paths: [toolDir] }));
function localTranslations() {
  i18n.configure({ locales: ['en-US'], defaultLocale: 'en-US', directory: path.dirname(i18nModule), updateFiles: false, objectNotation: true, retryInDefaultLocale: true, register: global });
  i18n.setLocale('en-US');
  return Promise.resolve();
}
require.cache[i18nModule] = { id: i18nModule, filename: i18nModule, loaded: true, exports: Object.assign(localTranslations, { default: localTranslations }) };

const run = require(path.join(toolDir, 'dist/runner.js'));
const electronVersion = require('electron/package.json').version;
const fs = require('node:fs');
const os = require('node:os');
const targets = process.argv.slice(2).length ? process.argv.slice(2) : ['src/main', 'src/preload'];
// Needs the list of Electron releases from the internet; it cannot work offline.
const OFFLINE_EXCLUDED = ['AvailableSecurityFixesGlobalCheck'];
const ORDER = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH'];

(async () => {
  let failed = 0;
  let checked = 0;
  // main and preload are one application: scan them together, so global checks see both.
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'lancam-electronegativity-'));
  for (const target of targets) fs.cpSync(path.resolve(target), path.join(app, path.basename(target)), { recursive: true });
  for (const input of [app]) {
    const result = await run({
      input,
      customScan: [],
      excludeFromScan: OFFLINE_EXCLUDED.map((c) => c.toLowerCase()),
      isRelative: true,
      isVerbose: false,
      electronVersionOverride: electronVersion,
      parserPlugins: [],
    }, false);
    checked += result.atomicChecks + result.globalChecks;
    for (const error of result.errors) {
      console.error(`electronegativity: could not parse ${error.file}: ${error.message ?? error.error ?? ''}`);
      failed++;
    }
    for (const issue of result.issues) {
      const severity = issue.severity.name ?? String(issue.severity);
      const where = `${path.relative(app, issue.file)}:${issue.location?.line ?? '?'}`;
      const line = `${severity.padEnd(13)} ${issue.id}  ${where}  ${issue.description ?? ''}`;
      if (ORDER.indexOf(severity.toUpperCase()) > 0) {
        console.error(`electronegativity: ${line}`);
        failed++;
      } else {
        console.log(`electronegativity (informational): ${line}`);
      }
    }
  }
  fs.rmSync(app, { recursive: true, force: true });
  console.log(`electronegativity: ${checked} checks over ${targets.join(', ')}; ${failed} finding(s) above informational`);
  process.exit(failed > 0 ? 1 : 0);
})().catch((err) => {
  console.error(`electronegativity: ${err.stack ?? err}`);
  process.exit(1);
});
