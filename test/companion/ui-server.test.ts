/**
 * The browser harness server (`lancam ui`) under attack, in process on 127.0.0.1: DNS rebinding
 * (wrong Host), malformed and traversing paths, cross-site WebSocket (wrong Origin), wrong tokens
 * and malformed calls. It must refuse each, and keep serving.
 */
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AppService } from '../../src/companion/app/app-service';
import { openHome } from '../../src/companion/home';
import { KnownDeviceStore } from '../../src/companion/known-devices';
import { UiServer } from '../../src/companion/ui-server/ui-server';
import { cleanupAll, tempDir } from '../helpers/processes';

let server: UiServer;
let app: AppService;
let port: number;
let origin: string;

beforeAll(async () => {
  const site = await tempDir('lancam-ui-site-');
  await writeFile(path.join(site, 'index.html'), '<!doctype html><title>lancam</title>');
  const home = await openHome(await tempDir('lancam-ui-home-'));
  app = new AppService({
    home,
    store: new KnownDeviceStore(home.devicesFile),
    mdnsInterface: '127.0.0.1',
    identity: { keyProtection: 'file-0600', keyProtectionNote: 'test' },
    snapshotDir: `${home.dir}/snapshots`,
  });
  server = new UiServer({ app, staticDir: site });
  ({ port } = await server.listen());
  origin = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await server.close();
  await app.close();
  await cleanupAll();
});

function get(rawPath: string, host = `127.0.0.1:${port}`): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function api(options: { origin?: string; token?: string }): Promise<{ ws: WebSocket; first: Promise<unknown>; closed: Promise<{ code: number }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api`, { headers: { origin: options.origin ?? origin } });
    const closed = new Promise<{ code: number }>((r) => ws.once('close', (code) => r({ code })));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
    ws.once('open', () => {
      const first = new Promise<unknown>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
      if (options.token !== undefined) ws.send(JSON.stringify({ type: 'hello', token: options.token }));
      resolve({ ws, first, closed });
    });
  });
}

describe('lancam ui server', () => {
  it('serves the app with the strict CSP to its own origin only (DNS rebinding)', async () => {
    const ok = await get('/');
    expect(ok.status).toBe(200);
    expect(ok.headers['content-security-policy']).toContain("default-src 'none'");
    expect(ok.headers['x-content-type-options']).toBe('nosniff');
    expect((await get('/', `evil.example:${port}`)).status).toBe(403);
    expect((await get('/', `localhost:${port}`)).status).toBe(403);
  });

  it('answers malformed and traversing paths without crashing, and keeps serving', async () => {
    expect((await get('/%E0%A4%A')).status).toBe(400);
    expect((await get('/..%2F..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
    expect((await get('/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
    expect((await get('/index.html')).status).toBe(200);
  });

  it('refuses the API to another origin (cross-site WebSocket hijacking)', async () => {
    await expect(api({ origin: 'https://evil.example', token: server.token })).rejects.toThrow('HTTP 403');
  });

  it('closes the API on a wrong token, and serves the right one', async () => {
    const wrong = await api({ token: 'x'.repeat(43) });
    expect((await wrong.closed).code).toBe(4401);

    const right = await api({ token: server.token });
    expect(await right.first).toEqual({ type: 'ready' });
    const reply = (id: number) => new Promise<Record<string, unknown>>((r) => right.ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      if (m.id === id) r(m);
    }));
    const r1 = reply(1);
    right.ws.send(JSON.stringify({ id: 1, method: 'constructor', args: [] }));
    expect(await r1).toMatchObject({ id: 1, error: { status: 400 } });
    const r2 = reply(2);
    right.ws.send(JSON.stringify({ id: 2, method: 'forget', args: ['../../etc'] }));
    expect(await r2).toMatchObject({ id: 2, error: { status: 400 } });
    const r3 = reply(3);
    right.ws.send(JSON.stringify({ id: 3, method: 'identity', args: [] }));
    expect(await r3).toMatchObject({ id: 3, result: { keyProtection: 'file-0600' } });
    right.ws.close();
  });
});
