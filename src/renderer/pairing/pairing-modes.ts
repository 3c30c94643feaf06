/** How each pairing mode is explained to people, and which one to suggest first. */
import type { PairingMode } from '../../shared/protocol/device-api';

export interface ModeText {
  title: string;
  description: string;
  needsUsername: boolean;
  needsPassword: boolean;
  /** The username is the invited one (not one you choose). */
  invitedUsername?: boolean;
}

export const MODE_TEXT: Record<PairingMode, ModeText> = {
  'local-initial': {
    title: 'Become the owner',
    description: 'This camera has no owner yet. You become its administrator: you decide who else may watch it. Works only from the camera\'s own network.',
    needsUsername: false,
    needsPassword: false,
  },
  'local-open': {
    title: 'Pair with the camera\'s button',
    description: 'Press the pairing button on the camera (or run `lancam-device pair-window` on it), then pair while it is open. You get the camera\'s standard role for new users.',
    needsUsername: true,
    needsPassword: false,
  },
  'password-invite': {
    title: 'Use an invitation',
    description: 'Enter the username and one-time password from the invitation the owner gave you.',
    needsUsername: true,
    needsPassword: true,
    invitedUsername: true,
  },
  'password-open': {
    title: 'Pair with the camera\'s password',
    description: 'Enter the pairing password the camera\'s owner set. The password is checked without being sent.',
    needsUsername: true,
    needsPassword: true,
  },
};

/** The order modes are offered in: the simplest that works first. */
export const MODE_ORDER: PairingMode[] = ['local-initial', 'local-open', 'password-invite', 'password-open'];

export function orderModes(modes: readonly PairingMode[]): PairingMode[] {
  return MODE_ORDER.filter((m) => modes.includes(m));
}
