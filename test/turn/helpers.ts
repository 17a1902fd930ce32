import dgram from 'node:dgram';
import net from 'node:net';
import {
  decodeErrorCode,
  getAttribute,
  parseStun,
  StunAttr,
  type StunMessage,
  StunParseError,
} from '../../src/wire/stun/index.js';

/** A UDP socket on loopback that records what it receives and can echo it back. */
export async function udpPeer(echo = false): Promise<{
  socket: dgram.Socket;
  port: number;
  received: { data: Buffer; port: number }[];
  close: () => void;
}> {
  const socket = dgram.createSocket('udp4');
  const received: { data: Buffer; port: number }[] = [];
  socket.on('message', (data, rinfo) => {
    received.push({ data, port: rinfo.port });
    if (echo) socket.send(data, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, received, close: () => socket.close() };
}

/** A port that was free a moment ago (for tools that cannot take port 0). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const probe = dgram.createSocket('udp4');
  const udpFree = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.bind(port, '127.0.0.1', () => resolve(true));
  });
  probe.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return udpFree ? port : freePort();
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends one raw STUN request from a fresh or given socket and returns the parsed answer. */
export async function rawRequest(
  socket: dgram.Socket,
  port: number,
  bytes: Buffer,
  timeoutMs = 2000,
): Promise<StunMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error('no answer'));
    }, timeoutMs);
    const onMessage = (msg: Buffer): void => {
      const parsed = parseStun(msg);
      if (parsed instanceof StunParseError) return;
      if (!parsed.transactionId.equals(bytes.subarray(8, 20))) return;
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(parsed);
    };
    socket.on('message', onMessage);
    socket.send(bytes, port, '127.0.0.1');
  });
}

export function errorCodeOf(msg: StunMessage): number {
  const value = getAttribute(msg, StunAttr.ErrorCode);
  if (!value) return 0;
  const decoded = decodeErrorCode(value);
  return decoded instanceof StunParseError ? -1 : decoded.code;
}
