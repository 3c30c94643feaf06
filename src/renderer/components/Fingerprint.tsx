/**
 * A key fingerprint in its checkable form: 16 groups of 4 hex digits (the same grouping the CLI and
 * `lancam-device` print), so two people can compare it group by group.
 */
import { groupFingerprint, isFingerprint } from '../../shared/fingerprint';

export function fingerprintGroups(fingerprint: string): string[] {
  return isFingerprint(fingerprint) ? groupFingerprint(fingerprint).split(' ') : [fingerprint];
}

interface FingerprintProps {
  value: string;
  /** 'compact': two lines of 8 groups (lists); 'large': four lines of 4 (comparing). */
  size?: 'compact' | 'large';
  label?: string;
  testId?: string;
}

export function Fingerprint({ value, size = 'compact', label, testId }: FingerprintProps) {
  const groups = fingerprintGroups(value);
  return (
    <code className={`fingerprint fingerprint--${size}`} data-testid={testId} data-fingerprint={value} title={label ? `${label}: ${groups.join(' ')}` : groups.join(' ')}>
      {label ? <span className="visually-hidden">{label}: </span> : null}
      <span className="fingerprint__groups">
        {groups.map((group, i) => (
          <span key={i} className="fingerprint__group">
            {group}
            {i < groups.length - 1 ? ' ' : ''}
          </span>
        ))}
      </span>
    </code>
  );
}
