// @vitest-environment jsdom
/** The pairing flow: only the modes the camera offers, its key shown, plain-language errors, invitations, the pairing window countdown. */
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/shared/ui/api';
import type { PairingMode } from '../../src/shared/protocol/device-api';
import { App } from '../../src/renderer/app/App';
import { camera, FakeApi, FP_CAMERA_2 } from './fake-api';

afterEach(cleanup);

function setup(modes: PairingMode[], configure: (api: FakeApi) => void = () => undefined) {
  const api = new FakeApi();
  api.devices = [camera({ deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2 })];
  api.offers.set('de-garden', { deviceId: 'de-garden', friendlyName: 'Garden', fingerprint: FP_CAMERA_2, modes, paired: false });
  configure(api);
  render(<App api={api} />);
  return api;
}

async function openMethodStep() {
  fireEvent.click(await screen.findByTestId('device-pair-de-garden'));
  const dialog = await screen.findByTestId('pairing-dialog');
  expect(dialog.getAttribute('role')).toBe('dialog');
  const fp = await within(dialog).findByTestId('pairing-fingerprint');
  expect(fp.getAttribute('data-fingerprint')).toBe(FP_CAMERA_2);
  expect(fp.textContent).toContain(FP_CAMERA_2.match(/.{4}/g)!.join(' '));
  fireEvent.click(within(dialog).getByTestId('pairing-continue'));
  await waitFor(() => expect(within(dialog).getByTestId('pairing-step').getAttribute('data-step')).toBe('method'));
  return dialog;
}

const offeredModes = (dialog: HTMLElement) => [...dialog.querySelectorAll('[data-testid^="pairing-mode-"]')].map((e) => e.getAttribute('data-testid')!.replace('pairing-mode-', ''));

