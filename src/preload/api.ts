/** The API the preload exposes as `window.lancam`; the renderer imports this type only. */
export type { LancamApi, LancamEvents } from '../shared/ui/api';
