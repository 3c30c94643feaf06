/** Pairings and pairing alerts in plain words, for the alert banners and the Access page. */
import type { PairingAlertView, PairingRecordView } from '../../shared/ui/api';

const MODE_WORDS: Record<PairingRecordView['mode'], string> = {
  'local-initial': 'as the first owner',
  'local-open': 'with the pairing button',
  'password-open': 'with the camera\'s pairing password',
  'password-invite': 'with an invitation',
};

export function pairingModeWords(mode: PairingRecordView['mode']): string {
  return MODE_WORDS[mode];
}

/** The first pairing (the owner's) is not undone this way: the camera refuses it. */
export function canUndo(record: PairingRecordView): boolean {
  return record.mode !== 'local-initial';
}

/** What undoing removes: the user the pairing created, or only the key it added. */
export function undoWords(record: PairingRecordView): string {
  return record.createdUser ? `the user "${record.username}" and their key` : `this key from "${record.username}" (the user stays)`;
}

export function alertHeadline(alert: PairingAlertView, camera: string): string {
  return alert.reason === 'overlap'
    ? `${camera}: ${alert.fingerprints.length > 2 ? `${alert.fingerprints.length} different keys` : 'two different keys'} tried to pair in one window; nobody was paired and the window is closed.`
    : `${camera}: a key tried to pair after the window was already used by another key.`;
}

export function alertAdvice(alert: PairingAlertView): string {
  return alert.reason === 'overlap'
    ? 'If only you were pairing, someone else on the network tried as well. Press the pairing button again when ready, with nobody else trying.'
    : 'If that late key was the person you meant to pair, the pairing went to someone else: check the recent pairings on the camera\'s Access page and remove the one you did not expect.';
}
