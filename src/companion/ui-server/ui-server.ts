/**
 * The browser harness (`lancam ui`): the desktop renderer served on 127.0.0.1, with the preload API
 * bridged to the companion core over a local WebSocket.
 *
 * Who may use it: whoever holds the random token. It travels in the URL's fragment
 * (`http://127.0.0.1:PORT/#token=…`), which browsers never send to the server, so it is in no
 * request line or log; the page sends it as its first WebSocket message and removes it from the
 * address bar. The token is valid while this server runs (a reload must work, so it is not
 * one-time). Host and Origin must be this server's own loopback address (DNS rebinding), every
 * call is validated against the API's argument schemas, and the page gets the desktop's strict CSP.
 *
 * Memory before authentication: until the token is checked a connection may send at most
 * PRE_AUTH_MAX_BYTES in all (counted on the socket, so a huge frame is cut while it arrives, not
 * after ws buffered it), and only MAX_UNAUTHENTICATED such connections may exist at once. After
 * it, one frame may be large (snapshots), calls in flight and unread output are capped.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { API_ARGUMENTS, API_EVENTS, type ApiMethod } from '../../shared/ui/api';
import { CompanionError } from '../errors';
import type { AppService } from '../app/app-service';

export const UI_API_PATH = '/api';
/** Bytes a connection may send before its token is checked (the hello is ~100 bytes). */
export const PRE_AUTH_MAX_BYTES = 4096;
/** API connections that have not yet sent a valid token, at once; more are refused at the upgrade. */
export const MAX_UNAUTHENTICATED = 8;
/** Largest frame after authentication (a snapshot's data URL). */
export const MAX_FRAME_BYTES = 48 * 1024 * 1024;
/** Calls one connection may have running at once. */
export const MAX_CALLS_IN_FLIGHT = 32;
/** Output the page has not read yet; beyond it the connection is closed. */
export const MAX_UNREAD_OUTPUT_BYTES = 64 * 1024 * 1024;

