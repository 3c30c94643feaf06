/**
 * The guided pairing flow. From a camera found on the network: check its key, choose one of the
 * ways it offers (only those), pair, done. From an invitation: check what it names, pair, done.
 * Every failure is explained in plain language, with what to do next.
 */
import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import type { PairingMode } from '../../shared/protocol/device-api';
import type { DeviceEntry, PairingOffer, PairRequest, PairResultView } from '../../shared/ui/api';
import { parsePairingString, type PairingString } from '../../shared/pairing-string';
import { isValidPassword, isValidUsername } from '../../shared/iam/schema';
import { useApi } from '../app/api-context';
import { plainError, PAIRING_BUTTON_HINT, type PlainError } from '../api/errors';
import { ErrorMessage } from '../components/ErrorMessage';
import { Fingerprint } from '../components/Fingerprint';
import { Modal } from '../components/Modal';
import { Spinner } from '../components/Spinner';
import { RichText } from '../components/RichText';
import { MODE_TEXT, orderModes } from './pairing-modes';
import { formatSeconds, usePairingWindow } from './use-pairing-window';
import { lockoutText, retryAfterSeconds } from './lockout';

export type PairingTarget = { kind: 'device'; device: DeviceEntry } | { kind: 'invitation'; pairingString: string };

interface PairingDialogProps {
  target: PairingTarget;
  devices: readonly DeviceEntry[];
  onClose: () => void;
  onWatch: (deviceId: string) => void;
}

type Step = 'check' | 'method' | 'pairing' | 'done';

const DEVICE_STEPS: { step: Step; label: string }[] = [
  { step: 'check', label: 'Check the camera' },
  { step: 'method', label: 'Choose how' },
  { step: 'pairing', label: 'Pair' },
  { step: 'done', label: 'Done' },
];
const INVITATION_STEPS: { step: Step; label: string }[] = [
  { step: 'check', label: 'Check the invitation' },
  { step: 'pairing', label: 'Pair' },
  { step: 'done', label: 'Done' },
];