describe('pairing flow', () => {
  it('offers only the modes the camera offers, simplest first, and pairs with the chosen one', async () => {
    const api = setup(['password-invite', 'local-initial']);
    const dialog = await openMethodStep();
    expect(offeredModes(dialog)).toEqual(['local-initial', 'password-invite']);
    expect(within(dialog).queryByTestId('pairing-mode-local-open')).toBeNull();
    expect(within(dialog).queryByTestId('pairing-mode-password-open')).toBeNull();
    expect((within(dialog).getByTestId('pairing-mode-local-initial').querySelector('input') as HTMLInputElement).checked).toBe(true);

    fireEvent.click(within(dialog).getByTestId('pairing-submit'));
    await within(dialog).findByTestId('pairing-done');
    expect(api.callsOf('pair')).toEqual([[{ deviceId: 'de-garden', mode: 'local-initial' }]]);
    expect(within(dialog).getByTestId('pairing-done-username').textContent).toBe('admin');
    expect(within(dialog).getByTestId('pairing-done-role').textContent).toBe('Administrator');
  });

  it('asks for username and password for an invitation, and says plainly when the password is wrong', async () => {
    const api = setup(['password-invite'], (a) => {
      a.pairImpl = async () => {
        throw new ApiError(401, 'wrong password (or no such invited user)');
      };
    });
    const dialog = await openMethodStep();
    expect(offeredModes(dialog)).toEqual(['password-invite']);
    fireEvent.change(within(dialog).getByTestId('pairing-username'), { target: { value: 'bob' } });
    fireEvent.change(within(dialog).getByTestId('pairing-password'), { target: { value: 'secret-1' } });
    fireEvent.click(within(dialog).getByTestId('pairing-submit'));
    const error = await within(dialog).findByTestId('pairing-error');
    expect(error.textContent).toContain('The password is wrong');
    expect(error.getAttribute('data-status')).toBe('401');
    expect(api.callsOf('pair')).toEqual([[{ deviceId: 'de-garden', mode: 'password-invite', username: 'bob', password: 'secret-1' }]]);
    // Back on the same step, ready to try again.
    expect(within(dialog).getByTestId('pairing-step').getAttribute('data-step')).toBe('method');
  });

  it.each([
    [429, 'too many failed attempts', 'Too many attempts'],
    [403, 'the pairing window is closed: press the pairing button on the camera, then try again', 'Press the pairing button on the camera (or run lancam-device pair-window on it)'],
    [409, 'this camera already has an owner; ask them to invite you (lancam user invite)', 'This camera already has an owner'],
    [409, 'that username is taken: "bob"; choose another with --username', 'That name is already taken'],
  ] as const)('maps %s (%s) to plain language', async (status, message, expected) => {
    setup(['local-open'], (a) => {
      a.pairImpl = async () => {
        throw new ApiError(status, message);
      };
    });
    const dialog = await openMethodStep();
    fireEvent.click(within(dialog).getByTestId('pairing-submit'));
    const error = await within(dialog).findByTestId('pairing-error');
    expect(error.textContent).toContain(expected);
    // The companion's own words stay available as the detail.
    expect(error.textContent).toContain(message);
  });

  it('explains what to do when the camera offers nothing, and picks up the pairing button when it is pressed', async () => {
    const api = setup([]);
    const dialog = await openMethodStep();
    const none = within(dialog).getByTestId('pairing-no-modes');
    expect(none.textContent).toContain('Press the pairing button on the camera');
    expect(none.textContent).toContain('lancam-device pair-window');
    expect(within(dialog).getByTestId('pairing-submit').hasAttribute('disabled')).toBe(true);

    // The button is pressed: the camera now offers local open pairing, with a countdown.
    api.offers.set('de-garden', { ...api.offers.get('de-garden')!, modes: ['local-open'] });
    act(() => api.emit('pairingWindow', { deviceId: 'de-garden', open: true, seconds: 120 }));
    await within(dialog).findByTestId('pairing-mode-local-open');
    const countdown = within(dialog).getByTestId('pairing-countdown');
    // A second may tick by on a loaded machine before we read it.
    expect(countdown.textContent).toMatch(/(2:00|1:59) left/);
    expect(within(dialog).getByTestId('pairing-username')).toBeTruthy();
    expect(within(dialog).queryByTestId('pairing-password')).toBeNull();
  });

  it('shows the countdown at once when the camera\'s pairing window is already open', async () => {
    setup(['local-open'], (api) => {
      api.offers.set('de-garden', { ...api.offers.get('de-garden')!, pairingWindowSeconds: 90 });
    });
    const dialog = await openMethodStep();
    const countdown = await within(dialog).findByTestId('pairing-countdown');
    expect(countdown.textContent).toMatch(/(1:30|1:29) left/);
  });

  it('pairs with a pasted invitation, showing whom it is for and the camera key it names', async () => {
    const api = setup(['password-invite']);
    const invitation = `p=pr-test,d=de-garden,u=alice,pwd=Xy7-pass,fp=${FP_CAMERA_2}`;
    fireEvent.change(await screen.findByTestId('invitation-input'), { target: { value: ` ${invitation} ` } });
    fireEvent.click(screen.getByTestId('invitation-submit'));
    const dialog = await screen.findByTestId('pairing-dialog');
    expect(within(dialog).getByTestId('invitation-username').textContent).toBe('alice');
    expect(within(dialog).getByTestId('invitation-camera').textContent).toContain('Garden');
    expect(within(dialog).getByTestId('pairing-fingerprint').getAttribute('data-fingerprint')).toBe(FP_CAMERA_2);
    fireEvent.click(within(dialog).getByTestId('pairing-submit'));
    await within(dialog).findByTestId('pairing-done');
    expect(api.callsOf('pair')).toEqual([[{ pairingString: invitation }]]);
  });

  it('refuses text that is not an invitation before sending anything', async () => {
    const api = setup(['password-invite']);
    fireEvent.change(await screen.findByTestId('invitation-input'), { target: { value: 'hello there' } });
    fireEvent.click(screen.getByTestId('invitation-submit'));
    expect((await screen.findByTestId('invitation-error')).textContent).toContain('does not look like an invitation');
    expect(screen.queryByTestId('pairing-dialog')).toBeNull();
    expect(api.callsOf('pair')).toEqual([]);
  });

  it('explains a refused invitation (the camera does not accept invitations now)', async () => {
    setup(['local-initial'], (a) => {
      a.pairImpl = async () => {
        throw new ApiError('no-pairing-mode', 'this pairing string is an invitation, but the camera does not accept invitations now (it offers: local-initial)');
      };
    });
    fireEvent.change(await screen.findByTestId('invitation-input'), { target: { value: `d=de-garden,u=alice,pwd=Xy7-pass,fp=${FP_CAMERA_2}` } });
    fireEvent.click(screen.getByTestId('invitation-submit'));
    const dialog = await screen.findByTestId('pairing-dialog');
    fireEvent.click(within(dialog).getByTestId('pairing-submit'));
    expect((await within(dialog).findByTestId('pairing-error')).textContent).toContain('does not accept invitations right now');
  });
});
