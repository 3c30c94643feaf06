// @vitest-environment jsdom
/** The camera list: groups, statuses, grouped fingerprints, users and roles, the changed-key warning, and the identity footer. */
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../src/renderer/app/App';
import { camera, FakeApi, FP_CAMERA_1, FP_CAMERA_2, FP_ME, FP_OTHER } from './fake-api';

afterEach(cleanup);

function setup(configure: (api: FakeApi) => void = () => undefined) {
  const api = new FakeApi();
  api.devices = [
    camera({ deviceId: 'de-front', friendlyName: 'Front door', paired: true, username: 'admin', role: 'Administrator', pinnedFingerprint: FP_CAMERA_1 }),
    camera({ deviceId: 'de-attic', friendlyName: 'Attic', paired: true, username: 'alice', role: 'Guest', status: 'offline', pinnedFingerprint: FP_CAMERA_2, fingerprint: FP_CAMERA_2 }),
    camera({ deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2 }),
  ];
  configure(api);
  render(<App api={api} />);
  return api;
}

describe('device list', () => {
  it('groups paired cameras and the ones found on the network, with status, user, role and grouped fingerprint', async () => {
    setup();
    const paired = await screen.findByTestId('devices-paired');
    const found = screen.getByTestId('devices-found');
    expect(within(paired).getByTestId('device-card-de-front')).toBeTruthy();
    expect(within(paired).getByTestId('device-card-de-attic')).toBeTruthy();
    expect(within(found).getByTestId('device-card-de-garden')).toBeTruthy();
    expect(within(paired).queryByTestId('device-card-de-garden')).toBeNull();

    expect(screen.getByTestId('device-status-de-front').textContent).toBe('Online');
    expect(screen.getByTestId('device-status-de-attic').textContent).toBe('Offline');
    expect(screen.getByTestId('device-user-de-front').textContent).toBe('You are adminAdministrator');
    expect(screen.getByTestId('device-user-de-attic').textContent).toContain('alice');

    const fp = screen.getByTestId('device-fingerprint-de-front');
    expect(fp.getAttribute('data-fingerprint')).toBe(FP_CAMERA_1);
    expect([...fp.querySelectorAll('.fingerprint__group')].map((g) => g.textContent!.trim())).toEqual(FP_CAMERA_1.match(/.{4}/g));

    // What each kind of camera offers.
    expect(screen.getByTestId('device-watch-de-front')).toBeTruthy();
    expect(screen.getByTestId('device-access-de-front')).toBeTruthy();
    expect((screen.getByTestId('device-watch-de-attic') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByTestId('device-pair-de-garden')).toBeTruthy();
    expect(screen.queryByTestId('device-watch-de-garden')).toBeNull();
  });

  it('says so when the owner removed this client, and offers no watching', async () => {
    setup((a) => {
      a.devices = [camera({ deviceId: 'de-front', friendlyName: 'Front door', paired: true, status: 'revoked', username: 'bob', role: 'Guest', pinnedFingerprint: FP_CAMERA_1 })];
    });
    expect((await screen.findByTestId('device-status-de-front')).textContent).toBe('Access removed');
    expect(screen.getByTestId('device-revoked-de-front').textContent).toContain('removed your access');
    expect((screen.getByTestId('device-watch-de-front') as HTMLButtonElement).disabled).toBe(true);
    // Nothing to manage once removed (and a Guest has nothing to manage anyway).
    expect(screen.queryByTestId('device-access-de-front')).toBeNull();
  });

  it('lets a camera off this network be watched through the relay when this client has remote access', async () => {
    setup((a) => {
      a.devices = [
        camera({ deviceId: 'de-away', friendlyName: 'Cabin', paired: true, status: 'offline', remoteAccess: true, pinnedFingerprint: FP_CAMERA_1 }),
        camera({ deviceId: 'de-gone', friendlyName: 'Shed', paired: true, status: 'offline', pinnedFingerprint: FP_CAMERA_2, fingerprint: FP_CAMERA_2 }),
      ];
    });
    expect((await screen.findByTestId('device-watch-de-away') as HTMLButtonElement).disabled).toBe(false);
    expect(screen.getByTestId('device-offline-hint-de-away').textContent).toContain('through the relay');
    expect((screen.getByTestId('device-watch-de-gone') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByTestId('device-offline-hint-de-gone').textContent).toContain('not answering');
    expect((screen.getByTestId('device-access-de-away') as HTMLButtonElement).disabled).toBe(true);
  });

  it('stores a pasted remote-access string instead of pairing with it', async () => {
    const api = setup((a) => {
      a.devices = [camera({ deviceId: 'de-garden', friendlyName: 'Garden', paired: true, fingerprint: FP_CAMERA_1 })];
    });
    const access = `lancam-remote:d=de-garden,fp=${FP_CAMERA_1},kid=AAAAAAAAAAAAAAAAAAAAAA,sec=${'B'.repeat(43)},relay=wss%3A%2F%2Frelay.example%3A5593`;
    fireEvent.change(await screen.findByTestId('invitation-input'), { target: { value: access } });
    fireEvent.click(screen.getByTestId('invitation-submit'));
    await waitFor(() => expect(api.callsOf('addRemoteAccess')).toEqual([[access]]));
    expect(api.callsOf('pair')).toEqual([]);
    expect(screen.queryByTestId('pairing-dialog')).toBeNull();
    expect(await screen.findByText(/Stored remote access to Garden/)).toBeTruthy();
  });

  it('refuses a malformed remote-access string before sending anything', async () => {
    const api = setup();
    fireEvent.change(await screen.findByTestId('invitation-input'), { target: { value: 'lancam-remote:d=de-x,fp=abc' } });
    fireEvent.click(screen.getByTestId('invitation-submit'));
    expect((await screen.findByTestId('invitation-error')).textContent).toContain('not valid');
    expect(api.callsOf('addRemoteAccess')).toEqual([]);
  });

  it('follows the companion\'s devices events', async () => {
    const api = setup();
    await screen.findByTestId('device-card-de-garden');
    act(() => api.emit('devices', [camera({ deviceId: 'de-garden', friendlyName: 'Garden', paired: true, username: 'bob', role: 'Standard' })]));
    expect(within(screen.getByTestId('devices-paired')).getByTestId('device-card-de-garden')).toBeTruthy();
    expect(screen.queryByTestId('device-card-de-front')).toBeNull();
  });

  it('shows a loud warning for a camera whose key changed, with both keys, blocks it, and forgets it only when asked', async () => {
    const api = setup((a) => {
      a.devices[0] = { ...a.devices[0]!, status: 'key-changed', fingerprint: FP_OTHER, pinnedFingerprint: FP_CAMERA_1 };
    });
    const warning = await screen.findByTestId('key-changed-de-front');
    expect(warning.getAttribute('role')).toBe('alert');
    expect(warning.textContent).toContain('This camera presented a different key than the one you paired with. Someone may be impersonating it. Video and settings are blocked.');
    expect(within(warning).getByTestId('key-changed-pinned-de-front').getAttribute('data-fingerprint')).toBe(FP_CAMERA_1);
    expect(within(warning).getByTestId('key-changed-presented-de-front').getAttribute('data-fingerprint')).toBe(FP_OTHER);
    expect(screen.getByTestId('device-status-de-front').textContent).toBe('Key changed');
    // Video and access control are not offered; nothing re-pairs by itself.
    expect(screen.queryByTestId('device-watch-de-front')).toBeNull();
    expect(screen.queryByTestId('device-access-de-front')).toBeNull();
    expect(api.callsOf('pair')).toEqual([]);

    fireEvent.click(within(warning).getByTestId('key-changed-forget-de-front'));
    const confirm = await screen.findByTestId('confirm-dialog');
    expect(confirm.textContent).toContain('Only do this if you replaced or reset the camera yourself');
    expect(api.callsOf('forget')).toEqual([]);
    fireEvent.click(within(confirm).getByTestId('confirm-ok'));
    await waitFor(() => expect(api.callsOf('forget')).toEqual([['de-front']]));
    await waitFor(() => expect(screen.queryByTestId('confirm-dialog')).toBeNull());
  });

  it('shows this install\'s identity, and warns when its key is not encrypted', async () => {
    setup((a) => {
      a.identityView = { fingerprint: FP_ME, keyProtection: 'unprotected', keyProtectionNote: 'safeStorage uses basic_text on this desktop' };
    });
    const fp = await screen.findByTestId('identity-fingerprint');
    expect(fp.getAttribute('data-fingerprint')).toBe(FP_ME);
    expect(screen.getByTestId('identity-protection').getAttribute('data-protection')).toBe('unprotected');
    const warning = screen.getByTestId('identity-warning');
    expect(warning.textContent).toContain('Your key is stored without encryption on this computer');
    expect(warning.textContent).toContain('basic_text');
  });

  it('has no key warning when the key is protected', async () => {
    setup();
    await screen.findByTestId('identity-fingerprint');
    expect(screen.queryByTestId('identity-warning')).toBeNull();
  });
});
