/**
 * Whether an address is one of this machine's own (an interface address, as the OS lists it now).
 * libdatachannel aborts the whole process ("Failed to gather local ICE candidates") when told to
 * bind to an address that is not local, e.g. a TURN server's given as the one `--ice-address`; so
 * a bind address is only passed on when it is local.
 */
import os from 'node:os';

export function isLocalAddress(address: string): boolean {
  const wanted = address.replace(/^\[|\]$/g, '').toLowerCase();
  return Object.values(os.networkInterfaces()).some((list) => (list ?? []).some((i) => i.address.toLowerCase() === wanted));
}

/** The one address to bind WebRTC to: the only allowed address, when it is local. */
export function localBindAddress(allowed: readonly string[]): string | undefined {
  return allowed.length === 1 && isLocalAddress(allowed[0]!) ? allowed[0] : undefined;
}
