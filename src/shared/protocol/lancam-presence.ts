/**
 * lancam's extension of Nabto's IAM user object (GET /iam/me, GET /iam/users/{u}): who is watching
 * now, when each user was last connected, and when each of their keys was added. One optional
 * `Lancam` member, so a Nabto client simply ignores it.
 */
import { z } from 'zod';

const isoTime = z.string().max(40).regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'not an ISO time');

export const lancamUserExtensionSchema = z.object({
  /** A video stream of this user's is open now. */
  WatchingNow: z.boolean(),
  /** Connected now, or when last connected (since the camera started keeping track). */
  ConnectedNow: z.boolean(),
  LastSeen: isoTime.optional(),
  /** Key fingerprint -> when the camera first had it (absent: from before it kept track). */
  KeysAdded: z.record(z.string().regex(/^[0-9a-f]{64}$/), isoTime),
});
export type LancamUserExtension = z.infer<typeof lancamUserExtensionSchema>;
