/**
 * The live grid: the paired cameras you opened, as large as the window allows at the video's
 * shape (1, 2, 2x2, 3x3, 4x4), in an order you set by dragging. Keys: 1–9 select a tile, S saves a
 * snapshot, F (or a double-click) goes full screen and Esc comes back, M mutes or unmutes (tiles open muted), [ and ] move the selected
 * tile, ? lists the keys.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent as ReactKeyboardEvent } from 'react';
import type { DeviceEntry } from '../../shared/ui/api';
import { Modal } from '../components/Modal';
import { chooseLayout, moveBefore, type GridLayout } from './grid-layout';
import { LiveTile, type TileControls } from './LiveTile';

interface LiveViewProps {
  devices: readonly DeviceEntry[];
  open: readonly string[];
  onToggle: (deviceId: string) => void;
  onReorder: (order: string[]) => void;
  onThumbnail?: (deviceId: string, dataUrl: string) => void;
  /** False while another page is shown: the streams keep running, the keys do nothing. */
  active?: boolean;
}

const GRID_GAP = 12;

export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: '1 – 9', what: 'Select a camera in the grid' },
  { keys: 'S', what: 'Save a snapshot of the selected camera' },
  { keys: 'F or double-click', what: 'Full screen for the selected camera' },
  { keys: 'Esc', what: 'Leave full screen' },
  { keys: '[ and ]', what: 'Move the selected camera earlier or later in the grid' },
  { keys: 'M', what: 'Mute or unmute the selected camera (every camera opens muted)' },
  { keys: '?', what: 'Show these keys' },
];

/** Whether a camera can be watched now: on this network, or away but reachable through the relay. */
export function isWatchable(device: DeviceEntry): boolean {
  return device.status === 'online' || (device.status === 'offline' && device.remoteAccess === true);
}

