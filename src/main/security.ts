/**
 * The desktop's security policy, in one place: the app:// protocol that serves the renderer (never
 * file://), the CSP on every response, blocked navigation and new windows, and permission requests
 * denied except fullscreen (the live view's button).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { protocol, session, type BrowserWindow, type WebContents } from 'electron';
import { contentSecurityPolicy, STATIC_CONTENT_TYPES } from '../companion/ui-server/ui-server';

export const APP_SCHEME = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://lancam`;


/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

/** Serves the built renderer at app://lancam/ with the CSP; nothing outside its folder. */
export function serveRenderer(rendererDir: string): void {
  const root = path.resolve(rendererDir);
  const csp = contentSecurityPolicy("'self'");
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== 'lancam') return new Response('not found', { status: 404 });
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    } catch {
      return new Response('bad request', { status: 400 });
    }
    const file = path.resolve(root, `.${pathname}`);
    if (!file.startsWith(root + path.sep)) return new Response('not found', { status: 404 });
    try {
      const body = await fs.readFile(file);
      return new Response(body, {
        headers: { 'content-type': STATIC_CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-security-policy': csp, 'x-content-type-options': 'nosniff' },
      });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });
}

/**
 * The CSP for anything served over http(s) (the app itself comes from app://, which sets the same
 * policy in serveRenderer). A literal, so static checkers can read it; a test keeps it equal to
 * contentSecurityPolicy("'self'").
 */
export const HTTP_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Permissions: everything denied but fullscreen; no other origin is ever loaded anyway. */
export function lockDownSession(): void {
  const ses = session.defaultSession;
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { // eng-disable CSP_GLOBAL_CHECK (reviewed: 'self' is app://lancam, serving only our bundled renderer, so no JSONP, templates or uploads)
        ...details.responseHeaders,
        'Content-Security-Policy': ["default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"],
      },
    });
  });
  ses.setPermissionRequestHandler((webContents, permission, callback) => callback(permission === 'fullscreen' && isAppUrl(webContents.getURL())));
  ses.setPermissionCheckHandler((webContents, permission) => permission === 'fullscreen' && isAppUrl(webContents?.getURL() ?? ''));
  ses.on('will-download', (event) => event.preventDefault());
}

/** No navigation away from the app, no new windows, no webviews. */
export function lockDownContents(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

export function isAppUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === 'lancam';
  } catch {
    return false;
  }
}

export type { BrowserWindow };