export function PairingDialog({ target, devices, onClose, onWatch }: PairingDialogProps) {
  const api = useApi();
  const [step, setStep] = useState<Step>('check');
  const [error, setError] = useState<PlainError>();
  const [result, setResult] = useState<PairResultView>();
  /** The camera's lockout: when it accepts the next password attempt (ms since the epoch). */
  const [lockedUntil, setLockedUntil] = useState<number>();

  const invitation = useMemo<{ parsed?: PairingString; error?: string }>(() => {
    if (target.kind !== 'invitation') return {};
    try {
      return { parsed: parsePairingString(target.pairingString) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }, [target]);

  const deviceId = target.kind === 'device' ? target.device.deviceId : invitation.parsed?.deviceId;
  const device = devices.find((d) => d.deviceId === deviceId) ?? (target.kind === 'device' ? target.device : undefined);
  const name = device?.friendlyName || deviceId || 'the camera';
  const steps = target.kind === 'device' ? DEVICE_STEPS : INVITATION_STEPS;

  const pair = async (request: PairRequest, backTo: Step) => {
    setError(undefined);
    setStep('pairing');
    try {
      setResult(await api.pair(request));
      setStep('done');
    } catch (err) {
      const wait = retryAfterSeconds(err);
      setLockedUntil(wait !== undefined ? Date.now() + wait * 1000 : undefined);
      setError(plainError(err, 'pairing'));
      setStep(backTo);
    }
  };

  // Each step moves the focus to its main action (or the step itself), for keyboard and screen-reader users.
  const content = useRef<HTMLDivElement>(null);
  const firstStep = useRef(true);
  // After a failure, the focus goes where the fix is (the password, to retype it), not to a choice.
  useEffect(() => {
    if (firstStep.current) {
      firstStep.current = false;
      return;
    }
    const el = content.current;
    if (!el) return;
    const fix = error ? el.querySelector<HTMLInputElement>('[data-focus-on-error]:not([disabled])') : null;
    if (fix) {
      fix.focus();
      fix.select();
      return;
    }
    (el.querySelector<HTMLElement>('[data-autofocus]:not([disabled])') ?? el).focus();
  }, [step, error]);

  const busy = step === 'pairing';
  return (
    <Modal title={`Pair with ${result?.friendlyName || name}`} onClose={onClose} dismissable={!busy} testId="pairing-dialog" size="wide">
      <StepList steps={steps} current={step} />
      <div className="pairing__content" ref={content} tabIndex={-1} data-testid="pairing-step" data-step={step}>
        {target.kind === 'device' ? (
          <DeviceFlow device={target.device} step={step} setStep={setStep} error={error} setError={setError} lockedUntil={lockedUntil} onPair={(req) => void pair(req, 'method')} onClose={onClose} />
        ) : (
          <InvitationFlow
            pairingString={target.pairingString}
            parsed={invitation.parsed}
            parseError={invitation.error}
            device={device}
            step={step}
            error={error}
            onPair={() => void pair({ pairingString: target.pairingString }, 'check')}
            onClose={onClose}
          />
        )}
        {step === 'pairing' ? <PairingProgress name={name} /> : null}
        {step === 'done' && result ? <Done result={result} online={device?.status === 'online' || device === undefined} onWatch={() => onWatch(result.deviceId)} onClose={onClose} /> : null}
      </div>
    </Modal>
  );
}

function StepList({ steps, current }: { steps: { step: Step; label: string }[]; current: Step }) {
  const index = steps.findIndex((s) => s.step === current);
  return (
    <ol className="steps" aria-label="Pairing steps">
      {steps.map((s, i) => (
        <li key={s.step} className={`steps__item${i < index ? ' steps__item--done' : ''}${i === index ? ' steps__item--current' : ''}`} aria-current={i === index ? 'step' : undefined}>
          <span className="steps__number" aria-hidden="true">
            {i < index ? '✓' : i + 1}
          </span>
          <span className="steps__label">{s.label}</span>
        </li>
      ))}
    </ol>
  );
}

interface DeviceFlowProps {
  device: DeviceEntry;
  step: Step;
  setStep: (step: Step) => void;
  error: PlainError | undefined;
  setError: (error: PlainError | undefined) => void;
  lockedUntil: number | undefined;
  onPair: (request: PairRequest) => void;
  onClose: () => void;
}

/** Seconds until `until`, ticking (read from the clock at each render, never from a stale copy). */
function useSecondsUntil(until: number | undefined): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (until === undefined) return undefined;
    const timer = globalThis.setInterval(() => setTick((n) => n + 1), 1000);
    return () => globalThis.clearInterval(timer);
  }, [until]);
  return until === undefined ? 0 : Math.max(0, Math.ceil((until - Date.now()) / 1000));
}