/** The renderer's CSP (the same policy Electron main sets). */
export function contentSecurityPolicy(connectSrc: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    `connect-src ${connectSrc}`,
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Content types of the renderer's files (also used by Electron main's app:// protocol). */
export const STATIC_CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export interface UiServerOptions {
  app: AppService;
  /** The built renderer (index.html and assets). */
  staticDir: string;
  host?: string;
  port?: number;
  log?: (line: string) => void;
}

export class UiServer {
  readonly token = randomBytes(32).toString('base64url');
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private origin = '';
  private unauthenticated = 0;

  constructor(private readonly options: UiServerOptions) {
    this.http = http.createServer((req, res) => {
      this.serveStatic(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
    this.http.on('upgrade', (req, socket, head) => {
      if (req.url !== UI_API_PATH || !this.hostAllowed(req.headers.host) || req.headers.origin !== this.origin) {
        socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
        return;
      }
      if (this.unauthenticated >= MAX_UNAUTHENTICATED) {
        this.options.log?.('ui: refused an API connection: too many connections without a token');
        socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\r\n');
        return;
      }
      // Count what arrives before the token from here on, including what came with the upgrade.
      this.unauthenticated++;
      let preAuthBytes = head.length;
      let counted = true;
      const stopCounting = () => {
        if (!counted) return;
        counted = false;
        this.unauthenticated--;
        socket.off('data', count);
      };
      const count = (chunk: Buffer) => {
        preAuthBytes += chunk.length;
        if (preAuthBytes > PRE_AUTH_MAX_BYTES) {
          stopCounting();
          this.options.log?.(`ui: cut an API connection that sent more than ${PRE_AUTH_MAX_BYTES} bytes before its token`);
          socket.destroy();
        }
      };
      socket.on('data', count);
      socket.once('close', stopCounting);
      if (preAuthBytes > PRE_AUTH_MAX_BYTES) return void socket.destroy();
      this.wss.handleUpgrade(req, socket, head, (ws) => this.serveApi(ws, stopCounting));
    });
  }

  async listen(): Promise<{ url: string; port: number }> {
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 0, host, () => resolve());
    });
    const address = this.http.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    this.origin = `http://${host}:${address.port}`;
    return { url: `${this.origin}/#token=${this.token}`, port: address.port };
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private hostAllowed(host: string | undefined): boolean {
    return host !== undefined && `http://${host}` === this.origin;
  }

  private async serveStatic(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const headers = {
      'content-security-policy': contentSecurityPolicy(`'self' ${this.origin.replace('http:', 'ws:')}`),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cache-control': 'no-store',
    };
    if (!this.hostAllowed(req.headers.host)) {
      res.writeHead(403, headers).end('forbidden host');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', this.origin).pathname);
    } catch {
      res.writeHead(400, headers).end('bad request');
      return;
    }
    const root = path.resolve(this.options.staticDir);
    const file = path.resolve(root, `.${pathname === '/' ? '/index.html' : pathname}`);
    if (!file.startsWith(root + path.sep)) {
      res.writeHead(404, headers).end();
      return;
    }
    try {
      const body = await fs.readFile(file);
      res.writeHead(200, { ...headers, 'content-type': STATIC_CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, headers).end('not found');
    }
  }

  private serveApi(ws: WebSocket, authenticatedNow: () => void): void {
    let authenticated = false;
    let inFlight = 0;
    const unsubscribe: (() => void)[] = [];
    const deadline = setTimeout(() => ws.close(4401, 'no token'), 5000);
    ws.on('close', () => {
      clearTimeout(deadline);
      for (const off of unsubscribe) off();
    });
    ws.on('message', (data) => {
      let message: { type?: unknown; token?: unknown; id?: unknown; method?: unknown; args?: unknown };
      try {
        message = JSON.parse(data.toString()) as typeof message;
      } catch {
        return ws.close(4400, 'not JSON');
      }
      if (!authenticated) {
        if (message.type !== 'hello' || typeof message.token !== 'string' || !sameSecret(message.token, this.token)) {
          this.options.log?.('ui: refused an API connection with a wrong token');
          return ws.close(4401, 'wrong token');
        }
        authenticated = true;
        authenticatedNow();
        clearTimeout(deadline);
        for (const event of API_EVENTS) {
          const listener = (data: unknown) => send({ event, data });
          this.options.app.on(event, listener);
          unsubscribe.push(() => this.options.app.off(event, listener));
        }
        send({ type: 'ready' });
        return;
      }
      if (inFlight >= MAX_CALLS_IN_FLIGHT) {
        return send({ id: typeof message.id === 'number' ? message.id : null, error: { status: 429, message: `at most ${MAX_CALLS_IN_FLIGHT} calls may run at once` } });
      }
      inFlight++;
      void this.call(message).then((reply) => {
        inFlight--;
        send(reply);
      });
    });
    const send = (value: unknown) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_UNREAD_OUTPUT_BYTES) {
        this.options.log?.('ui: closed an API connection that does not read its answers');
        ws.terminate();
        return;
      }
      ws.send(JSON.stringify(value));
    };
  }

  private async call(message: { id?: unknown; method?: unknown; args?: unknown }): Promise<unknown> {
    const id = typeof message.id === 'number' ? message.id : null;
    const method = message.method as ApiMethod;
    if (typeof method !== 'string' || !Object.hasOwn(API_ARGUMENTS, method)) return { id, error: { status: 400, message: `no such method: ${String(method)}` } };
    const parsed = API_ARGUMENTS[method].safeParse(message.args);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { id, error: { status: 400, message: `invalid arguments to ${method}${issue?.path.length ? ` (${issue.path.join('.')})` : ''}: ${issue?.message ?? ''}` } };
    }
    try {
      const fn = this.options.app[method] as (...args: unknown[]) => Promise<unknown>;
      const result = await fn.apply(this.options.app, parsed.data as unknown[]);
      return { id, result: result ?? null };
    } catch (err) {
      const status = err instanceof CompanionError || (err as { status?: unknown }).status !== undefined ? (err as { status: number | string }).status : 'error';
      return { id, error: { status, message: (err as Error).message } };
    }
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
