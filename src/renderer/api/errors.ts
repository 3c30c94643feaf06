/**
 * Plain-language errors. The companion reports failures as {status, message} (an HTTP-like code
 * when the camera answered, a name when it did not); people get one clear sentence about what
 * happened and what to do, with the companion's own message kept as the detail.
 */
import { ApiError } from '../../shared/ui/api';

export interface PlainError {
  /** What happened and what to do, for everyone. */
  message: string;
  /** The technical reason (the companion's message), for those who want it. */
  detail?: string;
  status?: number | string;
}

export type ErrorContext = 'pairing' | 'access' | 'video' | 'general';

export const PAIRING_BUTTON_HINT = 'Press the pairing button on the camera (or run `lancam-device pair-window` on it), then try again.';

export function statusOf(err: unknown): number | string | undefined {
  if (err instanceof ApiError) return err.status;
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' || typeof status === 'string' ? status : undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  return 'unknown error';
}

export function plainError(err: unknown, context: ErrorContext = 'general'): PlainError {
  const status = statusOf(err);
  const detail = messageOf(err);
  const make = (message: string): PlainError => ({ message, ...(detail && detail !== message ? { detail } : {}), ...(status !== undefined ? { status } : {}) });

  switch (status) {
    case 401:
      return make(context === 'pairing' ? 'The password is wrong. Check the invitation (or the camera\'s pairing password) and try again.' : 'The camera did not accept this computer\'s credentials.');
    case 429:
      return make('Too many attempts. The camera is refusing new tries for a while to protect itself: wait a few minutes, then try again.');
    case 403:
      if (context === 'pairing') {
        if (/local initial/i.test(detail)) return make('The camera does not allow first-owner pairing from here (it is switched off, or this computer is not on the camera\'s local network).');
        if (/invit/i.test(detail)) return make('The camera does not accept invitations right now. Ask its owner to switch invitations on.');
        if (/password/i.test(detail)) return make('The camera does not allow password pairing right now.');
        return make(`The camera is not accepting new users right now. ${PAIRING_BUTTON_HINT}`);
      }
      if (context === 'video') return make('You are not allowed to watch this camera.');
      return make('You are not allowed to do that on this camera.');
    case 409:
      if (/another pairing/i.test(detail)) return make('Another pairing happened since, so nothing was undone. Remove that user or key under Users on the camera\'s Access page.');
      if (/no longer has that key/i.test(detail)) return make('Nothing to undo: that user or key was removed already.');
      if (/owner/i.test(detail)) return make('This camera already has an owner. Ask them to invite you: they can do it under "Manage access".');
      if (/taken|exists/i.test(detail)) return make('That name is already taken on this camera. Choose another one.');
      return make('That conflicts with what the camera already has (the name is taken, or the camera already has an owner).');
    case 404:
      if (context === 'access') return make('You are no longer a user of this camera, or the user you chose does not exist any more.');
      return make('The camera does not know that (it may have been removed or renamed).');
    case 400:
    case 'usage':
      return make(`That was not accepted: ${detail}`);
    case 'device-key-changed':
      return make('This camera presented a different key than the one you paired with. Someone may be impersonating it. Video and settings are blocked.');
    case 'no-pairing-mode':
      if (/invitation/i.test(detail)) return make('The camera does not accept invitations right now. Ask its owner to switch invitations on.');
      return make(`The camera does not offer a way for you to pair right now. Ask its owner for an invitation, or: ${PAIRING_BUTTON_HINT}`);
    case 'bad-pairing-string':
      return make('That does not look like a valid invitation. Copy the whole text (it starts with p= or d= and contains fp=…).');
    case 'device-mismatch':
      return make('This invitation is for a different camera than the one that answered. Nothing was sent.');
    case 'not-found':
      return make('The camera could not be found on this network. Check that it is switched on and on the same network.');
    case 'unreachable':
    case 'closed':
    case 'reset':
      if (/companion/i.test(detail)) return make('Lost the connection to the lancam companion. Reload the page or restart lancam.');
      return make('Could not reach the camera. Check that it is switched on and on this network.');
    case 'timeout':
      return make('The camera did not answer in time. Check that it is switched on, then try again.');
    case 'video-closed':
      return make('The video ended.');
    default:
      if (typeof status === 'string' && /^E[A-Z]+$/.test(status)) return make('Could not reach the camera. Check that it is switched on and on this network.');
      if (/connect|refused|unreachable|timed out/i.test(detail)) return make('Could not reach the camera. Check that it is switched on and on this network.');
      return { message: capitalize(detail), ...(status !== undefined ? { status } : {}) };
  }
}

function capitalize(text: string): string {
  return text.length > 0 ? text[0]!.toUpperCase() + text.slice(1) : text;
}
