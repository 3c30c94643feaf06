/** Add a camera by address (host:port) when mDNS cannot see it (another subnet, multicast blocked). */
import { useId, useState, type FormEvent } from 'react';
import type { DeviceEntry } from '../../shared/ui/api';
import { useApi } from '../app/api-context';
import { plainError, type PlainError } from '../api/errors';
import { ErrorMessage } from '../components/ErrorMessage';

/** "cam.local:5592", "192.168.1.20:5592", "[fe80::1]:5592"; the port defaults to lancam's 5592. */
export function parseHostPort(text: string): { host: string; port: number } | string {
  const value = text.trim();
  if (!value) return 'Enter the camera\'s address, for example 192.168.1.20:5592.';
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(value);
  const plain = /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value);
  const match = bracketed ?? plain;
  if (!match) return 'That is not an address: use host:port, for example 192.168.1.20:5592.';
  const port = match[2] === undefined ? 5592 : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return 'The port is a number from 1 to 65535.';
  return { host: match[1]!, port };
}

export function AddByAddress({ onAdded }: { onAdded: (device: DeviceEntry) => void }) {
  const api = useApi();
  const id = useId();
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<PlainError>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseHostPort(text);
    if (typeof parsed === 'string') {
      setError({ message: parsed });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onAdded(await api.addDeviceByAddress(parsed.host, parsed.port));
      setText('');
    } catch (err) {
      setError(plainError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <details className="add-address" data-testid="add-by-address">
      <summary className="add-address__summary">Add a camera by address</summary>
      <form className="add-address__form" onSubmit={(e) => void submit(e)}>
        <p className="muted small">If a camera does not appear by itself (it is on another network segment, or the network blocks discovery), enter its address as lancam-device prints it.</p>
        <div className="field">
          <label className="field__label" htmlFor={`${id}-address`}>
            Address (host:port)
          </label>
          <div className="input-row">
            <input id={`${id}-address`} className="input" value={text} onChange={(e) => setText(e.target.value)} placeholder="192.168.1.20:5592" autoComplete="off" spellCheck={false} data-testid="add-address-input" />
            <button type="submit" className="button button--primary" disabled={busy} data-testid="add-address-submit">
              {busy ? 'Connecting…' : 'Add'}
            </button>
          </div>
        </div>
        {error ? <ErrorMessage error={error} testId="add-address-error" /> : null}
      </form>
    </details>
  );
}
