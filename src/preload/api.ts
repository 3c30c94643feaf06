/** What the preload exposes as `window.lancamIpc`; the renderer imports these types only. */
export type { LancamApi, LancamEvents } from '../shared/ui/api';
export type { PreloadApi } from '../shared/ui/ipc';
