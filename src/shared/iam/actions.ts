// IAM action names: the strings that appear in policy statements' `Actions` and that request
// handlers pass to the policy engine. The IAM:* names are exactly Nabto Edge's (the CoAP handlers in
// nabto-embedded-sdk src/modules/iam/coap_handler/), so Nabto configs mean the same thing here.

export const IamActions = {
  // Users
  ListUsers: 'IAM:ListUsers',
  GetUser: 'IAM:GetUser',
  CreateUser: 'IAM:CreateUser',
  DeleteUser: 'IAM:DeleteUser',
  SetUserRole: 'IAM:SetUserRole',
  SetUserUsername: 'IAM:SetUserUsername',
  SetUserDisplayName: 'IAM:SetUserDisplayName',
  SetUserPassword: 'IAM:SetUserPassword',
  /** Nabto checks this one action for setting, adding and removing a user's fingerprints. */
  SetUserFingerprint: 'IAM:SetUserFingerprint',
  /** Nabto: the user's server connect token, push settings, notification categories and OAuth subject. */
  SetUserSct: 'IAM:SetUserSct',
  SetUserFcm: 'IAM:SetUserFcm',
  SendUserFcmTest: 'IAM:SendUserFcmTest',
  SetUserNotificationCategories: 'IAM:SetUserNotificationCategories',
  ListNotificationCategories: 'IAM:ListNotificationCategories',
  SetUserOauthSubject: 'IAM:SetUserOauthSubject',
  ListRoles: 'IAM:ListRoles',
  /** lancam extension: issue or revoke a user's shared secret for signaling through a relay. */
  SetUserRemoteSecret: 'IAM:SetUserRemoteSecret',
  // Device settings
  GetSettings: 'IAM:GetSettings',
  SetSettings: 'IAM:SetSettings',
  SetDeviceInfo: 'IAM:SetDeviceInfo',
  // Pairing
  GetPairing: 'IAM:GetPairing',
  PairingLocalOpen: 'IAM:PairingLocalOpen',
  PairingLocalInitial: 'IAM:PairingLocalInitial',
  PairingPasswordOpen: 'IAM:PairingPasswordOpen',
  PairingPasswordInvite: 'IAM:PairingPasswordInvite',
} as const;

/** The camera's own actions, checked before WebRTC signaling and before sending video. */
export const WebrtcActions = {
  Signaling: 'Webrtc:Signaling',
  VideoStream: 'Webrtc:VideoStream',
} as const;

export type IamAction = (typeof IamActions)[keyof typeof IamActions];
export type WebrtcAction = (typeof WebrtcActions)[keyof typeof WebrtcActions];
export type LancamAction = IamAction | WebrtcAction;

/** What an unpaired client may do: learn the pairing modes and pair. */
export const PAIRING_ACTIONS: readonly IamAction[] = [
  IamActions.GetPairing,
  IamActions.PairingLocalInitial,
  IamActions.PairingLocalOpen,
  IamActions.PairingPasswordOpen,
  IamActions.PairingPasswordInvite,
];

/** Every action lancam checks. */
export const ALL_ACTIONS: readonly LancamAction[] = [...Object.values(IamActions), ...Object.values(WebrtcActions)];
