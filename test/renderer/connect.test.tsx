// @vitest-environment jsdom
/** Where the renderer gets its API: Electron's preload, else the harness token; else a clear full-page message. */
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { connectApi } from '../../src/renderer/api/connect';
import { ConnectionProblem } from '../../src/renderer/app/ConnectionProblem';
import { plainError } from '../../src/renderer/api/errors';
import { ApiError } from '../../src/shared/ui/api';
import { FakeApi } from './fake-api';

afterEach(() => {
  cleanup();
  delete window.lancam;
  window.location.hash = '';
});

describe('connecting to the companion', () => {
  it('uses the preload\'s window.lancam inside Electron', async () => {
    const api = new FakeApi();
    window.lancam = api;
    expect(await connectApi()).toEqual({ kind: 'ready', api, transport: 'electron' });
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
