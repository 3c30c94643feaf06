/**
 * Short messages about what just happened ("Snapshot saved to …", "Removed bob"), announced to
 * screen readers and dismissed after a while or by hand.
 */
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';

export type NoticeKind = 'info' | 'success' | 'error';

interface Notice {
  id: number;
  kind: NoticeKind;
  text: string;
  detail?: string | undefined;
}

type Notify = (kind: NoticeKind, text: string, detail?: string) => void;

const NoticeContext = createContext<Notify>(() => undefined);

export function useNotify(): Notify {
  return useContext(NoticeContext);
}

export function NoticeProvider({ children, timeoutMs = 7000 }: { children: ReactNode; timeoutMs?: number }) {
  const [notices, setNotices] = useState<Notice[]>([]);
  const nextId = useRef(1);

  const dismiss = useCallback((id: number) => setNotices((list) => list.filter((n) => n.id !== id)), []);
  const notify = useCallback<Notify>(
    (kind, text, detail) => {
      const id = nextId.current++;
      setNotices((list) => [...list.slice(-3), { id, kind, text, detail }]);
      window.setTimeout(() => dismiss(id), kind === 'error' ? timeoutMs * 2 : timeoutMs);
    },
    [dismiss, timeoutMs],
  );
  const value = useMemo(() => notify, [notify]);

  return (
    <NoticeContext.Provider value={value}>
      {children}
      <div className="notices" role="status" aria-live="polite" data-testid="notices">
        {notices.map((n) => (
          <div key={n.id} className={`notice notice--${n.kind}`} data-testid={`notice-${n.kind}`}>
            <div className="notice__body">
              <p className="notice__text">{n.text}</p>
              {n.detail ? <p className="notice__detail">{n.detail}</p> : null}
            </div>
            <button type="button" className="icon-button notice__close" aria-label="Dismiss" onClick={() => dismiss(n.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </NoticeContext.Provider>
  );
}
