import { createSocket, type Socket } from 'node:dgram';
import type { RtpCodecCapability } from '../../src/sfu/public-types.js';

export const mediaCodecs: RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];

/** A minimal RTP packet: 12-byte header, optional one-byte-header extensions, then the payload. */
export function rtpPacket({
  payloadType,
  sequenceNumber,
  timestamp,
  ssrc,
  payload,
  extensions = [],
}: {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
  extensions?: { id: number; value: Buffer }[];
}): Buffer {
  let ext = Buffer.alloc(0);
  if (extensions.length > 0) {
    const elements = Buffer.concat(
      extensions.map((e) => Buffer.concat([Buffer.from([(e.id << 4) | (e.value.length - 1)]), e.value])),
    );
    const padded = Buffer.concat([elements, Buffer.alloc((4 - (elements.length % 4)) % 4)]);
    const header = Buffer.alloc(4);
    header.writeUInt16BE(0xbede, 0);
    header.writeUInt16BE(padded.length / 4, 2);
    ext = Buffer.concat([header, padded]);
  }
  const fixed = Buffer.alloc(12);
  fixed[0] = 0x80 | (extensions.length > 0 ? 0x10 : 0);
  fixed[1] = payloadType & 0x7f;
  fixed.writeUInt16BE(sequenceNumber & 0xffff, 2);
  fixed.writeUInt32BE(timestamp >>> 0, 4);
  fixed.writeUInt32BE(ssrc >>> 0, 8);
  return Buffer.concat([fixed, ext, payload]);
}

export interface ParsedRtp {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

export function parseRtp(packet: Buffer): ParsedRtp {
  let offset = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  return {
    payloadType: packet[1]! & 0x7f,
    sequenceNumber: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payload: packet.subarray(offset),
  };
}

/** Collects what `on(listener)` delivers until `count` items arrived or `timeoutMs` elapsed. */
export function collect<T>(
  on: (listener: (item: T) => void) => void,
  count: number,
  timeoutMs = 5000,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    const timer = setTimeout(
      () => reject(new Error(`got ${items.length} of ${count} items in ${timeoutMs} ms`)),
      timeoutMs,
    );
    on((item) => {
      items.push(item);
      if (items.length === count) {
        clearTimeout(timer);
        resolve(items);
      }
    });
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function udpSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}
