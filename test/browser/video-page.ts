/**
 * A test page for the browser path: the real renderer modules (bridge client and live video)
 * without the React shell, so the video test does not depend on the UI's layout.
 */
import { connectBridge, takeTokenFromLocation } from '../../src/renderer/api/bridge-client';
import { LiveVideo } from '../../src/renderer/video/live-video';

declare global {
  interface Window {
    lancamTest: {
      ready: Promise<void>;
      devices(): Promise<{ deviceId: string; paired: boolean; status: string }[]>;
      start(deviceId: string): Promise<void>;
      stats(): { frames: number; fps: number; latencyMs: number | null; width: number; height: number; firstFrameMs: number | null } | undefined;
      closedReason(): string | undefined;
      stop(): void;
    };
  }
}

let live: LiveVideo | undefined;
let closedReason: string | undefined;
const token = takeTokenFromLocation();
const apiPromise = token ? connectBridge(token) : Promise.reject(new Error('no token in the address'));

window.lancamTest = {
  ready: apiPromise.then(() => undefined),
  devices: async () => (await apiPromise).listDevices(),
  start: async (deviceId) => {
    const video = document.querySelector('video')!;
    live = new LiveVideo(await apiPromise, deviceId, video, { onClosed: (reason) => (closedReason = reason) });
    await live.start();
  },
  stats: () => live?.stats,
  closedReason: () => closedReason,
  stop: () => live?.stop(),
};
