/** Which peer addresses a TURN relay may talk to (RFC 8656 §21.3: no relaying into private space). */
import { writeIPv4, writeIPv6 } from '../wire/stun/address.js';

export type AddressScope =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'multicast'
  | 'unspecified'
  | 'reserved'
  | 'invalid';

const v4 = new Uint8Array(4);
const v6 = new Uint8Array(16);

function scopeOfV4(a: Uint8Array, o: number): AddressScope {
  const b0 = a[o]!;
  const b1 = a[o + 1]!;
  if (b0 === 0) return 'unspecified';
  if (b0 === 127) return 'loopback';
  if (b0 === 10 || (b0 === 172 && (b1 & 0xf0) === 16) || (b0 === 192 && b1 === 168)) return 'private';
  // 100.64/10 carrier-grade NAT space is not reachable from outside either.
  if (b0 === 100 && (b1 & 0xc0) === 64) return 'private';
  if (b0 === 169 && b1 === 254) return 'link-local';
  if ((b0 & 0xf0) === 224) return 'multicast';
  if (b0 >= 240) return 'reserved';
  return 'public';
}

export function addressScope(ip: string): AddressScope {
  if (!ip.includes(':')) return writeIPv4(ip, v4, 0) ? scopeOfV4(v4, 0) : 'invalid';
  if (!writeIPv6(ip, v6, 0)) return 'invalid';
  let zeroPrefix = true;
  for (let i = 0; i < 10; i++) if (v6[i] !== 0) zeroPrefix = false;
  if (zeroPrefix && v6[10] === 0xff && v6[11] === 0xff) return scopeOfV4(v6, 12);
  if (zeroPrefix && v6[10] === 0 && v6[11] === 0 && v6[12] === 0 && v6[13] === 0 && v6[14] === 0) {
    if (v6[15] === 0) return 'unspecified';
    if (v6[15] === 1) return 'loopback';
  }
  if ((v6[0]! & 0xfe) === 0xfc) return 'private';
  if (v6[0] === 0xfe && (v6[1]! & 0xc0) === 0x80) return 'link-local';
  if (v6[0] === 0xff) return 'multicast';
  return 'public';
}

export interface PeerPolicy {
  allowLoopbackPeers: boolean;
  allowPrivatePeers: boolean;
}

/** True when the relay may exchange data with this peer IP. */
export function isPeerAllowed(ip: string, policy: PeerPolicy): boolean {
  const scope = addressScope(ip);
  if (scope === 'public') return true;
  if (scope === 'loopback') return policy.allowLoopbackPeers;
  if (scope === 'private' || scope === 'link-local') return policy.allowPrivatePeers;
  return false;
}
