// The IAM config and state a fresh lancam camera starts with.
//
// Roles:
//   Unpaired       what any client the camera does not know gets (Config.UnpairedRole): learn the
//                  pairing modes and pair, nothing else.
//   Administrator  everything: users, roles, settings, pairing and video.
//   Standard       video; list roles; read, delete, and set the display name, password and
//                  fingerprints of its own user (never its role).
//   Guest          video; read its own user.
// "Own user" is the condition IAM:Username == ${Connection:Username}, as in Nabto's own configs.
//
// State: like Nabto's TCP tunnel device, the initial user "admin" exists from the start with the
// Administrator role and no fingerprint; the first client to pair locally with Local Initial pairing
// becomes it. Local Open pairing is on but gives only Guest, and the device honours it only inside
// its pairing window (device logic). Password Invite is on, Password Open off.

import { IamActions, PAIRING_ACTIONS, WebrtcActions } from './actions';
import { IamAttributeNames } from './policy-engine';
import {
  assertStateMatchesConfig,
  parseIamConfig,
  parseIamState,
  type IamConfig,
  type IamState,
  type IamStatement,
} from './schema';

export const DefaultRoles = {
  Unpaired: 'Unpaired',
  Administrator: 'Administrator',
  Standard: 'Standard',
  Guest: 'Guest',
} as const;

export const INITIAL_PAIRING_USERNAME = 'admin';

/** Length of generated pairing passwords and server connect tokens, as Nabto's apps use. */
const RANDOM_STRING_LENGTH = 12;

export interface DefaultIamOptions {
  /** Shown to people and advertised over mDNS; at most 64 bytes of UTF-8. */
  readonly friendlyName: string;
  /**
   * A cryptographically random string of `length` characters, used for the open pairing password
   * and the server connect tokens. Injected because src/shared has no crypto.
   */
  readonly randomString: (length: number) => string;
}

const OWN_USER_ONLY = [
  { StringEquals: { [IamAttributeNames.IamUsername]: [`\${${IamAttributeNames.ConnectionUsername}}`] } },
];

function allow(actions: readonly string[], conditions?: IamStatement['Conditions']): IamStatement {
  return conditions === undefined
    ? { Effect: 'Allow', Actions: [...actions] }
    : { Effect: 'Allow', Actions: [...actions], Conditions: conditions };
}

/** The default IAM config (Nabto `Version: 1`). */
function defaultConfig(): IamConfig {
  const manageIam = Object.values(IamActions).filter((action) => !PAIRING_ACTIONS.includes(action));
  return {
    Version: 1,
    Config: { UnpairedRole: DefaultRoles.Unpaired },
    Policies: [
      { Id: 'Pairing', Statements: [allow(PAIRING_ACTIONS)] },
      { Id: 'ManageIam', Statements: [allow(manageIam)] },
      { Id: 'WatchVideo', Statements: [allow(Object.values(WebrtcActions))] },
      {
        Id: 'ManageOwnUser',
        Statements: [
          allow(
            [
              IamActions.GetUser,
              IamActions.DeleteUser,
              IamActions.SetUserDisplayName,
              IamActions.SetUserPassword,
              IamActions.SetUserFingerprint,
            ],
            OWN_USER_ONLY,
          ),
          allow([IamActions.ListRoles]),
        ],
      },
      { Id: 'ReadOwnUser', Statements: [allow([IamActions.GetUser], OWN_USER_ONLY)] },
    ],
    Roles: [
      { Id: DefaultRoles.Unpaired, Policies: ['Pairing'] },
      { Id: DefaultRoles.Administrator, Policies: ['ManageIam', 'WatchVideo', 'Pairing'] },
      { Id: DefaultRoles.Standard, Policies: ['WatchVideo', 'ManageOwnUser'] },
      { Id: DefaultRoles.Guest, Policies: ['WatchVideo', 'ReadOwnUser'] },
    ],
  };
}

/** The default IAM state (Nabto `Version: 2`). */
function defaultState({ friendlyName, randomString }: DefaultIamOptions): IamState {
  return {
    Version: 2,
    FriendlyName: friendlyName,
    LocalInitialPairing: true,
    InitialPairingUsername: INITIAL_PAIRING_USERNAME,
    LocalOpenPairing: true,
    OpenPairingRole: DefaultRoles.Guest,
    PasswordInvitePairing: true,
    PasswordOpenPairing: false,
    OpenPairingPassword: randomString(RANDOM_STRING_LENGTH),
    OpenPairingSct: randomString(RANDOM_STRING_LENGTH),
    Users: [
      {
        Username: INITIAL_PAIRING_USERNAME,
        Role: DefaultRoles.Administrator,
        Fingerprints: [],
        ServerConnectToken: randomString(RANDOM_STRING_LENGTH),
      },
    ],
  };
}

/**
 * The IAM config and state for a fresh camera. Both pass the same validation as a loaded file, so
 * a bad friendly name or generator output throws IamFormatError here rather than at the next load.
 */
export function createDefaultIam(options: DefaultIamOptions): { config: IamConfig; state: IamState } {
  const config = parseIamConfig(defaultConfig());
  const state = parseIamState(defaultState(options));
  assertStateMatchesConfig(state, config);
  return { config, state };
}
