// @vitest-environment jsdom
/**
 * Issue 13 in the components: the bugs a user hit in the first week (each test failed before the
 * fix) and the live view's new behaviour that jsdom can show. The real-browser story is
 * test/browser/desktop-app.test.ts.
 */
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, type DeviceEntry } from '../../src/shared/ui/api';
import { App } from '../../src/renderer/app/App';
import { camera, FakeApi, FP_CAMERA_1, FP_CAMERA_2, FP_OTHER } from './fake-api';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

const front = (over: Partial<DeviceEntry> = {}) => camera({ deviceId: 'de-front', friendlyName: 'Front door', paired: true, username: 'bob', role: 'Standard', pinnedFingerprint: FP_CAMERA_1, ...over });

function start(configure: (api: FakeApi) => void = () => undefined) {
  const api = new FakeApi();
  api.devices = [front()];
  configure(api);
  render(<App api={api} />);
  return api;
}

describe('bugs from the first week', () => {
  it('1: a camera that knows this client (after Forget) offers to re-pin its key, showing the old and the new key, and re-pins', async () => {
    const api = start((a) => {
      a.devices = [camera({ deviceId: 'de-front', friendlyName: 'Front door', fingerprint: FP_CAMERA_2 })];
      a.offers.set('de-front', { deviceId: 'de-front', friendlyName: 'Front door', fingerprint: FP_CAMERA_2, modes: [], paired: false, knownUser: { username: 'bob', role: 'Guest' }, previousFingerprint: FP_CAMERA_1 });
      a.pairImpl = async () => ({ deviceId: 'de-front', friendlyName: 'Front door', fingerprint: FP_CAMERA_2, username: 'bob', role: 'Guest', alreadyPaired: true });
    });
    fireEvent.click(await screen.findByTestId('device-pair-de-front'));
    const dialog = await screen.findByTestId('pairing-dialog');
    expect((await within(dialog).findByTestId('pairing-fingerprint')).getAttribute('data-fingerprint')).toBe(FP_CAMERA_2);
    expect(within(dialog).getByTestId('pairing-previous-fingerprint').getAttribute('data-fingerprint')).toBe(FP_CAMERA_1);
    expect(within(dialog).getByTestId('pairing-known-user').textContent).toContain('bob');
    expect(within(dialog).queryByTestId('pairing-no-modes')).toBeNull();
    fireEvent.click(within(dialog).getByTestId('pairing-continue'));
    fireEvent.click(await within(dialog).findByTestId('pairing-repin-confirm'));
    await within(dialog).findByTestId('pairing-done');
    expect(api.callsOf('pair')).toEqual([[{ deviceId: 'de-front', mode: 'auto' }]]);
  });

  it('2: the pairing window closing keeps the button option and what was typed, and says how to reopen it', async () => {
    const api = start((a) => {
      a.devices = [camera({ deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2 })];
      a.offers.set('de-garden', { deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2, modes: ['local-open', 'password-invite'], paired: false, pairingWindowSeconds: 100 });
    });
    fireEvent.click(await screen.findByTestId('device-pair-de-garden'));
    const dialog = await screen.findByTestId('pairing-dialog');
    fireEvent.click(await within(dialog).findByTestId('pairing-continue'));
    const username = (await within(dialog).findByTestId('pairing-username')) as HTMLInputElement;
    fireEvent.change(username, { target: { value: 'carol' } });
    // The window closes: the camera offers invitations only now.
    api.offers.set('de-garden', { deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2, modes: ['password-invite'], paired: false });
    act(() => api.emit('pairingWindow', { deviceId: 'de-garden', open: false, seconds: 0 }));
    expect((await within(dialog).findByTestId('pairing-window-closed')).textContent).toMatch(/pairing window closed.*again to reopen/i);
    expect(within(dialog).getByTestId('pairing-mode-local-open')).toBeTruthy();
    expect((within(dialog).getByTestId('pairing-mode-local-open').querySelector('input') as HTMLInputElement).checked).toBe(true);
    expect((within(dialog).getByTestId('pairing-username') as HTMLInputElement).value).toBe('carol');
    expect(within(dialog).queryByTestId('pairing-password')).toBeNull();
    expect((within(dialog).getByTestId('pairing-submit') as HTMLButtonElement).disabled).toBe(true);
  });

  it('2: a camera that already has an owner says it has a pairing button', async () => {
    start((a) => {
      a.devices = [camera({ deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2 })];
      a.offers.set('de-garden', { deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2, modes: ['password-invite'], paired: false });
    });
    fireEvent.click(await screen.findByTestId('device-pair-de-garden'));
    fireEvent.click(await screen.findByTestId('pairing-continue'));
    expect((await screen.findByTestId('pairing-button-exists')).textContent).toContain('pairing button');
  });

  it('3: button pairing names the role the camera gives (OpenPairingRole), not "standard"', async () => {
    start((a) => {
      a.devices = [camera({ deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2 })];
      a.offers.set('de-garden', { deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2, modes: ['local-open'], paired: false, pairingWindowSeconds: 90, openPairingRole: 'Guest' });
    });
    fireEvent.click(await screen.findByTestId('device-pair-de-garden'));
    fireEvent.click(await screen.findByTestId('pairing-continue'));
    const option = await screen.findByTestId('pairing-mode-local-open');
    expect(option.textContent).toContain('You get the role Guest.');
    expect(option.textContent).not.toMatch(/standard role/i);
  });

  it('5: the role on a camera card follows the camera', async () => {
    const api = start();
    expect((await screen.findByTestId('device-user-de-front')).textContent).toContain('Standard');
    act(() => api.emit('devices', [front({ role: 'Guest' })]));
    await waitFor(() => expect(screen.getByTestId('device-user-de-front').textContent).toContain('Guest'));
  });

  it('6: the reconnect countdown counts from the failure, not from when the tile opened, with one full stop', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const api = start();
    fireEvent.click(await screen.findByTestId('device-watch-de-front'));
    const tile = await screen.findByTestId('live-tile-de-front');
    await waitFor(() => expect(api.callsOf('sendVideoSignal').length).toBeGreaterThan(0));
    // The tile has been open for 30 s when the camera restarts.
    vi.setSystemTime(Date.now() + 30_000);
    act(() => api.emit('videoSignal', { sessionId: 's1', message: { type: 'CLOSE', reason: 'the camera is restarting.' } }));
    const retry = await within(tile).findByTestId('live-retry-de-front');
    expect(Number(retry.getAttribute('data-retry-in'))).toBeLessThanOrEqual(1);
    expect(retry.textContent).toBe('The camera is restarting. Next try in 1 s (attempt 1).');
    expect(retry.textContent).not.toContain('..');
  });

  it('7: after a wrong password the focus goes to the password, selected to retype', async () => {
    start((a) => {
      a.devices = [camera({ deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2 })];
      a.offers.set('de-garden', { deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2, modes: ['password-invite'], paired: false });
      a.pairImpl = async () => {
        throw new ApiError(401, 'wrong password (401)');
      };
    });
    fireEvent.click(await screen.findByTestId('device-pair-de-garden'));
    fireEvent.click(await screen.findByTestId('pairing-continue'));
    fireEvent.change(await screen.findByTestId('pairing-username'), { target: { value: 'carol' } });
    fireEvent.change(screen.getByTestId('pairing-password'), { target: { value: 'wrong-one' } });
    fireEvent.click(screen.getByTestId('pairing-submit'));
    await screen.findByTestId('pairing-error');
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('pairing-password')));
    expect((document.activeElement as HTMLInputElement).type).toBe('password');
  });

  it('7: a lockout shows the camera\'s real countdown and keeps Pair disabled until it ends', async () => {
    start((a) => {
      a.devices = [camera({ deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2 })];
      a.offers.set('de-garden', { deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2, modes: ['password-invite'], paired: false });
      a.pairImpl = async () => {
        throw new ApiError(429, 'too many password attempts; try again in 68 s (429)');
      };
    });
    fireEvent.click(await screen.findByTestId('device-pair-de-garden'));
    fireEvent.click(await screen.findByTestId('pairing-continue'));
    fireEvent.change(await screen.findByTestId('pairing-username'), { target: { value: 'carol' } });
    fireEvent.change(screen.getByTestId('pairing-password'), { target: { value: 'guess-1' } });
    fireEvent.click(screen.getByTestId('pairing-submit'));
    const error = await screen.findByTestId('pairing-error');
    expect(error.textContent).toContain('1 min 08 s');
    expect(error.textContent).not.toContain('a few minutes');
    expect((screen.getByTestId('pairing-submit') as HTMLButtonElement).disabled).toBe(true);
    await waitFor(() => expect(Number(screen.getByTestId('pairing-lockout').getAttribute('data-seconds'))).toBeLessThan(68), { timeout: 2500 });
  });

  it('8: a confirmation starts on the safe choice, so Enter does not remove anything', async () => {
    const api = start((a) => {
      a.devices = [front({ username: 'admin', role: 'Administrator' })];
      a.accessViews.set('de-front', { me: { username: 'admin', role: 'Administrator', fingerprints: [] }, canManageUsers: true, canManageSettings: false, roles: ['Administrator', 'Standard', 'Guest'] });
      a.users.set('de-front', [
        { username: 'admin', role: 'Administrator', fingerprints: [] },
        { username: 'bob', role: 'Guest', fingerprints: [{ fingerprint: FP_OTHER, name: 'bob@laptop' }] },
      ]);
    });
    fireEvent.click(await screen.findByTestId('device-access-de-front'));
    fireEvent.click(await screen.findByTestId('user-remove-bob'));
    const dialog = await screen.findByTestId('confirm-dialog');
    expect(document.activeElement).toBe(within(dialog).getByTestId('confirm-cancel'));
    // Enter on the focused button activates it: Cancel.
    fireEvent.click(document.activeElement!);
    await waitFor(() => expect(screen.queryByTestId('confirm-dialog')).toBeNull());
    expect(api.callsOf('removeUser')).toEqual([]);
  });

  it('12: no "Watching" on an offline or revoked camera, and the live badge counts only what shows', async () => {
    const api = start();
    fireEvent.click(await screen.findByTestId('device-watch-de-front'));
    await screen.findByTestId('live-tile-de-front');
    expect(screen.getByTestId('nav-live-count').textContent).toBe('1');
    fireEvent.click(screen.getByTestId('nav-devices'));
    expect(screen.getByTestId('device-watch-de-front').textContent).toBe('Watching');
    act(() => api.emit('devices', [front({ status: 'revoked' })]));
    await waitFor(() => expect(screen.getByTestId('device-watch-de-front').textContent).toBe('Watch'));
    expect(screen.queryByTestId('nav-live-count')).toBeNull();
    act(() => api.emit('devices', [front({ status: 'offline' })]));
    await waitFor(() => expect(screen.getByTestId('device-watch-de-front').getAttribute('aria-pressed')).toBe('false'));
  });

  it('12: no "Manage access" for a Guest, who has nothing to manage', async () => {
    start((a) => {
      a.devices = [front({ role: 'Guest' }), camera({ deviceId: 'de-back', friendlyName: 'Back', paired: true, username: 'bob', role: 'Standard', pinnedFingerprint: FP_CAMERA_2, fingerprint: FP_CAMERA_2 })];
    });
    await screen.findByTestId('device-card-de-front');
    expect(screen.queryByTestId('device-access-de-front')).toBeNull();
    expect(screen.getByTestId('device-access-de-back')).toBeTruthy();
  });

  it('12: the discovery spinner stops and says what to do', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    start();
    await vi.waitFor(() => expect(screen.getByTestId('device-card-de-front')).toBeTruthy());
    expect(screen.getByTestId('devices-searching').getAttribute('data-searching')).toBe('true');
    await act(async () => vi.advanceTimersByTime(9000));
    const searching = screen.getByTestId('devices-searching');
    expect(searching.getAttribute('data-searching')).toBe('false');
    expect(searching.querySelector('.spinner')).toBeNull();
    expect(searching.textContent).toContain('add it by address');
  });

  it('13: keys show their names and when they were added, and can be renamed', async () => {
    const api = start((a) => {
      a.devices = [front({ username: 'admin', role: 'Administrator' })];
      a.accessViews.set('de-front', { me: { username: 'admin', role: 'Administrator', fingerprints: [] }, canManageUsers: true, canManageSettings: false, roles: ['Administrator', 'Standard', 'Guest'] });
      a.users.set('de-front', [
        { username: 'admin', role: 'Administrator', fingerprints: [], watchingNow: true },
        { username: 'bob', role: 'Guest', fingerprints: [{ fingerprint: FP_OTHER, name: 'bob@laptop', addedAt: new Date(Date.now() - 5 * 60_000).toISOString() }], lastSeenAt: new Date(Date.now() - 2 * 3600_000).toISOString() },
      ]);
    });
    fireEvent.click(await screen.findByTestId('device-access-de-front'));
    const short = FP_OTHER.slice(0, 8);
    const key = await screen.findByTestId(`key-bob-${short}`);
    expect(key.textContent).toContain('bob@laptop');
    expect(key.textContent).toContain('added 5 min ago');
    expect(screen.getByTestId('user-seen-admin').textContent).toBe('Watching now');
    expect(screen.getByTestId('user-seen-bob').textContent).toBe('Last seen 2 h ago');
    fireEvent.click(screen.getByTestId(`key-rename-bob-${short}`));
    fireEvent.change(screen.getByTestId(`key-name-input-bob-${short}`), { target: { value: 'Bob\'s phone' } });
    fireEvent.click(screen.getByTestId(`key-name-save-bob-${short}`));
    await waitFor(() => expect(api.callsOf('renameKey')).toEqual([['de-front', 'bob', FP_OTHER, 'Bob\'s phone']]));
  });
});

