// @vitest-environment jsdom
/** Access control: only what this user may do is offered; users, roles, removal, invitations (text + QR), pairing settings. */
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../src/renderer/app/App';
import { camera, FakeApi, FP_CAMERA_1, FP_ME, FP_OTHER } from './fake-api';

afterEach(cleanup);

const ROLES = ['Unpaired', 'Administrator', 'Standard', 'Guest'];

function setup(rights: { canManageUsers: boolean; canManageSettings: boolean }) {
  const api = new FakeApi();
  api.devices = [camera({ deviceId: 'de-front', friendlyName: 'Front door', paired: true, username: 'admin', role: 'Administrator', pinnedFingerprint: FP_CAMERA_1 })];
  api.accessViews.set('de-front', { me: { username: 'admin', role: 'Administrator', fingerprints: [{ fingerprint: FP_ME, name: 'laptop' }] }, roles: rights.canManageUsers ? ROLES : [], ...rights });
  api.users.set('de-front', [
    { username: 'admin', role: 'Administrator', fingerprints: [{ fingerprint: FP_ME, name: 'laptop' }] },
    { username: 'bob', role: 'Standard', displayName: 'Bob B.', fingerprints: [{ fingerprint: FP_OTHER, name: 'lancam on bobs-pc' }] },
    { username: 'carol', role: 'Guest', fingerprints: [] },
  ]);
  render(<App api={api} />);
  return api;
}

async function openAccess() {
  fireEvent.click(await screen.findByTestId('device-access-de-front'));
  return screen.findByTestId('access-view');
}

