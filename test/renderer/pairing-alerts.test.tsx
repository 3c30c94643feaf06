// @vitest-environment jsdom
/**
 * Issue 10 item 2, the desktop side: an administrator sees the key that just paired (camera, user,
 * role, grouped key, key name, when, from where) and removes it in one step with the safe choice
 * focused; the overlap and late-attempt alerts in plain words; the recent pairings on Access.
 */
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import axe from 'axe-core';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../src/renderer/app/App';
import { groupFingerprint } from '../../src/shared/fingerprint';
import type { PairingRecordView } from '../../src/shared/ui/api';
import { camera, FakeApi, FP_CAMERA_2, FP_ME, FP_OTHER } from './fake-api';

afterEach(cleanup);

/** axe-core over the page (jsdom: structure, names and roles; colour contrast is checked in Chromium by test/browser). */
async function axeViolations(): Promise<string[]> {
  const result = await axe.run(document.body, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, rules: { 'color-contrast': { enabled: false } }, resultTypes: ['violations'] });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

const EVE: PairingRecordView = {
  deviceId: 'de-front',
  at: new Date().toISOString(),
  username: 'eve',
  role: 'Guest',
  fingerprint: FP_OTHER,
  fingerprintName: 'kitchen tablet',
  mode: 'local-open',
  remoteAddress: '192.168.1.77',
  createdUser: true,
};

function setup() {
  const api = new FakeApi();
  api.devices = [camera({ deviceId: 'de-front', friendlyName: 'Front door', paired: true, username: 'admin', role: 'Administrator' })];
  api.accessViews.set('de-front', { me: { username: 'admin', role: 'Administrator', fingerprints: [{ fingerprint: FP_ME }] }, roles: ['Administrator', 'Standard', 'Guest'], canManageUsers: true, canManageSettings: true });
  api.users.set('de-front', [
    { username: 'admin', role: 'Administrator', fingerprints: [{ fingerprint: FP_ME }] },
    { username: 'eve', role: 'Guest', fingerprints: [{ fingerprint: FP_OTHER, name: 'kitchen tablet' }] },
  ]);
  api.pairings.set('de-front', [{ ...EVE, username: 'admin', role: 'Administrator', fingerprint: FP_ME, mode: 'local-initial', createdUser: true, fingerprintName: 'laptop', remoteAddress: '192.168.1.2' }, EVE]);
  render(<App api={api} />);
  return api;
}