describe('the live view', () => {
  it('remembers the open cameras in the companion and reopens them', async () => {
    const api = start((a) => {
      a.devices = [front(), camera({ deviceId: 'de-back', friendlyName: 'Back', paired: true, username: 'bob', role: 'Standard', pinnedFingerprint: FP_CAMERA_2, fingerprint: FP_CAMERA_2 })];
      a.liveLayout = { open: ['de-back', 'de-front'] };
    });
    fireEvent.click(await screen.findByTestId('nav-live'));
    const grid = await screen.findByTestId('live-grid');
    await waitFor(() => expect([...grid.querySelectorAll('[data-testid^="live-tile-"]')].map((t) => t.getAttribute('data-testid'))).toEqual(['live-tile-de-back', 'live-tile-de-front']));
    fireEvent.click(within(grid).getByTestId('live-close-de-back'));
    await waitFor(() => expect(api.liveLayout).toEqual({ open: ['de-front'] }));
  });

  it('does not restart streams when switching pages', async () => {
    const api = start();
    fireEvent.click(await screen.findByTestId('device-watch-de-front'));
    await screen.findByTestId('live-tile-de-front');
    await waitFor(() => expect(api.callsOf('openVideo')).toHaveLength(1));
    fireEvent.click(screen.getByTestId('nav-devices'));
    fireEvent.click(screen.getByTestId('nav-live'));
    fireEvent.click(screen.getByTestId('nav-devices'));
    expect(screen.getByTestId('live-tile-de-front')).toBeTruthy();
    expect(api.callsOf('closeVideo')).toEqual([]);
    expect(api.callsOf('openVideo')).toHaveLength(1);
  });

  it('lists its keys in a help overlay opened with ?', async () => {
    start();
    fireEvent.click(await screen.findByTestId('device-watch-de-front'));
    await screen.findByTestId('live-tile-de-front');
    fireEvent.keyDown(window, { key: '?' });
    const help = await screen.findByTestId('shortcuts-help');
    for (const text of ['1 – 9', 'S', 'F or double-click', 'Esc', '?']) expect(help.textContent).toContain(text);
    fireEvent.keyDown(help, { key: 'Escape' });
    await waitFor(() => expect(screen.queryByTestId('shortcuts-help')).toBeNull());
  });

  it('number keys select a tile, and [ ] move it', async () => {
    const api = start((a) => {
      a.devices = [front(), camera({ deviceId: 'de-back', friendlyName: 'Back', paired: true, username: 'bob', role: 'Standard', pinnedFingerprint: FP_CAMERA_2, fingerprint: FP_CAMERA_2 })];
      a.liveLayout = { open: ['de-front', 'de-back'] };
    });
    fireEvent.click(await screen.findByTestId('nav-live'));
    await screen.findByTestId('live-tile-de-back');
    fireEvent.keyDown(window, { key: '2' });
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('live-tile-de-back')));
    expect(screen.getByTestId('live-tile-de-back').className).toContain('live-tile--selected');
    // [ moves the selected tile earlier: the keyboard's way to reorder.
    fireEvent.keyDown(window, { key: '[' });
    const grid = screen.getByTestId('live-grid');
    await waitFor(() => expect([...grid.querySelectorAll('[data-testid^="live-tile-"]')].map((t) => t.getAttribute('data-testid'))).toEqual(['live-tile-de-back', 'live-tile-de-front']));
    await waitFor(() => expect(api.liveLayout).toEqual({ open: ['de-back', 'de-front'] }));
  });

  it('adds a camera by address from the Cameras page, and refuses what is not an address', async () => {
    const api = start();
    const box = await screen.findByTestId('add-by-address');
    fireEvent.change(within(box).getByTestId('add-address-input'), { target: { value: 'http://evil/x' } });
    fireEvent.click(within(box).getByTestId('add-address-submit'));
    expect((await within(box).findByTestId('add-address-error')).textContent).toContain('not an address');
    expect(api.callsOf('addDeviceByAddress')).toEqual([]);
    fireEvent.change(within(box).getByTestId('add-address-input'), { target: { value: '192.168.7.20:6000' } });
    fireEvent.click(within(box).getByTestId('add-address-submit'));
    await waitFor(() => expect(api.callsOf('addDeviceByAddress')).toEqual([['192.168.7.20', 6000]]));
  });
});
