/** The connection quality in plain words, from the phase and the numbers next to it. */
import type { LiveVideoStats } from '../video/live-video';
import type { VideoPhase } from './video-connection';

export type Quality = 'good' | 'weak' | 'reconnecting' | 'connecting' | 'none';

export const QUALITY_TEXT: Record<Quality, string> = {
  good: 'Good',
  weak: 'Weak',
  reconnecting: 'Reconnecting',
  connecting: 'Connecting',
  none: 'No video',
};

/**
 * Good: the picture keeps the rate this stream has shown it can do (a camera set to 8 fps is not
 * weak for it), at least 5 fps, arriving within half a second. Weak: anything less.
 */
export function connectionQuality(phase: VideoPhase, stats: LiveVideoStats | undefined, bestFps = stats?.fps ?? 0): Quality {
  if (phase === 'reconnecting') return 'reconnecting';
  if (phase === 'connecting') return 'connecting';
  if (phase !== 'live') return 'none';
  if (!stats) return 'connecting';
  const expected = Math.max(stats.fps, bestFps);
  if (stats.fps < 5 || stats.fps < expected * 0.6 || (stats.latencyMs !== null && stats.latencyMs > 500)) return 'weak';
  return 'good';
}

/** "Next try in 3 s (attempt 2)." without a doubled full stop after a reason that has one. */
export function reconnectText(reason: string | undefined, retryInSeconds: number, attempt: number): string {
  const why = reason ? `${capitalize(reason.trim().replace(/[.!]+$/, ''))}. ` : '';
  return `${why}${retryInSeconds > 0 ? `Next try in ${retryInSeconds} s` : 'Trying now'} (attempt ${attempt}).`;
}

function capitalize(text: string): string {
  return text.length > 0 ? text[0]!.toUpperCase() + text.slice(1) : text;
}
