import { isIP } from 'node:net';

export type TransportProtocol = 'udp' | 'tcp';

export interface TransportListenInfo {
  protocol: TransportProtocol;
  ip: string;
  announcedAddress?: string;
  /** @deprecated Use announcedAddress. */
  announcedIp?: string;
  port?: number;
  portRange?: { min: number; max: number };
  flags?: { ipv6Only?: boolean; udpReusePort?: boolean };
  sendBufferSize?: number;
  recvBufferSize?: number;
}

/** @deprecated Use TransportListenInfo. */
export type TransportListenIp = { ip: string; announcedIp?: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkPort(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new TypeError(`invalid ${what}`);
  }
}

/** Validates a listen info and returns a normalised copy (announcedIp folded into announcedAddress). */
export function normaliseListenInfo(
  info: unknown,
  allowed: TransportProtocol[] = ['udp', 'tcp'],
): TransportListenInfo {
  if (!isObject(info)) throw new TypeError('listenInfo is not an object');
  const protocol = info.protocol;
  if (protocol !== 'udp' && protocol !== 'tcp') throw new TypeError('invalid listenInfo.protocol');
  if (!allowed.includes(protocol)) throw new TypeError(`listenInfo.protocol must be ${allowed.join(' or ')}`);
  if (typeof info.ip !== 'string' || isIP(info.ip) === 0) throw new TypeError('invalid listenInfo.ip');
  const announcedAddress = info.announcedAddress ?? info.announcedIp;
  if (announcedAddress !== undefined && typeof announcedAddress !== 'string') {
    throw new TypeError('invalid listenInfo.announcedAddress');
  }
  const out: TransportListenInfo = { protocol, ip: info.ip };
  if (announcedAddress) out.announcedAddress = announcedAddress;
  if (info.port !== undefined && info.port !== 0) {
    checkPort(info.port, 'listenInfo.port');
    out.port = info.port as number;
  }
  if (info.portRange !== undefined) {
    const range = info.portRange;
    if (!isObject(range)) throw new TypeError('invalid listenInfo.portRange');
    checkPort(range.min, 'listenInfo.portRange.min');
    checkPort(range.max, 'listenInfo.portRange.max');
    if ((range.min as number) > (range.max as number)) throw new TypeError('listenInfo.portRange.min > max');
    out.portRange = { min: range.min as number, max: range.max as number };
  }
  if (info.flags !== undefined) {
    if (!isObject(info.flags)) throw new TypeError('invalid listenInfo.flags');
    out.flags = { ipv6Only: Boolean(info.flags.ipv6Only), udpReusePort: Boolean(info.flags.udpReusePort) };
  }
  for (const key of ['sendBufferSize', 'recvBufferSize'] as const) {
    const value = info[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || value < 0) throw new TypeError(`invalid listenInfo.${key}`);
    out[key] = value;
  }
  return out;
}

/** The deprecated `listenIps` entry (a string or {ip, announcedIp}) as a listen info. */
export function listenIpToInfo(
  listenIp: unknown,
  protocol: TransportProtocol,
  port?: number,
): TransportListenInfo {
  if (typeof listenIp === 'string') return normaliseListenInfo({ protocol, ip: listenIp, port });
  if (!isObject(listenIp)) throw new TypeError('invalid listenIp');
  return normaliseListenInfo({ protocol, ip: listenIp.ip, announcedAddress: listenIp.announcedIp, port });
}
