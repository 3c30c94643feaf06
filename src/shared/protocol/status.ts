/**
 * Status codes, as in Nabto Edge's CoAP API (2.01 -> 201, 2.05 -> 205, ...).
 */
export const Status = {
  Created: 201,
  Deleted: 202,
  Changed: 204,
  Content: 205,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  PayloadTooLarge: 413,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
} as const;

export type StatusCode = (typeof Status)[keyof typeof Status];

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Status).map(([name, code]) => [code, name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()]),
);

export function statusName(status: number): string {
  return NAMES[status] ?? `status ${status}`;
}
