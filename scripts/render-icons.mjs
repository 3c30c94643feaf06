#!/usr/bin/env node
// Renders resources/icon.svg into the PNG icons electron-builder packages (resources/icon.png,
// 1024 px, and resources/icons/<n>x<n>.png for the Linux hicolor theme), with Debian's Chromium.
// Run it inside an empty network namespace: `unshare -rn node scripts/render-icons.mjs`.
import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const svg = await readFile(path.join(root, 'resources/icon.svg'), 'utf8');
const profile = await mkdtemp(path.join(os.tmpdir(), 'lancam-icons-'));
const browser = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  const render = async (size, file) => {
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`);
    await page.screenshot({ path: file, omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
    console.log(`wrote ${path.relative(root, file)}`);
  };
  await render(1024, path.join(root, 'resources/icon.png'));
  for (const size of [16, 32, 48, 64, 128, 256, 512]) await render(size, path.join(root, `resources/icons/${size}x${size}.png`));
} finally {
  await browser.close();
  await rm(profile, { recursive: true, force: true });
}
