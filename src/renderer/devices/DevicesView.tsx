/** The camera list: the ones you paired with, and the ones announcing themselves on this network. */
import { useEffect, useState } from 'react';
import type { DeviceEntry } from '../../shared/ui/api';
import { useApi } from '../app/api-context';
import { useNotify } from '../app/notices';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Spinner } from '../components/Spinner';
import { InvitationBox } from '../pairing/InvitationBox';
import { AddByAddress } from './AddByAddress';
import { DeviceCard } from './DeviceCard';

/** How long the "looking for cameras" spinner turns before it says none was found. */
export const SEARCH_SPINNER_MS = 8000;

interface DevicesViewProps {
  devices: DeviceEntry[];
  loaded: boolean;
  watching: readonly string[];
  thumbnails?: Readonly<Record<string, string>>;
  onPair: (device: DeviceEntry) => void;
  onPairInvitation: (pairingString: string) => void;
  onWatch: (deviceId: string) => void;
  onAccess: (deviceId: string) => void;
}

export function DevicesView({ devices, loaded, watching, thumbnails = {}, onPair, onPairInvitation, onWatch, onAccess }: DevicesViewProps) {
  const api = useApi();
  const notify = useNotify();
  const [forgetting, setForgetting] = useState<DeviceEntry>();
  const paired = devices.filter((d) => d.paired);
  const found = devices.filter((d) => !d.paired);
  const [searching, setSearching] = useState(true);
  useEffect(() => {
    if (!loaded || found.length > 0) return undefined;
    setSearching(true);
    const timer = globalThis.setTimeout(() => setSearching(false), SEARCH_SPINNER_MS);
    return () => globalThis.clearTimeout(timer);
  }, [loaded, found.length]);

  const card = (device: DeviceEntry) => (
    <DeviceCard
      key={device.deviceId}
      device={device}
      watching={watching.includes(device.deviceId)}
      thumbnail={thumbnails[device.deviceId]}
      onPair={() => onPair(device)}
      onWatch={() => onWatch(device.deviceId)}
      onAccess={() => onAccess(device.deviceId)}
      onForget={() => setForgetting(device)}
    />
  );

  return (
    <div className="page" data-testid="devices-view">
      <div className="page__header">
        <div>
          <h1 className="page__title">Cameras</h1>
          <p className="page__subtitle">Cameras you have paired with, and the ones announcing themselves on this network.</p>
        </div>
      </div>

      <InvitationBox
        onSubmit={onPairInvitation}
        onRemoteAccess={(accessString) => {
          api.addRemoteAccess(accessString).then(
            ({ deviceId }) => notify('success', `Stored remote access to ${devices.find((d) => d.deviceId === deviceId)?.friendlyName ?? deviceId}: when you are away, its video comes through the relay.`),
            (err: unknown) => notify('error', `Could not store the remote access: ${(err as Error).message}`),
          );
        }}
      />

      <section className="section" aria-labelledby="paired-heading" data-testid="devices-paired">
        <h2 className="section__title" id="paired-heading">
          Paired <span className="section__count">{paired.length}</span>
        </h2>
        {paired.length > 0 ? (
          <ul className="card-grid">{paired.map(card)}</ul>
        ) : (
          <p className="empty">No paired cameras yet. Pair with one found on this network below, or use an invitation.</p>
        )}
      </section>

      <section className="section" aria-labelledby="found-heading" data-testid="devices-found">
        <h2 className="section__title" id="found-heading">
          Found on this network <span className="section__count">{found.length}</span>
        </h2>
        {found.length > 0 ? (
          <ul className="card-grid">{found.map(card)}</ul>
        ) : (
          <p className="empty empty--searching" data-testid="devices-searching" data-searching={!loaded || searching}>
            {!loaded ? <Spinner label="Loading…" /> : searching ? <Spinner label="Looking for cameras on this network…" /> : 'No other cameras found on this network. lancam keeps listening; if a camera does not appear, add it by address below.'}
          </p>
        )}
        <AddByAddress onAdded={(device) => notify('success', device.paired ? `${device.friendlyName || device.deviceId} is reachable at that address.` : `Found ${device.friendlyName || device.deviceId}: pair with it below.`)} />
      </section>

      {forgetting ? (
        <ConfirmDialog
          title={`Forget ${forgetting.friendlyName || forgetting.deviceId}?`}
          confirmLabel="Forget this camera"
          danger
          onClose={() => setForgetting(undefined)}
          onConfirm={async () => {
            await api.forget(forgetting.deviceId);
            notify('success', `Forgot ${forgetting.friendlyName || forgetting.deviceId}.`);
          }}
        >
          <p>This computer deletes the camera's pinned key and stops trusting it. The camera still lists you as a user until an administrator removes you.</p>
          {forgetting.status === 'key-changed' ? (
            <p>
              <strong>Only do this if you replaced or reset the camera yourself.</strong> After forgetting it, you can pair again: compare the key shown during pairing with the one the camera prints.
            </p>
          ) : (
            <p>To watch it again, you will have to pair again.</p>
          )}
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
