import { useId, useRef, useState } from 'react';

/** A read-only value with a Copy button (falls back to selecting the text for Ctrl-C). */
export function CopyField({ label, value, testId, multiline = false }: { label: string; value: string; testId: string; multiline?: boolean }) {
  const id = useId();
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const [copied, setCopied] = useState<'yes' | 'select' | undefined>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      ref.current?.select();
      setCopied('select');
    }
    window.setTimeout(() => setCopied(undefined), 2500);
  };
  return (
    <div className="field copy-field">
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      <div className="copy-field__row">
        {multiline ? (
          <textarea id={id} ref={ref} className="input input--mono copy-field__value" readOnly value={value} rows={5} data-testid={testId} onFocus={(e) => e.currentTarget.select()} />
        ) : (
          <input id={id} ref={ref} className="input input--mono copy-field__value" readOnly value={value} data-testid={testId} onFocus={(e) => e.currentTarget.select()} />
        )}
        <button type="button" className="button button--secondary" onClick={() => void copy()} data-testid={`${testId}-copy`}>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
      </div>
      {copied === 'select' ? <p className="field__hint">Selected: press Ctrl+C (⌘C) to copy.</p> : null}
    </div>
  );
}
