// @vitest-environment jsdom
/** Where the renderer gets its API: Electron's preload, else the harness token; else a clear full-page message. */
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { connectApi } from '../../src/renderer/api/connect';
import { ConnectionProblem } from '../../src/renderer/app/ConnectionProblem';
import { plainError } from '../../src/renderer/api/errors';
import { API_METHODS, ApiError } from '../../src/shared/ui/api';
import type { PreloadApi } from '../../src/shared/ui/ipc';

afterEach(() => {
  cleanup();
  delete window.lancamIpc;
  window.location.hash = '';
});

describe('connecting to the companion', () => {
  it('inside Electron, wraps the preload\'s window.lancamIpc: results pass through, {status, message} replies become ApiError', async () => {
    const calls: unknown[][] = [];
    const ipc: Record<string, unknown> = {};
    for (const method of API_METHODS) ipc[method] = async (...args: unknown[]) => (calls.push([method, ...args]), { ok: true, result: `${method}-result` });
    // A plain object, as contextBridge delivers it: no class, no prototype.
    ipc.pair = async () => ({ ok: false, error: { status: 401, message: 'pairing failed: wrong password' } });
    ipc.forget = async () => ({ ok: false, error: { status: 'device-key-changed', message: 'key changed' } });
    ipc.access = async () => 'not a reply';
    ipc.listUsers = async () => Promise.reject(new Error('Error invoking remote method: boom'));
    ipc.on = (event: string) => () => calls.push(['off', event]);
    window.lancamIpc = ipc as unknown as PreloadApi;
    const state = await connectApi();
    expect(state.kind).toBe('ready');
    if (state.kind !== 'ready') return;
    expect(state.transport).toBe('electron');
    expect(await state.api.listDevices()).toBe('listDevices-result');
    expect(await state.api.pairingOffer('cam-1')).toBe('pairingOffer-result');
    expect(calls).toEqual([['listDevices'], ['pairingOffer', 'cam-1']]);
    const wrong = await state.api.pair({ deviceId: 'cam-1', password: 'x' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(ApiError);
    expect((wrong as ApiError).status).toBe(401);
    expect(plainError(wrong, 'pairing').message).toContain('The password is wrong');
    expect(((await state.api.forget('cam-1').catch((e: unknown) => e)) as ApiError).status).toBe('device-key-changed');
    const odd = (await state.api.access('cam-1').catch((e: unknown) => e)) as ApiError;
    expect([odd instanceof ApiError, odd.status]).toEqual([true, 'ipc']);
    const thrown = (await state.api.listUsers('cam-1').catch((e: unknown) => e)) as ApiError;
    expect([thrown instanceof ApiError, thrown.status, thrown.message]).toEqual([true, 'ipc', 'Error invoking remote method: boom']);
    state.api.on('devices', () => undefined)();
    expect(calls.at(-1)).toEqual(['off', 'devices']);
  });

  it('without Electron and without a token, says to open the address `lancam ui` printed', async () => {
    const state = await connectApi();
    expect(state).toEqual({ kind: 'no-token' });
    if (state.kind !== 'no-token') return;
    render(<ConnectionProblem state={state} />);
    expect(screen.getByRole('alert').textContent).toContain('Open the address that lancam ui printed');
  });

  it('takes the token out of the address bar, sends it first, and explains a refused token', async () => {
    // A stand-in WebSocket: the companion refuses the token (close code 4401).
    const sockets: { url: string; sent: string[] }[] = [];
    class RefusingSocket {
      static readonly OPEN = 1;
      readyState = 0;
      sent: string[] = [];
      onopen: (() => void) | null = null;
      onerror: (() => void) | null = null;
      onclose: ((event: { code: number }) => void) | null = null;
      onmessage: (() => void) | null = null;
      constructor(readonly url: string) {
        sockets.push(this);
        setTimeout(() => this.onopen?.(), 0);
      }
      send(data: string) {
        this.sent.push(data);
        setTimeout(() => this.onclose?.({ code: 4401 }), 0);
      }
    }
    const realSocket = globalThis.WebSocket;
    globalThis.WebSocket = RefusingSocket as unknown as typeof WebSocket;
    try {
      window.location.hash = '#token=abcDEF123_-';
      const state = await connectApi();
      expect(window.location.hash).toBe('');
      expect(sockets).toHaveLength(1);
      expect(sockets[0]!.url).toMatch(/^ws:\/\/.*\/api$/);
      expect(sockets[0]!.sent.map((m) => JSON.parse(m) as unknown)).toEqual([{ type: 'hello', token: 'abcDEF123_-' }]);
      expect(state.kind).toBe('failed');
      if (state.kind !== 'failed') return;
      render(<ConnectionProblem state={state} />);
      expect(screen.getByTestId('connect-error').textContent).toContain('access token is not valid');
    } finally {
      globalThis.WebSocket = realSocket;
    }
  });
});

describe('plain-language errors', () => {
  it('keeps the technical reason as the detail', () => {
    expect(plainError(new ApiError(429, 'too many failed attempts; wait'), 'pairing')).toEqual({ message: expect.stringContaining('Too many attempts'), detail: 'too many failed attempts; wait', status: 429 });
  });

  it('tells a missing camera from a lost companion', () => {
    expect(plainError(new ApiError('unreachable', 'nothing listens at 127.0.0.1:1 (connection refused)')).message).toContain('Could not reach the camera');
    expect(plainError(new ApiError('closed', 'the lancam companion closed the connection')).message).toContain('Lost the connection to the lancam companion');
  });

  it('names the changed key', () => {
    expect(plainError(new ApiError('device-key-changed', 'device key changed: …')).message).toBe('This camera presented a different key than the one you paired with. Someone may be impersonating it. Video and settings are blocked.');
  });
});
