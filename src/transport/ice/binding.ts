/** ICE Binding responses and credentials (RFC 8445 §7.3, RFC 8489). */
import { createHmac, randomBytes } from 'node:crypto';
import {
  fingerprintOf,
  MAGIC_COOKIE,
  StunAttr,
  StunBuilder,
  StunClass,
  type StunMessage,
  writeIPv4,
  writeIPv6,
} from '../../wire/stun/index.js';

const BINDING_SUCCESS = 0x0101;

/**
 * A Binding success response (XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT), written
 * directly rather than through StunBuilder: this runs for every connectivity check and consent
 * refresh. Returns undefined if address is not an IP literal.
 */
export function buildBindingSuccess(
  request: StunMessage,
  address: string,
  port: number,
  key: Uint8Array,
): Buffer | undefined {
  const v6 = address.includes(':');
  const addressLength = v6 ? 20 : 8;
  const integrityAt = 20 + 4 + addressLength;
  const fingerprintAt = integrityAt + 24;
  const out = Buffer.allocUnsafe(fingerprintAt + 8);
  out.writeUInt16BE(BINDING_SUCCESS, 0);
  out.writeUInt32BE(MAGIC_COOKIE, 4);
  request.transactionId.copy(out, 8);
  out.writeUInt16BE(StunAttr.XorMappedAddress, 20);
  out.writeUInt16BE(addressLength, 22);
  out[24] = 0;
  out[25] = v6 ? 2 : 1;
  out.writeUInt16BE((port ^ (MAGIC_COOKIE >>> 16)) & 0xffff, 26);
  if (!(v6 ? writeIPv6(address, out, 28) : writeIPv4(address, out, 28))) return undefined;
  // Cookie and transaction id are contiguous at bytes 4..20: the XOR pad for the address.
  for (let i = 0; i < addressLength - 4; i++) out[28 + i]! ^= out[4 + i]!;
  out.writeUInt16BE(fingerprintAt - 20, 2);
  out.writeUInt16BE(StunAttr.MessageIntegrity, integrityAt);
  out.writeUInt16BE(20, integrityAt + 2);
  createHmac('sha1', key)
    .update(out.subarray(0, integrityAt))
    .digest()
    .copy(out, integrityAt + 4);
  out.writeUInt16BE(fingerprintAt + 8 - 20, 2);
  out.writeUInt16BE(StunAttr.Fingerprint, fingerprintAt);
  out.writeUInt16BE(4, fingerprintAt + 2);
  out.writeUInt32BE(fingerprintOf(out, fingerprintAt), fingerprintAt + 4);
  return out;
}

/** An unauthenticated error response (400, 401, 420, 487) with FINGERPRINT. */
export function buildBindingError(
  request: StunMessage,
  code: number,
  reason: string,
  unknownAttributes?: readonly number[],
): Buffer {
  const builder = StunBuilder.responseTo(request, StunClass.ErrorResponse).addErrorCode(code, reason);
  if (unknownAttributes && unknownAttributes.length > 0) builder.addUnknownAttributes(unknownAttributes);
  return builder.addFingerprint().build();
}

/**
 * The local username fragment of a Binding request's USERNAME (`<local>:<remote>`), or
 * undefined when there is no USERNAME or no colon.
 */
export function localUsernameFragment(username: Buffer): string | undefined {
  const colon = username.indexOf(0x3a);
  return colon <= 0 ? undefined : username.toString('utf8', 0, colon);
}

const CREDENTIAL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** ice-char text (RFC 8839 §5.4) from a CSPRNG; 64 symbols so each byte maps without bias. */
export function randomIceString(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += CREDENTIAL_ALPHABET[bytes[i]! & 63];
  return out;
}

export interface IceParameters {
  usernameFragment: string;
  password: string;
}

/** Fresh credentials: 16-character ufrag (≥ 4 required), 32-character password (≥ 22 required, 192 bits). */
export function generateIceParameters(): IceParameters {
  return { usernameFragment: randomIceString(16), password: randomIceString(32) };
}
