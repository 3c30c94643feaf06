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

/** GET /iam/pairing: what this connection may do to pair (Nabto: "Modes", "NabtoVersion", ...). */
export const pairingInfoSchema = z.object({
  Modes: z.array(z.enum(PAIRING_MODES)),
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
export type PairingInfo = z.infer<typeof pairingInfoSchema>;

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