describe('pairing alerts', () => {
  it('shows the key that paired in full, and Remove undoes exactly that pairing after a confirmation that focuses Cancel', async () => {
    const api = setup();
    await screen.findByTestId('device-card-de-front');
    await waitFor(() => expect(api.listenerCount('paired')).toBeGreaterThan(0));
    api.emit('paired', EVE);
    const alert = await screen.findByTestId('pairing-alert-paired');
    expect(alert.getAttribute('role')).toBe('alert');
    const text = alert.textContent!;
    expect(text).toContain('A new key paired with Front door');
    expect(text).toContain('eve');
    expect(text).toContain('(Guest)');
    expect(text).toContain('with the pairing button');
    expect(text).toContain('192.168.1.77');
    expect(text).toContain('"kitchen tablet"');
    expect(within(alert).getByTestId('pairing-alert-fingerprint').textContent).toContain(groupFingerprint(FP_OTHER));
    expect(await axeViolations()).toEqual([]);

    fireEvent.click(within(alert).getByTestId('pairing-alert-remove'));
    const dialog = await screen.findByTestId('confirm-dialog');
    await waitFor(() => expect(document.activeElement).toBe(within(dialog).getByTestId('confirm-cancel')));
    expect(api.callsOf('undoLastPairing')).toEqual([]);
    fireEvent.click(within(dialog).getByTestId('confirm-ok'));
    await waitFor(() => expect(api.callsOf('undoLastPairing')).toEqual([['de-front', FP_OTHER]]));
    await waitFor(() => expect(screen.queryByTestId('pairing-alert-paired')).toBeNull());
    expect(api.users.get('de-front')!.map((u) => u.username)).toEqual(['admin']);
    expect((await screen.findByTestId('notice-success')).textContent).toContain('Removed the user "eve"');
  });

  it('refuses to undo when another pairing happened since, and says so', async () => {
    const api = setup();
    await waitFor(() => expect(api.listenerCount('paired')).toBeGreaterThan(0));
    api.emit('paired', EVE);
    // Someone else paired after eve: "undo the last" would now remove them instead.
    api.pairings.get('de-front')!.push({ ...EVE, username: 'bob', fingerprint: FP_CAMERA_2 });
    fireEvent.click(await screen.findByTestId('pairing-alert-remove'));
    fireEvent.click(await screen.findByTestId('confirm-ok'));
    expect((await screen.findByTestId('confirm-error')).textContent).toContain('Another pairing happened since, so nothing was undone');
    expect(api.users.get('de-front')!.map((u) => u.username)).toEqual(['admin', 'eve']);
  });

  it('says an overlap and a late attempt in plain words, until dismissed', async () => {
    const api = setup();
    await waitFor(() => expect(api.listenerCount('pairingAlert')).toBeGreaterThan(0));
    api.emit('pairingAlert', { deviceId: 'de-front', reason: 'overlap', fingerprints: [FP_OTHER, FP_CAMERA_2] });
    const overlap = await screen.findByTestId('pairing-alert-overlap');
    expect(overlap.getAttribute('role')).toBe('alert');
    expect(overlap.textContent).toContain('Front door: two different keys tried to pair in one window; nobody was paired and the window is closed.');
    expect(overlap.textContent).toContain(groupFingerprint(FP_OTHER));
    expect(overlap.textContent).toContain(groupFingerprint(FP_CAMERA_2));
    expect(within(overlap).queryByTestId('pairing-alert-remove')).toBeNull();

    api.emit('pairingAlert', { deviceId: 'de-front', reason: 'late-attempt', fingerprints: [FP_CAMERA_2], pairedFingerprint: FP_OTHER });
    const late = await screen.findByTestId('pairing-alert-late-attempt');
    expect(late.textContent).toContain('a key tried to pair after the window was already used by another key');
    expect(late.textContent).toContain('Key that paired');
    // Still there (it does not time out), until dismissed.
    expect(screen.getByTestId('pairing-alert-overlap')).toBeTruthy();
    expect(await axeViolations()).toEqual([]);
    fireEvent.click(within(overlap).getByTestId('pairing-alert-dismiss'));
    await waitFor(() => expect(screen.queryByTestId('pairing-alert-overlap')).toBeNull());
    expect(screen.getByTestId('pairing-alert-late-attempt')).toBeTruthy();
  });

  it('does not alert about this computer\'s own key', async () => {
    const api = setup();
    await waitFor(() => expect(api.callsOf('identity').length).toBeGreaterThan(0));
    await new Promise((r) => setTimeout(r, 50));
    api.emit('paired', { ...EVE, fingerprint: FP_ME });
    api.emit('paired', EVE);
    await screen.findByTestId('pairing-alert-paired');
    expect(screen.getAllByTestId('pairing-alert-paired')).toHaveLength(1);
  });

  it('lists the recent pairings on the Access page, newest first, and removes the most recent one', async () => {
    setup();
    fireEvent.click(await screen.findByTestId('device-access-de-front'));
    const section = await screen.findByTestId('recent-pairings');
    const rows = await within(section).findAllByTestId('recent-pairing');
    expect(rows.map((r) => r.dataset.username)).toEqual(['eve', 'admin']);
    expect(rows[0]!.textContent).toContain('paired with the pairing button from 192.168.1.77');
    expect(rows[0]!.textContent).toContain(groupFingerprint(FP_OTHER));
    expect(rows[1]!.textContent).toContain('as the first owner');
    // Only the newest one can be undone (the camera undoes only its last pairing).
    expect(within(section).getAllByTestId('recent-pairing-remove')).toHaveLength(1);
    expect(await axeViolations()).toEqual([]);
    fireEvent.click(within(section).getByTestId('recent-pairing-remove'));
    const dialog = await screen.findByTestId('confirm-dialog');
    await waitFor(() => expect(document.activeElement).toBe(within(dialog).getByTestId('confirm-cancel')));
    fireEvent.click(within(dialog).getByTestId('confirm-ok'));
    await waitFor(() => expect(within(section).getAllByTestId('recent-pairing').map((r) => r.dataset.username)).toEqual(['admin']));
    // The first owner's pairing is not offered for undo.
    expect(within(section).queryByTestId('recent-pairing-remove')).toBeNull();
    await waitFor(() => expect(screen.queryByTestId('user-row-eve')).toBeNull());
  });

  it('a Remove from the alert shows at once on the camera\'s open Access page', async () => {
    const api = setup();
    fireEvent.click(await screen.findByTestId('device-access-de-front'));
    const section = await screen.findByTestId('recent-pairings');
    await waitFor(() => expect(within(section).getAllByTestId('recent-pairing')).toHaveLength(2));
    await screen.findByTestId('user-row-eve');
    api.emit('paired', EVE);
    fireEvent.click(await screen.findByTestId('pairing-alert-remove'));
    fireEvent.click(await screen.findByTestId('confirm-ok'));
    await waitFor(() => expect(within(section).getAllByTestId('recent-pairing').map((r) => r.dataset.username)).toEqual(['admin']));
    await waitFor(() => expect(screen.queryByTestId('user-row-eve')).toBeNull());
  });
});
