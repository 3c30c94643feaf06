/** One camera in the live grid: the picture, its quality and stats, snapshot and full screen, and its state. */
import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import type { DeviceEntry } from '../../shared/ui/api';
import { useApi } from '../app/api-context';
import { useNotify } from '../app/notices';
import { plainError } from '../api/errors';
import { LiveVideo, type LiveVideoStats } from '../video/live-video';
import { watchStreamChoice } from './stream-choice';
import { connectionQuality, QUALITY_TEXT, reconnectText } from './connection-quality';
import { VideoConnection, type VideoState } from './video-connection';

/** What the grid's keyboard shortcuts ask of a tile. */
export interface TileControls {
  snapshot: () => void;
  toggleFullscreen: () => void;
  /** Sound on or off for this tile only (every tile starts muted). */
  toggleMute: () => void;
  focus: () => void;
}

interface LiveTileProps {
  device: DeviceEntry;
  /** 1-based position, shown so that number keys can select it. */
  position: number;
  selected: boolean;
  onSelect: () => void;
  onClose: () => void;
  /** The picture's width / height, once known. */
  onAspect?: (aspect: number) => void;
  /** A small recent picture for the camera's card (a data: URL). */
  onThumbnail?: (dataUrl: string) => void;
  register?: (controls: TileControls | undefined) => void;
  onDragStart?: () => void;
  onDropOn?: () => void;
}

/** How long "Saved" and "Show in folder" stay over the picture after a snapshot. */
const SAVED_NOTE_MS = 8000;
/** A new card thumbnail at most this often. */
const THUMBNAIL_EVERY_MS = 30_000;

export function blobToBase64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the picture'));
    reader.readAsDataURL(blob);
  });
}