function DeviceFlow({ device, step, setStep, error, setError, lockedUntil, onPair, onClose }: DeviceFlowProps) {
  const api = useApi();
  const [offer, setOffer] = useState<PairingOffer>();
  const [offerError, setOfferError] = useState<PlainError>();
  const [loading, setLoading] = useState(true);
  const [mode, setMode] = useState<PairingMode>();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [fieldError, setFieldError] = useState<string>();
  /** The camera offered button pairing during this dialog (its window may have closed since). */
  const [sawButton, setSawButton] = useState(false);
  const pairingWindow = usePairingWindow(api, device.deviceId, offer?.pairingWindowSeconds);
  const formId = useId();
  const lockSeconds = useSecondsUntil(lockedUntil);

  const loadOffer = useCallback(async () => {
    setLoading(true);
    setOfferError(undefined);
    try {
      const next = await api.pairingOffer(device.deviceId);
      setOffer(next);
      if (next.modes.includes('local-open')) setSawButton(true);
      // A closed pairing window keeps the chosen way (and what was typed): it can be reopened.
      setMode((current) => (current && (next.modes.includes(current) || current === 'local-open') ? current : orderModes(next.modes)[0]));
    } catch (err) {
      setOfferError(plainError(err, 'pairing'));
    } finally {
      setLoading(false);
    }
  }, [api, device.deviceId]);

  useEffect(() => {
    void loadOffer();
  }, [loadOffer]);

  // The camera's answer arrives after the dialog opened: its main action takes the focus then.
  const checkPanel = useRef<HTMLDivElement>(null);
  const offerLoaded = offer !== undefined;
  useEffect(() => {
    if (!offerLoaded || step !== 'check') return;
    const panel = checkPanel.current;
    if (panel && !panel.contains(document.activeElement)) panel.querySelector<HTMLElement>('[data-autofocus]:not([disabled])')?.focus();
  }, [offerLoaded, step]);

  // The button was pressed (or the window closed): what the camera offers has changed.
  const windowOpen = pairingWindow?.open;
  useEffect(() => {
    if (windowOpen !== undefined) void loadOffer();
  }, [windowOpen, loadOffer]);

  if (step === 'check') {
    const keyDiffers = offer !== undefined && offer.fingerprint !== device.fingerprint;
    return (
      <div className="pairing__panel" ref={checkPanel}>
        {loading && !offer ? <Spinner label={`Connecting to ${device.friendlyName || device.deviceId}…`} /> : null}
        {offerError ? (
          <>
            <ErrorMessage error={offerError} testId="pairing-error" />
            <div className="button-row button-row--end">
              <button type="button" className="button button--ghost" onClick={onClose}>
                Cancel
              </button>
              <button type="button" className="button button--primary" onClick={() => void loadOffer()} data-testid="pairing-retry">
                Try again
              </button>
            </div>
          </>
        ) : null}
        {offer ? (
          <>
            <p className="pairing__lead">
              You are about to pair with <strong>{offer.friendlyName || offer.deviceId}</strong> <span className="muted">({offer.deviceId})</span>. This is the key it presented:
            </p>
            <div className="fingerprint-box">
              <Fingerprint value={offer.fingerprint} size="large" label="Camera key" testId="pairing-fingerprint" />
            </div>
            <p className="muted small">Compare it with the key the camera shows (lancam-device prints it when it starts). If they differ, do not pair: someone may be impersonating the camera.</p>
            {keyDiffers ? (
              <div className="callout callout--danger" role="alert">
                The camera announced a different key on the network than the one it presented when connected. Do not pair unless you know why.
              </div>
            ) : null}
            {offer.previousFingerprint ? (
              <div className="callout callout--warning" data-testid="pairing-previous-key">
                <p>
                  <strong>This is not the key you had pinned for this camera.</strong> Pair only if you replaced or reset it yourself and the key above is the one the camera shows.
                </p>
                <p className="small">The key you had pinned:</p>
                <Fingerprint value={offer.previousFingerprint} label="Key you had pinned" testId="pairing-previous-fingerprint" />
              </div>
            ) : null}
            {offer.paired ? <div className="callout callout--info">This computer is already paired with this camera.</div> : null}
            {offer.knownUser && !offer.paired ? (
              <div className="callout callout--info" data-testid="pairing-known-user">
                This camera already knows this computer as <strong>{offer.knownUser.username}</strong>
                {offer.knownUser.role ? ` (${offer.knownUser.role})` : ''}. Confirming the key pins it again; nothing changes on the camera.
              </div>
            ) : null}
            <div className="button-row button-row--end">
              <button type="button" className="button button--ghost" onClick={onClose}>
                Cancel
              </button>
              <button type="button" className="button button--primary" onClick={() => setStep('method')} data-testid="pairing-continue" data-autofocus>
                The key matches, continue
              </button>
            </div>
          </>
        ) : null}
      </div>
    );
  }

  if (step !== 'method' || !offer) return null;

  if (offer.knownUser && !offer.paired) {
    return (
      <div className="pairing__panel" data-testid="pairing-repin">
        <p className="pairing__lead">
          {offer.friendlyName || offer.deviceId} already knows this computer as <strong>{offer.knownUser.username}</strong>
          {offer.knownUser.role ? (
            <>
              {' '}
              with the role <strong>{offer.knownUser.role}</strong>
            </>
          ) : null}
          . Pin this key for it again?
        </p>
        <div className="fingerprint-box">
          <Fingerprint value={offer.fingerprint} size="large" label="Camera key to pin" testId="pairing-repin-fingerprint" />
        </div>
        {error ? <ErrorMessage error={error} testId="pairing-error" /> : null}
        <div className="button-row button-row--end">
          <button type="button" className="button button--ghost" onClick={() => setStep('check')}>
            Back
          </button>
          <button type="button" className="button button--primary" onClick={() => onPair({ deviceId: device.deviceId, mode: 'auto' })} data-testid="pairing-repin-confirm" data-autofocus>
            Pin this key
          </button>
        </div>
      </div>
    );
  }

  const windowClosed = mode === 'local-open' && !offer.modes.includes('local-open');
  const modes = orderModes(windowClosed ? [...offer.modes, 'local-open'] : offer.modes);
  const text = mode ? MODE_TEXT[mode] : undefined;
  const describe = (m: PairingMode) =>
    m === 'local-open'
      ? MODE_TEXT[m].description.replace(
          'You get the camera\'s standard role for new users.',
          offer.openPairingRole ? `You get the role ${offer.openPairingRole}.` : 'You get the role the camera\'s owner chose for new users.',
        )
      : MODE_TEXT[m].description;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!mode || !text || windowClosed || lockSeconds > 0) return;
    const user = username.trim();
    if (text.needsUsername && (text.invitedUsername || user) && !isValidUsername(user)) {
      setFieldError('A username is 1 to 64 characters: lower-case letters, digits, _, . and -');
      return;
    }
    if (text.needsPassword && !isValidPassword(password)) {
      setFieldError('The password is 4 to 64 characters.');
      return;
    }
    setFieldError(undefined);
    setError(undefined);
    onPair({ deviceId: device.deviceId, mode, ...(text.needsUsername && user ? { username: user } : {}), ...(text.needsPassword ? { password } : {}) });
  };

  return (
    <form className="pairing__panel" onSubmit={submit} aria-labelledby={`${formId}-legend`}>
      {modes.length === 0 ? (
        <div className="callout callout--info" data-testid="pairing-no-modes">
          <p>
            <strong>{offer.friendlyName || offer.deviceId} is not accepting new users right now.</strong>
          </p>
          <p>
            Ask its owner for an invitation and paste it under "Have an invitation?", or use its pairing button: <RichText text={PAIRING_BUTTON_HINT} />
          </p>
          <div className="button-row">
            <button type="button" className="button button--secondary" onClick={() => void loadOffer()} disabled={loading} data-testid="pairing-check-again">
              {loading ? 'Checking…' : 'Check again'}
            </button>
          </div>
        </div>
      ) : (
        <fieldset className="mode-list">
          <legend className="mode-list__legend" id={`${formId}-legend`}>
            How do you want to pair?
          </legend>
          {modes.map((m) => (
            <label key={m} className={`mode-option${mode === m ? ' mode-option--selected' : ''}`} data-testid={`pairing-mode-${m}`}>
              <input type="radio" name={`${formId}-mode`} value={m} checked={mode === m} onChange={() => setMode(m)} data-autofocus={mode === m ? true : undefined} />
              <span className="mode-option__text">
                <span className="mode-option__title">{MODE_TEXT[m].title}</span>
                <span className="mode-option__description">
                  <RichText text={describe(m)} />
                </span>
              </span>
            </label>
          ))}
        </fieldset>
      )}

      {mode === 'local-open' ? <WindowCountdown state={pairingWindow} closed={windowClosed || (sawButton && !offer.modes.includes('local-open'))} /> : null}
      {modes.length > 0 && !modes.includes('local-open') && !modes.includes('local-initial') ? (
        <p className="muted small" data-testid="pairing-button-exists">
          This camera also has a pairing button: <RichText text={PAIRING_BUTTON_HINT.replace(', then try again.', ', and pairing with the button appears here.')} />
        </p>
      ) : null}

      {text?.needsUsername ? (
        <div className="field">
          <label className="field__label" htmlFor={`${formId}-username`}>
            {text.invitedUsername ? 'Invited username' : 'Your username on this camera'}
          </label>
          <input
            id={`${formId}-username`}
            className="input"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            placeholder={text.invitedUsername ? 'from the invitation' : 'e.g. alice (optional)'}
            required={text.invitedUsername}
            data-testid="pairing-username"
          />
        </div>
      ) : null}
      {text?.needsPassword ? (
        <div className="field">
          <label className="field__label" htmlFor={`${formId}-password`}>
            {text.invitedUsername ? 'One-time password' : 'Pairing password'}
          </label>
          <input id={`${formId}-password`} className="input" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="off" required data-testid="pairing-password" data-focus-on-error />
        </div>
      ) : null}
      {fieldError ? (
        <p className="field__error" role="alert">
          {fieldError}
        </p>
      ) : null}
      {error ? <ErrorMessage error={lockedUntil !== undefined ? { ...error, message: lockoutText(lockSeconds) } : error} testId="pairing-error" /> : null}
      {lockedUntil !== undefined && lockSeconds > 0 ? (
        <p className="visually-hidden" data-testid="pairing-lockout" data-seconds={lockSeconds}>
          {lockSeconds} seconds left
        </p>
      ) : null}

      <div className="button-row button-row--end">
        <button type="button" className="button button--ghost" onClick={() => setStep('check')}>
          Back
        </button>
        <button type="submit" className="button button--primary" disabled={!mode || windowClosed || lockSeconds > 0} data-testid="pairing-submit">
          Pair
        </button>
      </div>
    </form>
  );
}

