// Access tokens: HS256 JWTs signed with the server secret (docs/signaling-protocol.md, "Tokens").
import { errors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { Permissions } from './protocol.js';

export type { Permissions };

/** Missing permissions in a token are granted: a token restricts by saying `false`. */
export const DEFAULT_PERMISSIONS: Readonly<Permissions> = Object.freeze({
  publish: true,
  subscribe: true,
  publishData: true,
});

export interface TokenClaimsInput {
  sub: string;
  room: string;
  name?: string;
  perms?: Partial<Permissions>;
  /** The mode of the room if this token's join creates it (`p2p`, `sfu` or `auto`). */
  mode?: RoomModeSetting;
}

/** A room's configured mode: `auto` is P2P while two peers, SFU from three. */
export type RoomModeSetting = 'p2p' | 'sfu' | 'auto';

export interface TokenClaims {
  sub: string;
  room: string;
  name?: string;
  perms: Permissions;
  mode?: RoomModeSetting;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export type TokenErrorReason = 'malformed' | 'bad_signature' | 'expired' | 'bad_claims';

/** Why a token was refused; the signaling server answers `unauthorized` with the message. */
export class TokenError extends Error {
  override readonly name = 'TokenError';
  constructor(
    readonly reason: TokenErrorReason,
    message: string,
  ) {
    super(message);
  }
}

const NAME_MAX = 100;
const ID_MAX = 256;

const claimsSchema = z.object({
  sub: z.string().min(1).max(ID_MAX),
  room: z.string().min(1).max(ID_MAX),
  name: z.string().max(NAME_MAX).optional(),
  perms: z
    .object({
      publish: z.boolean().optional(),
      subscribe: z.boolean().optional(),
      publishData: z.boolean().optional(),
    })
    .optional(),
  mode: z.enum(['p2p', 'sfu', 'auto']).optional(),
  exp: z.number(),
});

const encoder = new TextEncoder();
// One imported key per secret (servers keep one secret for their lifetime): jose with a raw
// Uint8Array imports a WebCrypto key on every call, which doubles the cost of a verify.
let cachedSecret: string | undefined;
let cachedKey: Promise<CryptoKey> | undefined;
function keyOf(secret: string): Promise<CryptoKey> {
  if (secret !== cachedSecret || cachedKey === undefined) {
    cachedKey = crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    cachedSecret = secret;
  }
  return cachedKey;
}

/** Imports the secret's key ahead of the first verify, so the first join does not pay for it. */
export async function prepareSecret(secret: string): Promise<void> {
  await keyOf(secret);
}

export async function issueToken(
  secret: string,
  claims: TokenClaimsInput,
  ttlSeconds: number,
): Promise<string> {
  if (secret.length === 0) throw new TypeError('secret must not be empty');
  if (!(ttlSeconds > 0)) throw new TypeError('ttlSeconds must be positive');
  const payload: Record<string, unknown> = { room: claims.room };
  if (claims.name !== undefined) payload.name = claims.name;
  if (claims.perms !== undefined) payload.perms = claims.perms;
  if (claims.mode !== undefined) payload.mode = claims.mode;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + Math.ceil(ttlSeconds))
    .sign(await keyOf(secret));
}

/** Verifies signature, expiry and claim shapes; throws TokenError, never anything else. */
export async function verifyToken(secret: string, token: string): Promise<TokenClaims> {
  let payload: unknown;
  try {
    // requiredClaims makes a token without `exp` invalid: no token lives forever.
    ({ payload } = await jwtVerify(token, await keyOf(secret), {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    throw toTokenError(err);
  }
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) throw new TokenError('bad_claims', 'token claims are missing or malformed');
  const { sub, room, name, perms, mode, exp } = parsed.data;
  const claims: TokenClaims = { sub, room, perms: { ...DEFAULT_PERMISSIONS, ...perms }, exp };
  if (name !== undefined) claims.name = name;
  if (mode !== undefined) claims.mode = mode;
  return claims;
}

function toTokenError(err: unknown): TokenError {
  if (err instanceof errors.JWTExpired) return new TokenError('expired', 'token expired');
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenError('bad_signature', 'token signature is invalid');
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new TokenError('bad_claims', `token claim invalid: ${err.claim}`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new TokenError('bad_signature', 'token algorithm not allowed');
  return new TokenError('malformed', 'token is malformed');
}
