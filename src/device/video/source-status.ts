/**
 * How a video source's status changes are logged, for both pipelines (raw frames in capture.ts,
 * encoded pictures in h264/encoded-stream.ts). Kept apart from capture.ts so that the H.264 path
 * does not load @roamhq/wrtc.
 */
import type { Logger } from '../../net/log';
import type { SourceStatus } from './capture';

export function logSourceStatus(log: Logger, description: string, status: SourceStatus): void {
  const detail = status.retryInMs !== undefined ? ` (retry in ${Math.round(status.retryInMs / 1000)} s)` : '';
  (status.state === 'failed' || status.state === 'retrying' ? log.warn : log.info)(`video source ${description}: ${status.state}: ${status.message}${detail}`);
}
