/**
 * Debian's Chromium, driven by playwright-core, run inside a network namespace: the executable is
 * a wrapper that enters the namespace, so every packet Chromium sends stays there. The flags allow
 * WebRTC over loopback and keep Chromium from reaching out (background networking, updates, sync).
 */
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * Launches Chromium in the namespace `wrap` enters (e.g. ['ip', 'netns', 'exec', NAME]) with the
 * profile `profileDir` (fresh per user). `binDir` holds the wrapper script. The caller closes it.
 */
export async function launchChromiumInNetns(
  wrap: string[],
  dirs: { binDir: string; profileDir: string },
  options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number }; timeoutMs?: number } = {},
): Promise<BrowserContext> {
  const wrapper = path.join(dirs.binDir, 'chromium-in-netns');
  await writeFile(wrapper, `#!/bin/sh\nexec ${wrap.join(' ')} ${CHROMIUM} "$@"\n`);
  await chmod(wrapper, 0o755);
  return chromium.launchPersistentContext(dirs.profileDir, {
    executablePath: wrapper,
    headless: true,
    args: CHROMIUM_ARGS,
    ...(options.colorScheme ? { colorScheme: options.colorScheme } : {}),
    ...(options.viewport ? { viewport: options.viewport } : {}),
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
  });
}
