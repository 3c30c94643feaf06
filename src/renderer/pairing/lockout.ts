/** The camera's lockout after too many password attempts: how long it asked us to wait. */
import { statusOf } from '../api/errors';

/** Seconds from the camera's 429 answer ("… try again in 68 s"), when it says. */
export function retryAfterSeconds(err: unknown): number | undefined {
  if (statusOf(err) !== 429) return undefined;
  const message = err instanceof Error ? err.message : String((err as { message?: unknown } | null)?.message ?? '');
  const match = /try again in (\d{1,6}) ?s\b/i.exec(message) ?? /retry[- ]after[^0-9]{0,3}(\d{1,6})/i.exec(message);
  return match ? Number(match[1]) : undefined;
}

export function lockoutText(secondsLeft: number): string {
  if (secondsLeft <= 0) return 'You can try again now.';
  const m = Math.floor(secondsLeft / 60);
  const s = secondsLeft % 60;
  const left = m > 0 ? `${m} min ${String(s).padStart(2, '0')} s` : `${s} s`;
  return `Too many attempts: the camera accepts the next try in ${left}.`;
}
