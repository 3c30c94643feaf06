/**
 * Bodies of the public device endpoints, validated by the client (a device is not trusted
 * to send well-formed data either).
 */
import { z } from 'zod';
import { FINGERPRINT_RE } from '../fingerprint';

export const PAIRING_MODES = ['local-initial', 'local-open', 'password-open', 'password-invite'] as const;
export type PairingMode = (typeof PAIRING_MODES)[number];

export const deviceIdSchema = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/);
export const friendlyNameSchema = z.string().min(1).max(64);

/** The mode names on the wire, as Nabto's GET /iam/pairing writes them (nm_iam_pairing_get.c). */
export const NABTO_PAIRING_MODE_NAMES = {
  'password-open': 'PasswordOpen',
  'local-open': 'LocalOpen',
  'password-invite': 'PasswordInvite',
  'local-initial': 'LocalInitial',
} as const satisfies Record<PairingMode, string>;
export type NabtoPairingMode = (typeof NABTO_PAIRING_MODE_NAMES)[PairingMode];

const MODE_OF_NABTO_NAME = new Map<string, PairingMode>(Object.entries(NABTO_PAIRING_MODE_NAMES).map(([mode, name]) => [name, mode as PairingMode]));

/** A mode as the device sends it (Nabto's name) turned into lancam's internal name. */
const wireModeSchema = z
  .string()
  .max(64)
  .transform((name) => MODE_OF_NABTO_NAME.get(name) ?? ((PAIRING_MODES as readonly string[]).includes(name) ? (name as PairingMode) : undefined));

/**
 * GET /iam/pairing: what this connection may do to pair, in Nabto's shape ("Modes" with Nabto's
 * names "LocalInitial", "LocalOpen", "PasswordOpen", "PasswordInvite"; "NabtoVersion", "AppName",
 * "AppVersion", "ProductId", "DeviceId", "FriendlyName"). A client reads the modes into lancam's
 * internal names; it also takes the older lancam names and skips names it does not know (a newer
 * Nabto device may offer more).
 */
export const pairingInfoSchema = z.object({
  Modes: z
    .array(wireModeSchema)
    .max(16)
    .transform((modes) => modes.filter((m): m is PairingMode => m !== undefined)),
  NabtoVersion: z.string().max(64).optional(),
  AppName: z.string().max(64).optional(),
  AppVersion: z.string().max(64).optional(),
  ProductId: deviceIdSchema,
  DeviceId: deviceIdSchema,
  FriendlyName: z.string().max(64),
  /** lancam: seconds left in the local-open pairing window, for clients that could use it now. */
  PairingWindowSeconds: z.number().int().min(0).max(3600).optional(),
  /** lancam: the role local open pairing gives (Nabto's OpenPairingRole), when local open is offered. */
  OpenPairingRole: z.string().max(64).optional(),
});
export type PairingInfo = z.output<typeof pairingInfoSchema>;
/** GET /iam/pairing as the device writes it. */
export type PairingInfoWire = Omit<PairingInfo, 'Modes'> & { Modes: NabtoPairingMode[] };

/** GET /device/info */
export const deviceInfoSchema = z.object({
  ProductId: deviceIdSchema,
  DeviceId: deviceIdSchema,
  FriendlyName: z.string().max(64),
  Fingerprint: z.string().regex(FINGERPRINT_RE),
  ProtocolVersion: z.string().max(16),
  AppName: z.string().max(64),
  AppVersion: z.string().max(64),
});
export type DeviceInfo = z.infer<typeof deviceInfoSchema>;
