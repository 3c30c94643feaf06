// @vitest-environment jsdom
/**
 * Sound in the live grid: every tile opens muted (a muted video may autoplay, and nobody hears a
 * camera they did not ask to), each tile has its own mute button with an accessible name and a
 * visible state, M toggles the selected tile only, and the help overlay lists M.
 */
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import axe from 'axe-core';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../src/renderer/app/App';
import { camera, FakeApi, FP_CAMERA_1, FP_CAMERA_2 } from './fake-api';

afterEach(cleanup);

async function axeViolations(): Promise<string[]> {
  const result = await axe.run(document.body, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, rules: { 'color-contrast': { enabled: false } }, resultTypes: ['violations'] });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

function twoCameras(): FakeApi {
  const api = new FakeApi();
  api.devices = [
    camera({ deviceId: 'de-front', friendlyName: 'Front door', paired: true, username: 'bob', role: 'Standard', pinnedFingerprint: FP_CAMERA_1 }),
    camera({ deviceId: 'de-back', friendlyName: 'Back', paired: true, username: 'bob', role: 'Standard', pinnedFingerprint: FP_CAMERA_2, fingerprint: FP_CAMERA_2 }),
  ];
  api.liveLayout = { open: ['de-front', 'de-back'] };
  render(<App api={api} />);
  return api;
}

const video = (id: string) => screen.getByTestId(`live-video-${id}`) as HTMLVideoElement;
const muteButton = (id: string) => screen.getByTestId(`live-mute-${id}`);

describe('sound in the live grid', () => {
  it('opens every tile muted, and unmuting one leaves the others muted', async () => {
    twoCameras();
    fireEvent.click(await screen.findByTestId('nav-live'));
    await screen.findByTestId('live-tile-de-back');
    for (const id of ['de-front', 'de-back']) {
      expect(video(id).muted).toBe(true);
      expect(muteButton(id).textContent).toBe('Unmute');
      expect(screen.getByTestId(`live-tile-${id}`).getAttribute('data-muted')).toBe('true');
    }
    // The button's name says what it does, and to which camera.
    expect(screen.getByRole('button', { name: 'Unmute Front door' })).toBe(muteButton('de-front'));
    expect(screen.getByRole('button', { name: 'Unmute Back' })).toBe(muteButton('de-back'));

    fireEvent.click(muteButton('de-front'));
    await waitFor(() => expect(video('de-front').muted).toBe(false));
    expect(muteButton('de-front').textContent).toBe('Mute');
    expect(screen.getByRole('button', { name: 'Mute Front door' })).toBe(muteButton('de-front'));
    expect(video('de-back').muted).toBe(true);
    expect(muteButton('de-back').textContent).toBe('Unmute');
    expect(await axeViolations()).toEqual([]);

    fireEvent.click(muteButton('de-front'));
    await waitFor(() => expect(video('de-front').muted).toBe(true));
  });

  it('M mutes and unmutes the selected tile only; the help overlay lists M', async () => {
    twoCameras();
    fireEvent.click(await screen.findByTestId('nav-live'));
    await screen.findByTestId('live-tile-de-back');
    fireEvent.keyDown(window, { key: '2' });
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('live-tile-de-back')));
    fireEvent.keyDown(window, { key: 'm' });
    await waitFor(() => expect(video('de-back').muted).toBe(false));
    expect(video('de-front').muted).toBe(true);
    fireEvent.keyDown(window, { key: 'M' });
    await waitFor(() => expect(video('de-back').muted).toBe(true));

    fireEvent.keyDown(window, { key: '?' });
    const help = await screen.findByTestId('shortcuts-help');
    const row = within(help).getByText('M').closest('.shortcuts__row');
    expect(row?.textContent).toContain('Mute or unmute the selected camera');
  });
});