export function LiveView({ devices, open, onToggle, onReorder, onThumbnail, active = true }: LiveViewProps) {
  const paired = devices.filter((d) => d.paired);
  const tiles = open.map((id) => devices.find((d) => d.deviceId === id)).filter((d): d is DeviceEntry => d !== undefined);
  const gridRef = useRef<HTMLDivElement>(null);
  const [space, setSpace] = useState({ width: 0, height: 0 });
  const [aspects, setAspects] = useState<Record<string, number>>({});
  const [selected, setSelected] = useState<string>();
  const [help, setHelp] = useState(false);
  const dragging = useRef<string | undefined>(undefined);
  const controls = useRef(new Map<string, TileControls>());

  // The grid measures the space it has: its width, and the window's height below its top.
  useLayoutEffect(() => {
    const grid = gridRef.current;
    if (!grid) return undefined;
    const measure = () => {
      const rect = grid.getBoundingClientRect();
      setSpace({ width: Math.floor(grid.clientWidth), height: Math.max(240, Math.floor(window.innerHeight - rect.top - 24)) });
    };
    measure();
    const observer = typeof ResizeObserver === 'function' ? new ResizeObserver(measure) : undefined;
    observer?.observe(grid);
    window.addEventListener('resize', measure);
    return () => {
      observer?.disconnect();
      window.removeEventListener('resize', measure);
    };
  }, [tiles.length > 0, active]);

  const aspectList = tiles.map((t) => aspects[t.deviceId]).filter((a): a is number => a !== undefined);
  const aspect = aspectList.length > 0 ? aspectList.reduce((a, b) => a + b, 0) / aspectList.length : 16 / 9;
  const layout: GridLayout | undefined = tiles.length > 0 && space.width > 0 ? chooseLayout(tiles.length, { width: space.width, height: space.height, gap: GRID_GAP, aspect }) : undefined;

  // The layout reaches CSS as variables (the CSP allows no inline style attribute).
  useLayoutEffect(() => {
    const grid = gridRef.current;
    if (!grid || !layout) return;
    grid.style.setProperty('--grid-columns', String(layout.columns));
    grid.style.setProperty('--tile-width', `${layout.tileWidth}px`);
    grid.style.setProperty('--grid-gap', `${GRID_GAP}px`);
  }, [layout?.columns, layout?.tileWidth]);

  const selectedId = selected !== undefined && open.includes(selected) ? selected : tiles[0]?.deviceId;

  const onKey = useCallback(
    (event: KeyboardEvent | ReactKeyboardEvent) => {
      if (!active || help || event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target;
      if (target instanceof HTMLElement && (target.closest('input, textarea, select, [role="dialog"]') || target.isContentEditable)) return;
      const key = event.key;
      if (key === 'Escape' && document.fullscreenElement) {
        event.preventDefault();
        void document.exitFullscreen();
        return;
      }
      if (key === '?') {
        event.preventDefault();
        setHelp(true);
        return;
      }
      if (/^[1-9]$/.test(key)) {
        const id = tiles[Number(key) - 1]?.deviceId;
        if (id) {
          event.preventDefault();
          setSelected(id);
          controls.current.get(id)?.focus();
        }
        return;
      }
      if ((key === '[' || key === ']') && selectedId) {
        const at = open.indexOf(selectedId);
        const to = key === '[' ? at - 1 : at + 1;
        if (at >= 0 && to >= 0 && to < open.length) {
          event.preventDefault();
          const next = [...open];
          next.splice(at, 1);
          next.splice(to, 0, selectedId);
          onReorder(next);
        }
        return;
      }
      const tile = selectedId ? controls.current.get(selectedId) : undefined;
      if (!tile) return;
      if (key === 's' || key === 'S') {
        event.preventDefault();
        tile.snapshot();
      } else if (key === 'f' || key === 'F') {
        event.preventDefault();
        tile.toggleFullscreen();
      } else if (key === 'm' || key === 'M') {
        event.preventDefault();
        tile.toggleMute();
      }
    },
    [active, help, tiles, selectedId, open, onReorder],
  );

  useEffect(() => {
    if (!active) return undefined;
    const listener = (event: KeyboardEvent) => onKey(event);
    window.addEventListener('keydown', listener);
    return () => window.removeEventListener('keydown', listener);
  }, [active, onKey]);

  const registerFor = useCallback((id: string) => (c: TileControls | undefined) => (c ? controls.current.set(id, c) : controls.current.delete(id)), []);
  const registers = useRef(new Map<string, (c: TileControls | undefined) => void>());
  const registerOf = (id: string) => {
    let r = registers.current.get(id);
    if (!r) {
      r = registerFor(id);
      registers.current.set(id, r);
    }
    return r;
  };
  const aspectSetters = useRef(new Map<string, (a: number) => void>());
  const aspectOf = (id: string) => {
    let f = aspectSetters.current.get(id);
    if (!f) {
      f = (a: number) => setAspects((all) => (Math.abs((all[id] ?? 0) - a) < 0.01 ? all : { ...all, [id]: a }));
      aspectSetters.current.set(id, f);
    }
    return f;
  };
  const thumbnailSetters = useRef(new Map<string, (url: string) => void>());
  const thumbnailOf = (id: string) => {
    let f = thumbnailSetters.current.get(id);
    if (!f) {
      f = (url: string) => onThumbnail?.(id, url);
      thumbnailSetters.current.set(id, f);
    }
    return f;
  };

  return (
    <div className="page page--live" data-testid="live-view" hidden={!active}>
      <div className="page__header">
        <div>
          <h1 className="page__title">Live view</h1>
          <p className="page__subtitle">Choose the cameras to watch. Video goes straight from each camera to this computer. Drag a tile to move it.</p>
        </div>
        <div className="page__actions">
          {layout ? (
            <span className="layout-name" data-testid="live-layout" data-columns={layout.columns}>
              Layout {layout.name}
            </span>
          ) : null}
          <button type="button" className="button button--ghost" onClick={() => setHelp(true)} aria-keyshortcuts="?" data-testid="live-help">
            Keys <kbd>?</kbd>
          </button>
        </div>
      </div>
      {paired.length > 0 ? (
        <div className="chip-row" role="group" aria-label="Cameras to watch">
          {paired.map((d) => {
            const on = open.includes(d.deviceId);
            const available = isWatchable(d);
            return (
              <button key={d.deviceId} type="button" className={`chip${on ? ' chip--on' : ''}`} aria-pressed={on} disabled={!available && !on} onClick={() => onToggle(d.deviceId)} data-testid={`live-toggle-${d.deviceId}`}>
                <span className={`chip__dot chip__dot--${d.status}`} aria-hidden="true" />
                {d.friendlyName || d.deviceId}
                {!available ? <span className="chip__note">{d.status === 'key-changed' ? 'key changed' : d.status === 'revoked' ? 'access removed' : 'offline'}</span> : d.status === 'offline' ? <span className="chip__note">via relay</span> : null}
              </button>
            );
          })}
        </div>
      ) : null}
      {tiles.length > 0 ? (
        <div ref={gridRef} className="live-grid" data-testid="live-grid" data-layout={layout?.name} data-columns={layout?.columns}>
          {tiles.map((d, i) => (
            <LiveTile
              key={d.deviceId}
              device={d}
              position={i + 1}
              selected={d.deviceId === selectedId}
              onSelect={() => setSelected(d.deviceId)}
              onClose={() => onToggle(d.deviceId)}
              onAspect={aspectOf(d.deviceId)}
              onThumbnail={thumbnailOf(d.deviceId)}
              register={registerOf(d.deviceId)}
              onDragStart={() => {
                dragging.current = d.deviceId;
              }}
              onDropOn={() => {
                const from = dragging.current;
                dragging.current = undefined;
                if (from && from !== d.deviceId) onReorder(moveBefore(open, from, d.deviceId));
              }}
            />
          ))}
        </div>
      ) : (
        <div className="empty empty--large">
          <p className="empty__title">No cameras open</p>
          <p>{paired.length > 0 ? 'Pick a camera above to start watching.' : 'Pair with a camera first, under Cameras.'}</p>
        </div>
      )}
      {help ? (
        <Modal title="Keyboard shortcuts" onClose={() => setHelp(false)} testId="shortcuts-help">
          <dl className="shortcuts">
            {SHORTCUTS.map((s) => (
              <div key={s.keys} className="shortcuts__row">
                <dt>
                  <kbd>{s.keys}</kbd>
                </dt>
                <dd>{s.what}</dd>
              </div>
            ))}
          </dl>
          <div className="button-row button-row--end">
            <button type="button" className="button button--primary" onClick={() => setHelp(false)} data-autofocus data-testid="shortcuts-close">
              Close
            </button>
          </div>
        </Modal>
      ) : null}
    </div>
  );
}
