/**
 * TURN credentials in coturn's REST-API form (`use-auth-secret` + `static-auth-secret`):
 * username `<expiry unix seconds>:<user>`, password base64(HMAC-SHA1(secret, username)). The TURN
 * server recomputes the HMAC from the shared secret and refuses the name once the expiry passed,
 * so the relay hands out short-lived credentials without a database.
 */
import { createHmac } from 'node:crypto';
import type { TurnCredentials } from '../shared/protocol/relay-api';
import type { IceServer } from '../shared/protocol/webrtc-api';

export interface TurnConfig {
  /** TURN URLs, e.g. `turn:127.0.0.1:3478?transport=udp` (at most 8). */
  urls: string[];
  /** coturn's static-auth-secret. */
  secret: string;
  /** Credential lifetime in seconds. */
  ttlSeconds: number;
}

/**
 * Five minutes. coturn (use-auth-secret) checks a REST credential's expiry only when it derives
 * the key for a new allocation (an Allocate on a new 5-tuple); the Refresh, CreatePermission and
 * ChannelBind requests of an allocation that exists use the key kept with it (coturn issues
 * #774/#1204; seen in coturn 4.6's verbose log, test/e2e/relay-turn.test.ts). So a session lives
 * on past its credential's expiry, while a credential that leaked or was kept is good for at most
 * this long to open an allocation. Every new session asks the relay again (video-service.ts
 * `setup` -> relay-link `extraIceServers`), so nothing needs to last longer than the setup.
 */
export const DEFAULT_TURN_TTL_SECONDS = 300;
/** Lowest `--turn-ttl`: enough for one session setup (tests use it to see expiry happen). */
export const MIN_TURN_TTL_SECONDS = 5;
export const MAX_TURN_URLS = 8;
const TURN_URL_RE = /^turns?:[^\s]{1,500}$/;
const TURN_USER_RE = /^[a-z0-9_.-]{1,64}$/;

/**
 * Credentials valid until `now` + `ttlSeconds`. `now` is in milliseconds (Date.now()); the expiry
 * in the username and in `expiresAt` is in unix seconds, as coturn reads it.
 */
export function turnCredentials(secret: string, user: string, ttlSeconds: number, urls: string[], now: number = Date.now()): TurnCredentials {
  if (!secret) throw new Error('TURN secret is empty');
  if (!TURN_USER_RE.test(user)) throw new Error('TURN user must match [a-z0-9_.-]{1,64}');
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new Error('TURN ttl must be a whole number of seconds >= 1');
  const expiresAt = Math.floor(now / 1000) + ttlSeconds;
  const username = `${expiresAt}:${user}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, urls: [...urls], expiresAt };
}

/** The iceServers a camera gets for `user`: none without a TURN configuration. */
export function iceServersFor(config: TurnConfig | undefined, user: string, now: number = Date.now()): IceServer[] {
  if (!config || config.urls.length === 0) return [];
  const c = turnCredentials(config.secret, user, config.ttlSeconds, config.urls, now);
  return [{ urls: c.urls, username: c.username, credential: c.credential }];
}

/** Checks a TURN configuration from the command line; throws with a message for people. */
export function validateTurnConfig(config: TurnConfig): TurnConfig {
  if (config.urls.length > MAX_TURN_URLS) throw new Error(`at most ${MAX_TURN_URLS} --turn-url`);
  for (const url of config.urls) if (!TURN_URL_RE.test(url)) throw new Error(`--turn-url must be a turn: or turns: URL, not "${url}"`);
  if (config.secret.length === 0) throw new Error('the TURN secret is empty');
  if (!Number.isInteger(config.ttlSeconds) || config.ttlSeconds < MIN_TURN_TTL_SECONDS || config.ttlSeconds > 86_400) throw new Error(`--turn-ttl must be a whole number of seconds from ${MIN_TURN_TTL_SECONDS} to 86400`);
  return config;
}