function WindowCountdown({ state, closed }: { state: ReturnType<typeof usePairingWindow>; closed: boolean }) {
  if (!state?.open && closed) {
    return (
      <div className="callout callout--warning" role="status" data-testid="pairing-window-closed">
        <strong>The pairing window closed.</strong> <RichText text={PAIRING_BUTTON_HINT.replace(', then try again.', ' again to reopen it.')} /> What you typed is kept.
      </div>
    );
  }
  if (!state?.open) {
    return (
      <div className="callout callout--info" data-testid="pairing-window-hint">
        <RichText text={PAIRING_BUTTON_HINT.replace(', then try again.', '.')} /> The camera then accepts new users for a short while.
      </div>
    );
  }
  return (
    <div className="countdown" data-testid="pairing-countdown" data-seconds={state.secondsLeft}>
      <div className="countdown__text">
        <span>Pairing is open on the camera</span>
        <strong>{formatSeconds(state.secondsLeft)} left</strong>
      </div>
      <progress className="countdown__bar" max={state.total || 120} value={state.secondsLeft} aria-label="Time left to pair" />
    </div>
  );
}

interface InvitationFlowProps {
  pairingString: string;
  parsed: PairingString | undefined;
  parseError: string | undefined;
  device: DeviceEntry | undefined;
  step: Step;
  error: PlainError | undefined;
  onPair: () => void;
  onClose: () => void;
}

