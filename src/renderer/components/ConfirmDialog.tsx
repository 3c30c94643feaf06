import { useState, type ReactNode } from 'react';
import { Modal } from './Modal';
import { ErrorMessage } from './ErrorMessage';
import { plainError, type ErrorContext, type PlainError } from '../api/errors';

interface ConfirmDialogProps {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  danger?: boolean;
  errorContext?: ErrorContext;
}

/**
 * Asks before something that cannot be undone; shows the failure in place if it fails. The focus
 * starts on the safe choice (Cancel), so Enter pressed twice never removes or forgets anything.
 */
export function ConfirmDialog({ title, children, confirmLabel, onConfirm, onClose, danger = false, errorContext = 'general' }: ConfirmDialogProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<PlainError>();
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      onClose();
    } catch (err) {
      setError(plainError(err, errorContext));
      setBusy(false);
    }
  };
  return (
    <Modal title={title} onClose={onClose} dismissable={!busy} testId="confirm-dialog" tone={danger ? 'danger' : 'normal'}>
      <div className="confirm__text">{children}</div>
      {error ? <ErrorMessage error={error} testId="confirm-error" /> : null}
      <div className="button-row button-row--end">
        <button type="button" className="button button--ghost" onClick={onClose} disabled={busy} data-testid="confirm-cancel" data-autofocus>
          Cancel
        </button>
        <button type="button" className={`button ${danger ? 'button--danger' : 'button--primary'}`} onClick={() => void confirm()} disabled={busy} data-testid="confirm-ok">
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
