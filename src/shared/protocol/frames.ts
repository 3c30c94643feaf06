/**
 * Frames on the lancam channel (JSON text frames over mutual-TLS WebSocket).
 *
 *   request   {type:'req', id, method, path, body?}       client -> device (either side may ask)
 *   response  {type:'res', id, status, body?}             answer to the request with the same id
 *   event     {type:'evt', event, body?}                  pushed, no answer
 *
 * Requests mirror Nabto Edge's CoAP API: same paths, same status codes. Every frame is
 * validated with these schemas before anything else looks at it.
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = '1';

/** Hard caps shared by both ends. */
export const FrameLimits = {
  /** Largest frame either side accepts, in bytes. */
  maxFrameBytes: 64 * 1024,
  maxPathLength: 256,
  /** Request ids are client-chosen positive integers below this. */
  maxRequestId: 2 ** 31,
} as const;

export const METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
export type Method = (typeof METHODS)[number];

const path = z
  .string()
  .min(1)
  .max(FrameLimits.maxPathLength)
  .regex(/^(\/[A-Za-z0-9_.~%-]+)+$/, 'path must be /segment[/segment...] of URL-safe characters');

export const requestFrameSchema = z.strictObject({
  type: z.literal('req'),
  id: z.number().int().min(1).max(FrameLimits.maxRequestId),
  method: z.enum(METHODS),
  path,
  body: z.unknown().optional(),
});

export const responseFrameSchema = z.strictObject({
  type: z.literal('res'),
  id: z.number().int().min(0).max(FrameLimits.maxRequestId),
  status: z.number().int().min(100).max(599),
  body: z.unknown().optional(),
});

export const eventFrameSchema = z.strictObject({
  type: z.literal('evt'),
  event: z.string().min(1).max(64).regex(/^[a-z][a-z0-9.-]*$/),
  body: z.unknown().optional(),
});

export const frameSchema = z.discriminatedUnion('type', [requestFrameSchema, responseFrameSchema, eventFrameSchema]);

export type RequestFrame = z.infer<typeof requestFrameSchema>;
export type ResponseFrame = z.infer<typeof responseFrameSchema>;
export type EventFrame = z.infer<typeof eventFrameSchema>;
export type Frame = z.infer<typeof frameSchema>;

/** The body of every non-2xx response. */
export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export type ParseResult = { ok: true; frame: Frame } | { ok: false; message: string };

/** Parses one text frame; never throws. */
export function parseFrame(text: string): ParseResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'frame is not valid JSON' };
  }
  const result = frameSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    return { ok: false, message: `invalid frame${where}: ${issue?.message ?? 'schema mismatch'}` };
  }
  return { ok: true, frame: result.data };
}
