/** How LancamApi travels over Electron IPC (preload <-> main). */
import type { ApiErrorShape } from './api';

export const IPC_METHOD_PREFIX = 'lancam:';
export const IPC_EVENT_PREFIX = 'lancam-event:';

/** Main answers every call with this, so the error's status survives the IPC boundary. */
export type IpcReply = { ok: true; result: unknown } | { ok: false; error: ApiErrorShape };
