/**
 * Errors the companion reports to people (CLI, desktop). Each has a stable `status`: an HTTP-like
 * code when the device answered, or a name when it did not.
 */
import { groupFingerprint } from '../shared/fingerprint';

export class CompanionError extends Error {
  override name = 'CompanionError';
  constructor(
    readonly status: number | string,
    message: string,
  ) {
    super(message);
  }
}

/** A known camera presented another key: like SSH's "REMOTE HOST IDENTIFICATION HAS CHANGED". */
export class DeviceKeyChangedError extends CompanionError {
  override name = 'DeviceKeyChangedError';
  constructor(
    readonly deviceId: string,
    readonly expected: string,
    readonly presented: string,
  ) {
    super(
      'device-key-changed',
      `device key changed: ${deviceId} presented key ${groupFingerprint(presented)} but was paired with key ${groupFingerprint(expected)}. ` +
        `Someone may be impersonating the camera, or its key was replaced. Refusing to connect. ` +
        `If you replaced the camera's key yourself, run "lancam forget ${deviceId}" and pair again.`,
    );
  }
}
