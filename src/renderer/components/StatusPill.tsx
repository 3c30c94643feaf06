import type { DeviceStatus } from '../../shared/ui/api';

const LABELS: Record<DeviceStatus, string> = { online: 'Online', offline: 'Offline', 'key-changed': 'Key changed', revoked: 'Access removed' };

export function StatusPill({ status, testId }: { status: DeviceStatus; testId?: string }) {
  return (
    <span className={`pill pill--${status}`} data-testid={testId} data-status={status}>
      <span className="pill__dot" aria-hidden="true" />
      {LABELS[status]}
    </span>
  );
}