function InvitationFlow({ parsed, parseError, device, step, error, onPair, onClose }: InvitationFlowProps) {
  if (step !== 'check') return null;
  if (!parsed) {
    return (
      <div className="pairing__panel">
        <ErrorMessage error={{ message: 'That does not look like a valid invitation.', ...(parseError ? { detail: parseError } : {}) }} testId="pairing-error" />
        <div className="button-row button-row--end">
          <button type="button" className="button button--primary" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    );
  }
  const announcedDiffers = parsed.fingerprint !== undefined && device !== undefined && !device.paired && device.fingerprint !== parsed.fingerprint;
  return (
    <div className="pairing__panel">
      <dl className="facts">
        <div>
          <dt>Camera</dt>
          <dd data-testid="invitation-camera">
            {device?.friendlyName ? (
              <>
                <strong>{device.friendlyName}</strong> <span className="muted">({parsed.deviceId})</span>
              </>
            ) : (
              parsed.deviceId
            )}
          </dd>
        </div>
        {parsed.username ? (
          <div>
            <dt>You will be</dt>
            <dd data-testid="invitation-username">{parsed.username}</dd>
          </div>
        ) : null}
        <div>
          <dt>Kind</dt>
          <dd>{parsed.username ? 'Invitation (one-time password)' : 'Camera pairing password'}</dd>
        </div>
      </dl>
      {parsed.fingerprint ? (
        <>
          <p className="pairing__lead">The camera's key, as the invitation names it. lancam refuses a camera presenting any other key:</p>
          <div className="fingerprint-box">
            <Fingerprint value={parsed.fingerprint} size="large" label="Camera key" testId="pairing-fingerprint" />
          </div>
        </>
      ) : (
        <div className="callout callout--warning">This invitation does not name the camera's key. Pair only if it came from the camera's owner; the password still proves the camera is the one they meant.</div>
      )}
      {announcedDiffers ? (
        <div className="callout callout--danger" role="alert">
          The camera with this id on your network announces a different key than the invitation names. Pairing will be refused. Ask the owner for a new invitation.
        </div>
      ) : null}
      {device === undefined ? <p className="muted small">This camera has not been seen on this network yet; lancam will look for it when you pair.</p> : null}
      {error ? <ErrorMessage error={error} testId="pairing-error" /> : null}
      <div className="button-row button-row--end">
        <button type="button" className="button button--ghost" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="button button--primary" onClick={onPair} data-testid="pairing-submit" data-autofocus>
          {error ? 'Try again' : 'Pair'}
        </button>
      </div>
    </div>
  );
}

