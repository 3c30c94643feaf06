/**
 * Which of a camera's streams a tile asks for: the sub stream (640 wide) while the picture is
 * shown small, the main stream in full screen or once the tile is larger than the sub stream
 * could fill. Decided from the video element's rendered size in device pixels, with a margin
 * between the two thresholds so a tile near the edge does not switch back and forth.
 */
import type { VideoStreamChoice } from '../../shared/protocol/webrtc-api';

/** Rendered width (device pixels) above which main is asked for... */
export const MAIN_ABOVE_PX = 800;
/** ...and below which sub is asked for again. */
export const SUB_BELOW_PX = 720;

export function chooseStream(renderedWidthPx: number, fullscreen: boolean, current: VideoStreamChoice | undefined): VideoStreamChoice {
  if (fullscreen) return 'main';
  if (renderedWidthPx > MAIN_ABOVE_PX) return 'main';
  if (renderedWidthPx < SUB_BELOW_PX) return 'sub';
  return current ?? 'sub';
}

/**
 * Calls `onChoice` with the stream for `element` now and whenever its size or full-screen state
 * changes the choice. Returns the stop function.
 */
export function watchStreamChoice(element: HTMLElement, onChoice: (choice: VideoStreamChoice) => void): () => void {
  let current: VideoStreamChoice | undefined;
  const update = (): void => {
    const width = element.getBoundingClientRect().width * (window.devicePixelRatio || 1);
    // null when nothing is full screen; undefined where the Fullscreen API is missing (jsdom).
    const shown = document.fullscreenElement;
    const fullscreen = shown != null && shown.contains(element);
    const next = chooseStream(width, fullscreen, current);
    if (next === current) return;
    current = next;
    onChoice(next);
  };
  const observer = typeof ResizeObserver === 'function' ? new ResizeObserver(update) : undefined;
  observer?.observe(element);
  document.addEventListener('fullscreenchange', update);
  update();
  return () => {
    observer?.disconnect();
    document.removeEventListener('fullscreenchange', update);
  };
}
