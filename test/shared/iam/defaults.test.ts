import { describe, expect, it } from 'vitest';

import { ALL_ACTIONS, IamActions, PAIRING_ACTIONS, WebrtcActions, type LancamAction } from '../../../src/shared/iam/actions';
import { DefaultRoles, createDefaultIam } from '../../../src/shared/iam/defaults';
import { evaluate, type IamAttributes } from '../../../src/shared/iam/policy-engine';
import { IamFormatError, parseIamConfig, parseIamState, serializeIamConfig, serializeIamState } from '../../../src/shared/iam/schema';

/** A predictable generator: "r000000000001", "r000000000002", ... of the requested length. */
function counterStrings(): { randomString: (length: number) => string; lengths: number[] } {
  const lengths: number[] = [];
  let counter = 0;
  return {
    lengths,
    randomString: (length) => {
      lengths.push(length);
      counter += 1;
      return `r${String(counter).padStart(length - 1, '0')}`;
    },
  };
}

function defaults() {
  return createDefaultIam({ friendlyName: 'Front door', randomString: counterStrings().randomString });
}

describe('createDefaultIam', () => {
  it('creates the default state for a fresh camera', () => {
    const generator = counterStrings();
    const { state } = createDefaultIam({ friendlyName: 'Front door', randomString: generator.randomString });
    expect(state).toEqual({
      Version: 2,
      FriendlyName: 'Front door',
      LocalInitialPairing: true,
      InitialPairingUsername: 'admin',
      LocalOpenPairing: true,
      OpenPairingRole: 'Guest',
      PasswordInvitePairing: true,
      PasswordOpenPairing: false,
      OpenPairingPassword: 'r00000000001',
      OpenPairingSct: 'r00000000002',
      Users: [{ Username: 'admin', Role: 'Administrator', Fingerprints: [], ServerConnectToken: 'r00000000003' }],
    });
    expect(generator.lengths).toEqual([12, 12, 12]);
  });

  it('creates the four roles, with Unpaired for unknown clients', () => {
    const { config } = defaults();
    expect(config.Config.UnpairedRole).toBe('Unpaired');
    expect(config.Roles.map((role) => role.Id)).toEqual(['Unpaired', 'Administrator', 'Standard', 'Guest']);
  });

  it('survives save and load unchanged', () => {
    const { config, state } = defaults();
    expect(parseIamConfig(JSON.parse(JSON.stringify(serializeIamConfig(config))))).toEqual(config);
    expect(parseIamState(JSON.parse(JSON.stringify(serializeIamState(state))))).toEqual(state);
  });

  it('rejects a friendly name that could not be saved', () => {
    expect(() => createDefaultIam({ friendlyName: 'x'.repeat(65), randomString: counterStrings().randomString })).toThrow(IamFormatError);
  });

  it('rejects generator output that could not be saved', () => {
    expect(() => createDefaultIam({ friendlyName: 'Cam', randomString: () => 's'.repeat(65) })).toThrow(/OpenPairingSct/);
  });
});

describe('default roles: who may do what', () => {
  const { config } = defaults();
  const SELF = 'self-user';
  const OTHER = 'other-user';

  /** The actions a role may perform on its own user, or on another user. */
  function allowedActions(role: string, about: 'self' | 'other'): LancamAction[] {
    const attributes: IamAttributes =
      role === DefaultRoles.Unpaired
        ? { 'IAM:Username': OTHER }
        : { 'Connection:Username': SELF, 'IAM:Username': about === 'self' ? SELF : OTHER };
    return ALL_ACTIONS.filter((action) => evaluate(config, role, action, attributes).effect === 'allow');
  }

  const VIDEO = [WebrtcActions.Signaling, WebrtcActions.VideoStream];

  it('Unpaired may only pair', () => {
    expect(allowedActions(DefaultRoles.Unpaired, 'other')).toEqual([...PAIRING_ACTIONS].sort(byActionOrder));
    expect(allowedActions(DefaultRoles.Unpaired, 'self')).toEqual([...PAIRING_ACTIONS].sort(byActionOrder));
  });

  it('Guest may view video and read its own user', () => {
    expect(allowedActions(DefaultRoles.Guest, 'self')).toEqual([IamActions.GetUser, ...VIDEO]);
    expect(allowedActions(DefaultRoles.Guest, 'other')).toEqual(VIDEO);
  });

  it('Standard may view video, list roles and manage only itself, never its role', () => {
    expect(allowedActions(DefaultRoles.Standard, 'self')).toEqual([
      IamActions.GetUser,
      IamActions.DeleteUser,
      IamActions.SetUserDisplayName,
      IamActions.SetUserPassword,
      IamActions.SetUserFingerprint,
      IamActions.ListRoles,
      ...VIDEO,
    ]);
    expect(allowedActions(DefaultRoles.Standard, 'other')).toEqual([IamActions.ListRoles, ...VIDEO]);
    expect(evaluate(config, DefaultRoles.Standard, IamActions.SetUserRole, { 'Connection:Username': SELF, 'IAM:Username': SELF }).effect).toBe('deny');
  });

  it('Administrator may do everything, to any user', () => {
    expect(allowedActions(DefaultRoles.Administrator, 'self')).toEqual(ALL_ACTIONS);
    expect(allowedActions(DefaultRoles.Administrator, 'other')).toEqual(ALL_ACTIONS);
    expect(ALL_ACTIONS).toHaveLength(27);
  });

  it('a Standard user cannot reach another user by leaving out who it is', () => {
    expect(evaluate(config, DefaultRoles.Standard, IamActions.DeleteUser, { 'IAM:Username': OTHER }).effect).toBe('deny');
  });
});

function byActionOrder(a: LancamAction, b: LancamAction): number {
  return ALL_ACTIONS.indexOf(a) - ALL_ACTIONS.indexOf(b);
}
