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

/**
 * The one address to bind WebRTC to: the only allowed address, when it is local. With none
 * allowed (all addresses) on a machine whose only interface is loopback (a network namespace with
 * just `lo`), 127.0.0.1: libjuice leaves loopback out of its host candidates, so without the bind
 * there would be no candidate at all, while libwebrtc (the vp8 stack) offers loopback there.
 */
export function localBindAddress(allowed: readonly string[]): string | undefined {
  if (allowed.length === 1) return isLocalAddress(allowed[0]!) ? allowed[0] : undefined;
  if (allowed.length === 0 && onlyLoopback()) return '127.0.0.1';
  return undefined;
}

function onlyLoopback(): boolean {
  const all = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []);
  return all.length > 0 && all.every((i) => i.internal) && all.some((i) => i.address === '127.0.0.1');
}
