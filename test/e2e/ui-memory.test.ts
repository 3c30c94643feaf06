/**
 * Issue 10 item 10: memory growth before authentication in `lancam ui`. Against a real `lancam ui`
 * process: connections with the right Host and Origin but no token send 40 MB frames. On the old
 * code ws buffered each whole frame (up to 48 MiB) before the token was ever looked at, and the
 * process grew by hundreds of MB. Now a connection is cut after a few KiB without a token, and
 * the page with the token keeps working.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cleanupAll, startUi, tempDir } from '../helpers/processes';

afterAll(cleanupAll);

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function open(url: string, origin: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { origin }, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

describe('lancam ui before authentication (item 10)', () => {
  it('cuts connections that send large frames before the token; RSS stays flat; the token holder is served', async () => {
    const site = await tempDir('lancam-ui-site-');
    await writeFile(path.join(site, 'index.html'), '<!doctype html><title>lancam</title>');
    const home = await tempDir('lancam-ui-home-');
    const ui = await startUi(home, site);
    const origin = new URL(ui.url).origin;
    const token = new URL(ui.url).hash.replace('#token=', '');
    const apiUrl = `${origin.replace('http:', 'ws:')}/api`;
    const baseline = rssMiB(ui.pid);

    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(ui.pid))), 20);
    const big = Buffer.alloc(40 * 1024 * 1024, 0x61);
    const attackers = await Promise.all(Array.from({ length: 6 }, () => open(apiUrl, origin)));
    const closes = attackers.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
    for (const ws of attackers) {
      ws.on('error', () => undefined);
      ws.send(big);
    }
    await Promise.race([Promise.all(closes), new Promise((r) => setTimeout(r, 20_000))]);
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(sampler);
    expect(attackers.every((ws) => ws.readyState === WebSocket.CLOSED)).toBe(true);
    // 6 x 40 MB were sent; the process buffered next to none of it.
    expect(peak - baseline).toBeLessThan(60);
    expect(ui.output()).toContain('bytes before its token');

    // Connections without a token are capped in number too.
    const idle = await Promise.all(Array.from({ length: 8 }, () => open(apiUrl, origin)));
    await expect(open(apiUrl, origin)).rejects.toThrow('HTTP 503');
    for (const ws of idle) ws.terminate();
    await new Promise((r) => setTimeout(r, 200));

    // The page with the token works, and may reconnect with it (reload): the token is per run.
    for (let i = 0; i < 2; i++) {
      const page = await open(apiUrl, origin);
      const ready = new Promise<unknown>((r) => page.once('message', (d) => r(JSON.parse(d.toString()))));
      page.send(JSON.stringify({ type: 'hello', token }));
      expect(await ready).toEqual({ type: 'ready' });
      const reply = new Promise<Record<string, unknown>>((r) => page.on('message', (d) => {
        const m = JSON.parse(d.toString()) as Record<string, unknown>;
        if (m.id === 1) r(m);
      }));
      page.send(JSON.stringify({ id: 1, method: 'identity', args: [] }));
      expect(await reply).toMatchObject({ id: 1, result: { keyProtection: expect.any(String) } });
      page.close();
    }
  }, 60_000);
});
