// @vitest-environment jsdom
/** The live grid with the real LiveVideo over a fake API: revocation, reconnection, a changed key, closing a tile. */
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/shared/ui/api';
import { App } from '../../src/renderer/app/App';
import { camera, FakeApi, FP_CAMERA_1, FP_OTHER } from './fake-api';

afterEach(cleanup);

async function watch(configure: (api: FakeApi) => void = () => undefined) {
  const api = new FakeApi();
  api.devices = [camera({ deviceId: 'de-front', friendlyName: 'Front door', paired: true, username: 'bob', role: 'Standard', pinnedFingerprint: FP_CAMERA_1 })];
  configure(api);
  render(<App api={api} />);
  fireEvent.click(await screen.findByTestId('device-watch-de-front'));
  const tile = await screen.findByTestId('live-tile-de-front');
  await waitFor(() => expect(api.callsOf('sendVideoSignal').length).toBeGreaterThan(0));
  return { api, tile };
}

describe('live view', () => {
  it('asks the camera for video through the API', async () => {
    const { api, tile } = await watch();
    expect(api.callsOf('openVideo')).toEqual([['de-front']]);
    // A tile shown small (jsdom lays nothing out: 0 px wide) asks for the sub stream (stream-choice.ts).
    expect(api.callsOf('sendVideoSignal')[0]).toEqual(['s1', { type: 'SETUP_REQUEST', stream: 'sub' }]);
    expect(tile.getAttribute('data-phase')).toBe('connecting');
    expect(within(tile).getByTestId('live-message-de-front').textContent).toContain('Connecting');
    expect((within(tile).getByTestId('live-snapshot-de-front') as HTMLButtonElement).disabled).toBe(true);
  });

  it('says the access was removed when the camera ends the video for that reason, and does not retry', async () => {
    const { api, tile } = await watch();
    act(() => api.emit('videoSignal', { sessionId: 's1', message: { type: 'CLOSE', reason: 'access revoked' } }));
    await waitFor(() => expect(tile.getAttribute('data-phase')).toBe('revoked'));
    expect(within(tile).getByTestId('live-message-de-front').textContent).toContain('Your access to this camera was removed');
    await new Promise((r) => setTimeout(r, 1300));
    expect(api.callsOf('openVideo')).toHaveLength(1);
  });

  it('treats a refused video request (403) as removed access', async () => {
    const { tile, api } = await watch((a) => {
      a.sendVideoSignalImpl = async () => {
        throw new ApiError(403, 'not allowed');
      };
    });
    await waitFor(() => expect(tile.getAttribute('data-phase')).toBe('revoked'));
    expect(api.callsOf('openVideo')).toHaveLength(1);
  });

  it('shows "Reconnecting…" and tries again when the video ends for another reason', async () => {
    const { api, tile } = await watch();
    act(() => api.emit('videoSignal', { sessionId: 's1', message: { type: 'CLOSE', reason: 'the camera is restarting' } }));
    await waitFor(() => expect(tile.getAttribute('data-phase')).toBe('reconnecting'));
    const message = within(tile).getByTestId('live-message-de-front').textContent!;
    expect(message).toContain('Reconnecting…');
    expect(message).toContain('The camera is restarting');
    await waitFor(() => expect(api.callsOf('openVideo')).toHaveLength(2), { timeout: 3000 });
  });

  it('blocks the tile when the camera\'s key changes', async () => {
    const { api, tile } = await watch();
    act(() => api.emit('devices', [{ ...api.devices[0]!, status: 'key-changed', fingerprint: FP_OTHER }]));
    await waitFor(() => expect(tile.getAttribute('data-phase')).toBe('key-changed'));
    expect(within(tile).getByTestId('live-message-de-front').textContent).toContain('the camera\'s key has changed');
    expect(api.callsOf('closeVideo')).toEqual([['s1']]);
  });

  it('ends a session that opens only after the viewer closed the tile, without asking for video', async () => {
    const api = new FakeApi();
    api.devices = [camera({ deviceId: 'de-front', friendlyName: 'Front door', paired: true, username: 'bob', role: 'Standard', pinnedFingerprint: FP_CAMERA_1 })];
    let open: (value: { sessionId: string }) => void = () => undefined;
    api.openVideoImpl = () => new Promise((resolve) => (open = resolve));
    render(<App api={api} />);
    fireEvent.click(await screen.findByTestId('device-watch-de-front'));
    const tile = await screen.findByTestId('live-tile-de-front');
    await waitFor(() => expect(api.callsOf('openVideo')).toHaveLength(1));
    fireEvent.click(within(tile).getByTestId('live-close-de-front'));
    await waitFor(() => expect(screen.queryByTestId('live-tile-de-front')).toBeNull());
    await act(async () => open({ sessionId: 'late' }));
    await waitFor(() => expect(api.callsOf('closeVideo')).toEqual([['late']]));
    expect(api.callsOf('sendVideoSignal')).toEqual([]);
    expect(api.listenerCount('videoSignal')).toBe(0);
  });

  it('closes a tile and its session', async () => {
    const { api, tile } = await watch();
    fireEvent.click(within(tile).getByTestId('live-close-de-front'));
    await waitFor(() => expect(screen.queryByTestId('live-tile-de-front')).toBeNull());
    expect(api.callsOf('closeVideo')).toEqual([['s1']]);
    expect(api.listenerCount('videoSignal')).toBe(0);
  });
});
