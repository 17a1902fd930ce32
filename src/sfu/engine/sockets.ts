import { createSocket, type Socket } from 'node:dgram';
import { type LookupOneOptions, lookup } from 'node:dns';
import { createServer, isIP, isIPv6, type Server } from 'node:net';
import type { TransportListenInfo } from './listen-info.js';

export interface PortRange {
  min: number;
  max: number;
}

/** Errors that mean "this port is taken, try another one of the range". */
const PORT_TAKEN = new Set(['EADDRINUSE', 'EACCES']);

/**
 * dgram's lookup for our sockets: sends go to IP literals (a peer's tuple), answered at once; the
 * default dns.lookup costs a nextTick on every packet sent.
 */
const resolveIpLiteral = (
  address: string,
  options: LookupOneOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void => {
  const family = isIP(address);
  if (family !== 0) callback(null, address, family);
  else lookup(address, options, callback);
};

function bindUdpOnce(info: TransportListenInfo, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({
      type: isIPv6(info.ip) ? 'udp6' : 'udp4',
      // SO_REUSEADDR on a UDP socket lets several transports share one multicast ip:port.
      reuseAddr: Boolean(info.flags?.udpReusePort),
      ipv6Only: Boolean(info.flags?.ipv6Only) && isIPv6(info.ip),
      recvBufferSize: info.recvBufferSize || undefined,
      sendBufferSize: info.sendBufferSize || undefined,
      lookup: resolveIpLiteral,
    });
    const onError = (error: Error) => {
      try {
        socket.close();
      } catch {
        // Never bound: nothing to close.
      }
      reject(error);
    };
    socket.once('error', onError);
    socket.bind({ port, address: info.ip, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function listenTcpOnce(info: TransportListenInfo, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    const onError = (error: Error) => {
      server.close();
      reject(error);
    };
    server.once('error', onError);
    server.listen({ port, host: info.ip, exclusive: true, ipv6Only: Boolean(info.flags?.ipv6Only) }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

/**
 * Binds on `info.port`, or on a free port of `info.portRange` (else `defaultRange`), starting at a
 * random port of the range and trying each once. Fails at once on errors other than "port taken"
 * (e.g. an address that is not local).
 */
async function bindInRange<T>(
  info: TransportListenInfo,
  defaultRange: PortRange,
  bindOnce: (info: TransportListenInfo, port: number) => Promise<T>,
): Promise<T> {
  if (info.port) return bindOnce(info, info.port);
  const min = Math.max(1, info.portRange?.min ?? defaultRange.min);
  const max = info.portRange?.max ?? defaultRange.max;
  if (max < min) throw new Error(`empty port range [min:${min}, max:${max}]`);
  const size = max - min + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = min + ((start + i) % size);
    try {
      return await bindOnce(info, port);
    } catch (error) {
      if (!PORT_TAKEN.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  }
  throw new Error(`no more available ports [protocol:${info.protocol}, ip:${info.ip}, range:${min}-${max}]`);
}

export function bindUdp(info: TransportListenInfo, defaultRange: PortRange): Promise<Socket> {
  return bindInRange(info, defaultRange, bindUdpOnce);
}

export function listenTcp(info: TransportListenInfo, defaultRange: PortRange): Promise<Server> {
  return bindInRange(info, defaultRange, listenTcpOnce);
}

const RATE_BUCKET_MS = 100;
const RATE_BUCKETS = 10;

/**
 * One-second byte counter for the *Bitrate fields of stats: ten 100 ms buckets, so counting a
 * packet (once per packet per counter on the forwarding path) allocates nothing.
 */
export class RateCounter {
  total = 0;
  readonly #bytes = new Float64Array(RATE_BUCKETS);
  /** Which 100 ms interval (now / 100) each bucket holds. */
  readonly #interval = new Float64Array(RATE_BUCKETS).fill(-1);

  add(bytes: number, now = Date.now()): void {
    this.total += bytes;
    const interval = Math.floor(now / RATE_BUCKET_MS);
    const i = interval % RATE_BUCKETS;
    if (this.#interval[i] !== interval) {
      this.#interval[i] = interval;
      this.#bytes[i] = bytes;
    } else this.#bytes[i]! += bytes;
  }

  /** Bits per second over the last second. */
  rate(now = Date.now()): number {
    const current = Math.floor(now / RATE_BUCKET_MS);
    let bytes = 0;
    for (let i = 0; i < RATE_BUCKETS; i++) {
      const interval = this.#interval[i]!;
      if (interval > current - RATE_BUCKETS && interval <= current) bytes += this.#bytes[i]!;
    }
    return bytes * 8;
  }
}