export function LiveTile({ device, position, selected, onSelect, onClose, onAspect, onThumbnail, register, onDragStart, onDropOn }: LiveTileProps) {
  const api = useApi();
  const notify = useNotify();
  const id = device.deviceId;
  const tileRef = useRef<HTMLElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const connection = useRef<VideoConnection | undefined>(undefined);
  const [state, setState] = useState<VideoState>({ phase: 'connecting', attempt: 0 });
  const [stats, setStats] = useState<LiveVideoStats>();
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<{ file: string; at: number }>();
  const [fullscreen, setFullscreen] = useState(false);
  const [dropTarget, setDropTarget] = useState(false);
  // Muted by default: a muted video may autoplay, and nobody hears a camera they did not ask to.
  const [muted, setMuted] = useState(true);
  const [hasAudio, setHasAudio] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  const lastThumbnail = useRef(0);
  const keyChanged = device.status === 'key-changed';
  const revoked = device.status === 'revoked';

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return undefined;
    // Sub stream for a small tile, main in full screen or a large tile (stream-choice.ts).
    let stream: 'main' | 'sub' = 'sub';
    const conn = new VideoConnection(({ onStats, onClosed }) => new LiveVideo(api, id, video, { onStats, onClosed, stream, onAudio: () => setHasAudio(true) }), {
      // The countdown counts from when the state changed, not from when the tile appeared.
      onState: (next) => {
        setNow(Date.now());
        setState(next);
        // A new session says again whether the camera sends sound (it may have restarted without).
        if (next.phase !== 'live') setHasAudio(false);
      },
      onStats: setStats,
    });
    connection.current = conn;
    const onPlaying = () => conn.markLive();
    video.addEventListener('playing', onPlaying);
    const stopWatching = watchStreamChoice(video, (choice) => {
      stream = choice;
      conn.selectStream(choice);
    });
    conn.start();
    return () => {
      stopWatching();
      video.removeEventListener('playing', onPlaying);
      conn.stop();
      connection.current = undefined;
    };
  }, [api, id]);

  // The element's muted property (React's `muted` attribute only sets the initial state).
  useEffect(() => {
    if (videoRef.current) videoRef.current.muted = muted;
  }, [muted]);
  const toggleMute = useCallback(() => setMuted((m) => !m), []);

  useEffect(() => {
    if (keyChanged) connection.current?.block('key-changed', 'the camera presented a different key');
    else if (revoked) connection.current?.block('revoked', 'your access to this camera was removed');
  }, [keyChanged, revoked]);

  // The "next try in N s" countdown.
  useEffect(() => {
    if (state.phase !== 'reconnecting') return undefined;
    const timer = window.setInterval(() => setNow(Date.now()), 500);
    return () => window.clearInterval(timer);
  }, [state.phase]);

  // "Saved" hides again, so the controls can hide over the picture.
  useEffect(() => {
    if (!saved) return undefined;
    const timer = window.setTimeout(() => setSaved(undefined), SAVED_NOTE_MS);
    return () => window.clearTimeout(timer);
  }, [saved]);

  useEffect(() => {
    const onChange = () => setFullscreen(document.fullscreenElement === tileRef.current && tileRef.current !== null);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  const aspect = stats?.width && stats.height ? stats.width / stats.height : undefined;
  useEffect(() => {
    if (aspect) onAspect?.(aspect);
    // The tile takes the picture's shape (a CSS variable: the CSP allows no inline style attribute).
    if (aspect) tileRef.current?.style.setProperty('--tile-aspect', String(aspect));
  }, [aspect, onAspect]);

  // A small picture for the camera's card, now and then while live.
  const frames = stats?.frames ?? 0;
  useEffect(() => {
    const video = videoRef.current;
    if (!onThumbnail || !video || state.phase !== 'live' || frames === 0 || !video.videoWidth) return;
    const t = Date.now();
    if (t - lastThumbnail.current < THUMBNAIL_EVERY_MS) return;
    lastThumbnail.current = t;
    const canvas = document.createElement('canvas');
    canvas.width = 320;
    canvas.height = Math.round((320 * video.videoHeight) / video.videoWidth);
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    try {
      onThumbnail(canvas.toDataURL('image/jpeg', 0.7));
    } catch {
      // No picture to take (a tainted or empty canvas): keep the previous thumbnail.
    }
  }, [frames, state.phase, onThumbnail]);

  const phase = keyChanged ? 'key-changed' : revoked && state.phase !== 'revoked' ? 'revoked' : state.phase;
  const name = device.friendlyName || id;

  const snapshot = useCallback(async () => {
    const conn = connection.current;
    if (!conn || conn.phase !== 'live') return;
    setSaving(true);
    try {
      const base64 = await blobToBase64(await conn.snapshotPng());
      const result = await api.saveSnapshot(id, base64);
      if ('file' in result) {
        setSaved({ file: result.file, at: Date.now() });
        notify('success', `Snapshot of ${name} saved`, result.file);
      }
    } catch (err) {
      notify('error', 'The snapshot could not be saved.', plainError(err).message);
    } finally {
      setSaving(false);
    }
  }, [api, id, name, notify]);

  const toggleFullscreen = useCallback(() => {
    const tile = tileRef.current;
    if (!tile) return;
    if (document.fullscreenElement === tile) void document.exitFullscreen();
    else if (typeof tile.requestFullscreen === 'function') void tile.requestFullscreen().catch(() => notify('error', 'Full screen is not available here.'));
    else notify('error', 'Full screen is not available here.');
  }, [notify]);

  useEffect(() => {
    register?.({ snapshot: () => void snapshot(), toggleFullscreen, toggleMute, focus: () => tileRef.current?.focus() });
    return () => register?.(undefined);
  }, [register, snapshot, toggleFullscreen, toggleMute]);

  const showInFolder = (file: string) => {
    api.showSnapshotInFolder(file).then(
      (shown) => {
        if (!shown.opened) notify('info', `The snapshot is in ${shown.folder}`);
      },
      (err: unknown) => notify('error', 'Could not show the folder.', plainError(err).message),
    );
  };

  const retryIn = state.retryAt ? Math.max(0, Math.ceil((state.retryAt - now) / 1000)) : 0;
  // The best rate this stream has shown (over whole seconds of stats) is what it can do.
  const bestFps = useRef(0);
  if (stats && stats.fps > bestFps.current) bestFps.current = stats.fps;
  const quality = connectionQuality(phase, stats, bestFps.current);

  const onDragOver = (event: DragEvent) => {
    if (!onDropOn) return;
    event.preventDefault();
    setDropTarget(true);
  };

  return (
    <article
      ref={tileRef}
      className={`live-tile live-tile--${phase}${selected ? ' live-tile--selected' : ''}${fullscreen ? ' live-tile--fullscreen' : ''}${saved ? ' live-tile--saved' : ''}${dropTarget ? ' live-tile--drop' : ''}`}
      aria-label={`Live video ${position}: ${name}`}
      tabIndex={0}
      draggable={!fullscreen}
      onFocus={onSelect}
      onClick={onSelect}
      onDoubleClick={(event) => {
        if ((event.target as HTMLElement).closest('button')) return;
        toggleFullscreen();
      }}
      onDragStart={(event) => {
        event.dataTransfer.effectAllowed = 'move';
        event.dataTransfer.setData('text/plain', id);
        onDragStart?.();
      }}
      onDragOver={onDragOver}
      onDragLeave={() => setDropTarget(false)}
      onDrop={(event) => {
        event.preventDefault();
        setDropTarget(false);
        onDropOn?.();
      }}
      data-testid={`live-tile-${id}`}
      data-phase={phase}
      data-quality={quality}
      data-frames={stats?.frames ?? 0}
      data-width={stats?.width ?? 0}
      data-fullscreen={fullscreen}
      data-muted={muted}
    >
      <video ref={videoRef} className="live-tile__video" muted playsInline autoPlay aria-label={`Video from ${name}`} data-testid={`live-video-${id}`} />

      <header className="live-tile__top">
        <span className="live-tile__name">
          <span className="live-tile__position" aria-hidden="true">
            {position <= 9 ? position : ''}
          </span>
          <span className={`live-dot live-dot--${phase}`} aria-hidden="true" />
          <span className="live-tile__name-text">{name}</span>
        </span>
        {phase === 'live' || phase === 'reconnecting' ? (
          <span className="live-tile__meta">
            <span className={`quality quality--${quality}`} data-testid={`live-quality-${id}`}>
              {QUALITY_TEXT[quality]}
            </span>
            <span className={`live-tile__sound live-tile__sound--${!hasAudio ? 'none' : muted ? 'muted' : 'on'}`} data-testid={`live-sound-${id}`}>
              {!hasAudio ? 'No sound' : muted ? 'Muted' : 'Sound on'}
            </span>
            {phase === 'live' && stats ? (
              <span className="live-tile__stats" data-testid={`live-stats-${id}`} aria-label="Stream statistics">
                <span title="frames per second">{stats.fps.toFixed(0)} fps</span>
                <span title="bitrate">{formatBitrate(stats.bitrateKbps)}</span>
                <span title="camera to screen latency">{stats.latencyMs === null ? '– ms' : `${stats.latencyMs} ms`}</span>
                {stats.width ? <span title="resolution">{`${stats.width}×${stats.height}`}</span> : null}
              </span>
            ) : null}
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
              <p className="live-tile__overlay-text" data-testid={`live-retry-${id}`} data-retry-in={retryIn}>
                {reconnectText(state.reason, retryIn, state.attempt)}
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
        {saved ? (
          <span className="live-tile__saved" data-testid={`live-snapshot-result-${id}`} data-file={saved.file} title={saved.file}>
            <span className="live-tile__saved-name">
              Saved {baseName(saved.file)}
              <span className="visually-hidden"> to {saved.file}</span>
            </span>
            <button type="button" className="tile-button tile-button--link" onClick={() => showInFolder(saved.file)} data-testid={`live-show-folder-${id}`}>
              Show in folder
            </button>
          </span>
        ) : (
          <span />
        )}
        <span className="live-tile__buttons">
          <button
            type="button"
            className={`tile-button${muted ? '' : ' tile-button--active'}`}
            onClick={toggleMute}
            aria-label={`${muted ? 'Unmute' : 'Mute'} ${name}`}
            aria-keyshortcuts="M"
            title={muted ? 'Unmute (M)' : 'Mute (M)'}
            data-testid={`live-mute-${id}`}
            data-muted={muted}
          >
            {muted ? 'Unmute' : 'Mute'}
          </button>
          <button type="button" className="tile-button" onClick={() => void snapshot()} disabled={phase !== 'live' || saving} data-testid={`live-snapshot-${id}`} title="Snapshot (S)">
            {saving ? 'Saving…' : 'Snapshot'}
          </button>
          <button type="button" className="tile-button" onClick={toggleFullscreen} data-testid={`live-fullscreen-${id}`} aria-pressed={fullscreen} title={fullscreen ? 'Exit full screen (Esc)' : 'Full screen (F or double-click)'}>
            {fullscreen ? 'Exit full screen' : 'Full screen'}
          </button>
          {fullscreen ? null : (
            <button type="button" className="tile-button" onClick={onClose} aria-label={`Close ${name}`} title={`Stop watching ${name}`} data-testid={`live-close-${id}`}>
              Close
            </button>
          )}
        </span>
      </footer>
    </article>
  );
}

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}

function formatBitrate(kbps: number): string {
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${kbps} kbit/s`;
}
