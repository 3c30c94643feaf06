/** This install's identity: its key fingerprint (what camera owners see in their user lists) and how the key is kept. */
import type { IdentityView } from '../../shared/ui/api';
import { Fingerprint } from '../components/Fingerprint';

const PROTECTION: Record<IdentityView['keyProtection'], string> = {
  'os-keychain': 'Encrypted by this computer\'s keychain',
  'file-0600': 'In a file only you can read',
  unprotected: 'Not encrypted',
};

export function IdentityFooter({ identity }: { identity: IdentityView | undefined }) {
  return (
    <footer className="app-footer" data-testid="identity">
      {identity ? (
        <>
          <div className="app-footer__item">
            <span className="app-footer__label">This computer's key</span>
            <Fingerprint value={identity.fingerprint} label="This computer's key" testId="identity-fingerprint" />
          </div>
          <div className="app-footer__item">
            <span className="app-footer__label">Key storage</span>
            <span className={`protection protection--${identity.keyProtection}`} title={identity.keyProtectionNote} data-testid="identity-protection" data-protection={identity.keyProtection}>
              {PROTECTION[identity.keyProtection]}
            </span>
          </div>
        </>
      ) : (
        <span className="muted small">Reading this computer's identity…</span>
      )}
    </footer>
  );
}

export function KeyProtectionWarning({ identity }: { identity: IdentityView | undefined }) {
  if (identity?.keyProtection !== 'unprotected') return null;
  return (
    <div className="banner banner--warning" role="alert" data-testid="identity-warning">
      <strong>Your key is stored without encryption on this computer.</strong> Anyone who can read your files could copy it and pose as you to your cameras. {identity.keyProtectionNote}
    </div>
  );
}
