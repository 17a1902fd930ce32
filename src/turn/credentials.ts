/** TURN REST API credentials (draft-uberti-behave-turn-rest, coturn `use-auth-secret`). */
import { createHmac } from 'node:crypto';

/**
 * Ephemeral credentials for a TURN server sharing `secret`: username `expiry:identity` (or just
 * `expiry` when identity is empty), password base64(HMAC-SHA1(secret, username)).
 */
export function turnRestCredentials(
  secret: string,
  identity: string,
  ttlSeconds: number,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): { username: string; credential: string } {
  const expiry = Math.floor(nowSeconds + ttlSeconds);
  const username = identity === '' ? `${expiry}` : `${expiry}:${identity}`;
  return { username, credential: restPassword(secret, username) };
}

export function restPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64');
}

/**
 * The password for a REST username, or undefined when the username carries no expiry or the
 * expiry has passed. Accepts `expiry`, `expiry:user` and, as coturn does, `user:expiry`.
 */
export function restPasswordIfValid(
  secret: string,
  username: string,
  nowSeconds: number,
): string | undefined {
  const sep = username.indexOf(':');
  let stamp: string;
  if (sep < 0) stamp = username;
  else {
    const head = username.slice(0, sep);
    stamp = /^\d+$/.test(head) ? head : username.slice(username.lastIndexOf(':') + 1);
  }
  if (!/^\d{1,15}$/.test(stamp)) return undefined;
  if (Number(stamp) < nowSeconds) return undefined;
  return restPassword(secret, username);
}