function PairingProgress({ name }: { name: string }) {
  return (
    <div className="pairing__panel pairing__progress" data-testid="pairing-progress">
      <progress className="progress-indeterminate" aria-label="Pairing" />
      <p>
        Pairing with <strong>{name}</strong>…
      </p>
      <p className="muted small">lancam checks the camera's key first; a password is proven without being sent.</p>
    </div>
  );
}

function Done({ result, online, onWatch, onClose }: { result: PairResultView; online: boolean; onWatch: () => void; onClose: () => void }) {
  return (
    <div className="pairing__panel pairing__done" data-testid="pairing-done" data-device-id={result.deviceId} data-username={result.username}>
      <div className="done-mark" aria-hidden="true">
        ✓
      </div>
      <p className="pairing__lead">
        {result.alreadyPaired ? 'This computer was already paired with ' : 'Paired with '}
        <strong>{result.friendlyName || result.deviceId}</strong>.
      </p>
      <p>
        You are <strong data-testid="pairing-done-username">{result.username}</strong>
        {result.role ? (
          <>
            {' '}
            with the role <strong data-testid="pairing-done-role">{result.role}</strong>
          </>
        ) : null}
        .
      </p>
      <p className="muted small">This computer has pinned the camera's key and will refuse a camera presenting any other.</p>
      <div className="button-row button-row--end">
        <button type="button" className="button button--ghost" onClick={onClose} data-testid="pairing-finish">
          Done
        </button>
        {online ? (
          <button
            type="button"
            className="button button--primary"
            onClick={() => {
              onWatch();
              onClose();
            }}
            data-testid="pairing-watch"
            data-autofocus
          >
            Watch now
          </button>
        ) : null}
      </div>
    </div>
  );
}