describe('access control', () => {
  it('hides user management and settings from a user who may not manage them', async () => {
    const api = setup({ canManageUsers: false, canManageSettings: false });
    const view = await openAccess();
    await within(view).findByTestId('access-me');
    expect(within(view).getByTestId('access-readonly').textContent).toContain('Only its administrators');
    expect(within(view).queryByTestId('users-table')).toBeNull();
    expect(within(view).queryByTestId('invite-card')).toBeNull();
    expect(within(view).queryByTestId('pairing-settings')).toBeNull();
    expect(within(view).queryByTestId('rename-card')).toBeNull();
    expect(view.querySelector('[data-testid^="user-remove-"]')).toBeNull();
    expect(api.callsOf('listUsers')).toEqual([]);
    expect(api.callsOf('getSettings')).toEqual([]);
  });

  it('offers settings but not users to someone who may manage only settings', async () => {
    setup({ canManageUsers: false, canManageSettings: true });
    const view = await openAccess();
    await within(view).findByTestId('pairing-settings');
    expect(within(view).queryByTestId('users-table')).toBeNull();
    expect(within(view).queryByTestId('invite-card')).toBeNull();
    expect(within(view).getByTestId('rename-card')).toBeTruthy();
  });

  it('lists users with roles, display names and named keys; changes a role; removes a user after confirming', async () => {
    const api = setup({ canManageUsers: true, canManageSettings: true });
    const view = await openAccess();
    const table = await within(view).findByTestId('users-table');
    const bob = within(table).getByTestId('user-row-bob');
    expect(bob.textContent).toContain('Bob B.');
    expect(bob.textContent).toContain('lancam on bobs-pc');
    expect(bob.textContent).toContain('321b 7507 75ab f388');
    expect(within(table).getByTestId('user-row-carol').textContent).toContain('invitation pending');
    // Oneself cannot be removed or demoted from here.
    expect(within(table).queryByTestId('user-remove-admin')).toBeNull();
    expect(within(table).queryByTestId('user-role-admin')).toBeNull();

    const role = within(table).getByTestId('user-role-bob') as HTMLSelectElement;
    expect([...role.options].map((o) => o.value)).toEqual(['Administrator', 'Standard', 'Guest']);
    fireEvent.change(role, { target: { value: 'Guest' } });
    await waitFor(() => expect(api.callsOf('setUserRole')).toEqual([['de-front', 'bob', 'Guest']]));

    fireEvent.click(within(table).getByTestId('user-remove-bob'));
    const confirm = await screen.findByTestId('confirm-dialog');
    expect(confirm.textContent).toContain('loses access to Front door at once');
    expect(api.callsOf('removeUser')).toEqual([]);
    fireEvent.click(within(confirm).getByTestId('confirm-ok'));
    await waitFor(() => expect(api.callsOf('removeUser')).toEqual([['de-front', 'bob']]));
    await waitFor(() => expect(within(screen.getByTestId('users-table')).queryByTestId('user-row-bob')).toBeNull());
  });

  it('invites a user and shows the pairing string and its QR code as an image (never as markup)', async () => {
    const api = setup({ canManageUsers: true, canManageSettings: true });
    const view = await openAccess();
    const card = await within(view).findByTestId('invite-card');
    expect((within(card).getByTestId('invite-role') as HTMLSelectElement).value).toBe('Standard');
    expect([...(within(card).getByTestId('invite-role') as HTMLSelectElement).options].map((o) => o.value)).not.toContain('Unpaired');
    fireEvent.change(within(card).getByTestId('invite-username'), { target: { value: 'dave' } });
    fireEvent.change(within(card).getByTestId('invite-role'), { target: { value: 'Guest' } });
    fireEvent.click(within(card).getByTestId('invite-submit'));

    const text = (await within(card).findByTestId('invite-pairing-string')) as HTMLTextAreaElement;
    expect(api.callsOf('inviteUser')).toEqual([['de-front', 'dave', 'Guest']]);
    expect(text.value).toBe(`p=pr-test,d=de-front,u=dave,pwd=pw-123456,fp=${FP_CAMERA_1}`);
    expect(text.readOnly).toBe(true);
    const qr = within(card).getByTestId('invite-qr') as HTMLImageElement;
    expect(qr.tagName).toBe('IMG');
    const src = qr.getAttribute('src')!;
    expect(src.startsWith('data:image/svg+xml;base64,')).toBe(true);
    expect(atob(src.slice('data:image/svg+xml;base64,'.length))).toBe((await api.inviteImpl('de-front', 'dave', 'Guest')).qrSvg);
    expect(qr.alt).toContain('dave');
    // The SVG never became part of the document.
    expect(card.querySelector('svg')).toBeNull();
  });

  it('refuses an invalid username before asking the camera', async () => {
    const api = setup({ canManageUsers: true, canManageSettings: false });
    const card = await within(await openAccess()).findByTestId('invite-card');
    fireEvent.change(within(card).getByTestId('invite-username'), { target: { value: 'Not Valid!' } });
    fireEvent.click(within(card).getByTestId('invite-submit'));
    expect((await within(card).findByTestId('invite-error')).textContent).toContain('lower-case letters');
    expect(api.callsOf('inviteUser')).toEqual([]);
  });

  it('switches pairing modes, sets the open password and renames the camera', async () => {
    const api = setup({ canManageUsers: true, canManageSettings: true });
    const view = await openAccess();
    const settings = await within(view).findByTestId('pairing-settings');
    const invite = (await within(settings).findByTestId('setting-password-invite-pairing')) as HTMLInputElement;
    expect(invite.getAttribute('role')).toBe('switch');
    expect(invite.checked).toBe(true);
    expect((within(settings).getByTestId('setting-password-open-pairing') as HTMLInputElement).checked).toBe(false);
    fireEvent.click(within(settings).getByTestId('setting-password-open-pairing'));
    await waitFor(() => expect(api.callsOf('setSetting')).toEqual([['de-front', 'password-open-pairing', true]]));

    await waitFor(() => expect((within(settings).getByTestId('open-password-input') as HTMLInputElement).disabled).toBe(false));
    fireEvent.change(within(settings).getByTestId('open-password-input'), { target: { value: 'let-me-in' } });
    fireEvent.click(within(settings).getByTestId('open-password-save'));
    await waitFor(() => expect(api.callsOf('setSetting')).toContainEqual(['de-front', 'password-open-password', 'let-me-in']));

    const rename = within(view).getByTestId('rename-card');
    fireEvent.change(within(rename).getByTestId('rename-input'), { target: { value: 'Front porch' } });
    fireEvent.click(within(rename).getByTestId('rename-submit'));
    await waitFor(() => expect(api.callsOf('renameDevice')).toEqual([['de-front', 'Front porch']]));
  });
});
