/** One camera in the live grid: the picture, its stats, snapshot and full screen, and its state. */
import { useEffect, useRef, useState } from 'react';
import type { DeviceEntry } from '../../shared/ui/api';
import { useApi } from '../app/api-context';
import { useNotify } from '../app/notices';
import { plainError } from '../api/errors';
import { LiveVideo, type LiveVideoStats } from '../video/live-video';
import { VideoConnection, type VideoState } from './video-connection';

interface LiveTileProps {
  device: DeviceEntry;
  onClose: () => void;
}

export function blobToBase64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the picture'));
    reader.readAsDataURL(blob);
  });
}

export function LiveTile({ device, onClose }: LiveTileProps) {
  const api = useApi();
  const notify = useNotify();
  const id = device.deviceId;
  const tileRef = useRef<HTMLElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const connection = useRef<VideoConnection | undefined>(undefined);
  const [state, setState] = useState<VideoState>({ phase: 'connecting', attempt: 0 });
  const [stats, setStats] = useState<LiveVideoStats>();
  const [saving, setSaving] = useState(false);
  const [savedTo, setSavedTo] = useState<string>();
  const [now, setNow] = useState(() => Date.now());
  const keyChanged = device.status === 'key-changed';

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return undefined;
    const conn = new VideoConnection(({ onStats, onClosed }) => new LiveVideo(api, id, video, { onStats, onClosed }), { onState: setState, onStats: setStats });
    connection.current = conn;
    const onPlaying = () => conn.markLive();
    video.addEventListener('playing', onPlaying);
    conn.start();
    return () => {
      video.removeEventListener('playing', onPlaying);
      conn.stop();
      connection.current = undefined;
    };
  }, [api, id]);

  useEffect(() => {
    if (keyChanged) connection.current?.block('key-changed', 'the camera presented a different key');
  }, [keyChanged]);

  // The "next try in N s" countdown.
  useEffect(() => {
    if (state.phase !== 'reconnecting') return undefined;
    const timer = window.setInterval(() => setNow(Date.now()), 500);
    return () => window.clearInterval(timer);
  }, [state.phase]);

  const snapshot = async () => {
    const conn = connection.current;
    if (!conn) return;
    setSaving(true);
    try {
      const base64 = await blobToBase64(await conn.snapshotPng());
      const result = await api.saveSnapshot(id, base64);
      if ('file' in result) {
        setSavedTo(result.file);
        notify('success', `Snapshot of ${device.friendlyName || id} saved`, result.file);
      }
    } catch (err) {
      notify('error', 'The snapshot could not be saved.', plainError(err).message);
    } finally {
      setSaving(false);
    }
  };

  const fullscreen = () => {
    const tile = tileRef.current;
    if (!tile) return;
    if (document.fullscreenElement === tile) void document.exitFullscreen();
    else void tile.requestFullscreen?.().catch(() => notify('error', 'Full screen is not available here.'));
  };

  const phase = keyChanged ? 'key-changed' : state.phase;
  const name = device.friendlyName || id;
  const retryIn = state.retryAt ? Math.max(0, Math.ceil((state.retryAt - now) / 1000)) : 0;

  return (
    <article ref={tileRef} className={`live-tile live-tile--${phase}`} aria-label={`Live video: ${name}`} data-testid={`live-tile-${id}`} data-phase={phase} data-frames={stats?.frames ?? 0} data-width={stats?.width ?? 0}>
      <video ref={videoRef} className="live-tile__video" muted playsInline autoPlay aria-label={`Video from ${name}`} data-testid={`live-video-${id}`} />

      <header className="live-tile__top">
        <span className="live-tile__name">
          <span className={`live-dot live-dot--${phase}`} aria-hidden="true" />
          {name}
        </span>
        {phase === 'live' && stats ? (
          <span className="live-tile__stats" data-testid={`live-stats-${id}`} aria-label="Stream statistics">
            <span title="frames per second">{stats.fps.toFixed(0)} fps</span>
            <span title="bitrate">{formatBitrate(stats.bitrateKbps)}</span>
            <span title="camera to screen latency">{stats.latencyMs === null ? '– ms' : `${stats.latencyMs} ms`}</span>
            {stats.width ? <span title="resolution">{`${stats.width}×${stats.height}`}</span> : null}
          </span>
        ) : null}
      </header>

      {phase !== 'live' ? (
        <div className="live-tile__overlay" role={phase === 'revoked' || phase === 'key-changed' ? 'alert' : 'status'} data-testid={`live-message-${id}`}>
          {phase === 'connecting' ? (
            <>
              <span className="spinner spinner--light" aria-hidden="true" />
              <p>Connecting…</p>
            </>
          ) : null}
          {phase === 'reconnecting' ? (
            <>
              <span className="spinner spinner--light" aria-hidden="true" />
              <p className="live-tile__overlay-title">Reconnecting…</p>
              <p className="live-tile__overlay-text">
                {state.reason ? `${capitalize(state.reason)}. ` : ''}
                {retryIn > 0 ? `Next try in ${retryIn} s` : 'Trying now'} (attempt {state.attempt}).
              </p>
            </>
          ) : null}
          {phase === 'revoked' ? (
            <>
              <span className="overlay-icon overlay-icon--blocked" aria-hidden="true" />
              <p className="live-tile__overlay-title">Your access to this camera was removed</p>
              <p className="live-tile__overlay-text">An administrator of {name} removed you or changed your role. Ask them to invite you again if this is a mistake.</p>
            </>
          ) : null}
          {phase === 'key-changed' ? (
            <>
              <span className="overlay-icon overlay-icon--warning" aria-hidden="true" />
              <p className="live-tile__overlay-title">Blocked: the camera's key has changed</p>
              <p className="live-tile__overlay-text">Someone may be impersonating {name}. See the warning under Cameras.</p>
            </>
          ) : null}
          {phase === 'stopped' ? <p>Stopped.</p> : null}
        </div>
      ) : null}

      <footer className="live-tile__bar">
        {savedTo ? (
          <span className="live-tile__saved" data-testid={`live-snapshot-result-${id}`} title={savedTo}>
            Saved to {savedTo}
          </span>
        ) : (
          <span />
        )}
        <span className="live-tile__buttons">
          <button type="button" className="tile-button" onClick={() => void snapshot()} disabled={phase !== 'live' || saving} data-testid={`live-snapshot-${id}`}>
            {saving ? 'Saving…' : 'Snapshot'}
          </button>
          <button type="button" className="tile-button" onClick={fullscreen} data-testid={`live-fullscreen-${id}`}>
            Full screen
          </button>
          <button type="button" className="tile-button" onClick={onClose} aria-label={`Stop watching ${name}`} data-testid={`live-close-${id}`}>
            Close
          </button>
        </span>
      </footer>
    </article>
  );
}

function formatBitrate(kbps: number): string {
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${kbps} kbit/s`;
}

function capitalize(text: string): string {
  return text.length > 0 ? text[0]!.toUpperCase() + text.slice(1) : text;
}
