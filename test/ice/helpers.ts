/** A raw STUN client over UDP or RFC 4571 TCP, built on our STUN codec, for ICE tests. */
import { createSocket, type Socket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import {
  decodeErrorCode,
  decodeXorAddress,
  getAttribute,
  parseStun,
  StunAttr,
  StunBuilder,
  StunClass,
  type StunMessage,
  StunMethod,
  StunParseError,
  shortTermKey,
  verifyFingerprint,
  verifyMessageIntegrity,
} from '../../src/wire/stun/index.js';

export interface CheckOptions {
  username?: string;
  password?: string;
  useCandidate?: boolean;
  nomination?: number;
  controlled?: boolean;
  fingerprint?: boolean;
  priority?: boolean;
}

export function bindingRequest(options: CheckOptions): Buffer {
  const builder = new StunBuilder(StunMethod.Binding, StunClass.Request);
  if (options.username !== undefined) builder.add(StunAttr.Username, options.username);
  if (options.priority !== false) builder.addUint32(StunAttr.Priority, 0x6e7f1eff);
  if (options.controlled) builder.addUint64(StunAttr.IceControlled, 1234n);
  else builder.addUint64(StunAttr.IceControlling, 5678n);
  if (options.useCandidate) builder.addFlag(StunAttr.UseCandidate);
  if (options.nomination !== undefined) builder.addUint32(StunAttr.Nomination, options.nomination);
  if (options.password !== undefined) builder.addMessageIntegrity(shortTermKey(options.password));
  if (options.fingerprint !== false) builder.addFingerprint();
  return builder.build();
}

export interface CheckResult {
  message: StunMessage;
  errorCode: number | undefined;
  mapped: { address: string; port: number } | undefined;
  integrityOk: boolean;
  fingerprintOk: boolean;
}

export function describeResponse(raw: Buffer, password: string | undefined): CheckResult {
  const message = parseStun(raw);
  if (message instanceof StunParseError) throw new Error(`bad STUN response: ${message.reason}`);
  const error = getAttribute(message, StunAttr.ErrorCode);
  const decodedError = error ? decodeErrorCode(error) : undefined;
  const xma = getAttribute(message, StunAttr.XorMappedAddress);
  const mapped = xma ? decodeXorAddress(xma, message.transactionId) : undefined;
  return {
    message,
    errorCode: decodedError && !(decodedError instanceof StunParseError) ? decodedError.code : undefined,
    mapped: mapped && !(mapped instanceof StunParseError) ? mapped : undefined,
    integrityOk: password !== undefined && verifyMessageIntegrity(message, shortTermKey(password)),
    fingerprintOk: verifyFingerprint(message),
  };
}

/** A UDP client that sends raw datagrams and waits for the next STUN response (or undefined on timeout). */
export class UdpStunClient {
  readonly socket: Socket;
  private readonly waiters: ((msg: Buffer | undefined) => void)[] = [];
  readonly received: Buffer[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (msg) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(msg);
      else this.received.push(msg);
    });
  }

  static async open(): Promise<UdpStunClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new UdpStunClient(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Uint8Array, port: number): void {
    this.socket.send(data, port, '127.0.0.1');
  }

  next(timeoutMs = 500): Promise<Buffer | undefined> {
    const queued = this.received.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(done);
        if (index >= 0) this.waiters.splice(index, 1);
        resolve(undefined);
      }, timeoutMs);
      const done = (msg: Buffer | undefined): void => {
        clearTimeout(timer);
        resolve(msg);
      };
      this.waiters.push(done);
    });
  }

  async check(port: number, options: CheckOptions, timeoutMs = 500): Promise<CheckResult | undefined> {
    this.send(bindingRequest(options), port);
    const raw = await this.next(timeoutMs);
    return raw ? describeResponse(raw, options.password) : undefined;
  }

  close(): void {
    this.socket.close();
  }
}

/** RFC 4571-framed TCP client. */
export class TcpStunClient {
  private buffer = Buffer.alloc(0);
  private readonly waiters: ((frame: Buffer | undefined) => void)[] = [];
  private readonly frames: Buffer[] = [];
  closed = false;

  private constructor(readonly socket: TcpSocket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 2) {
        const length = this.buffer.readUInt16BE(0);
        if (this.buffer.length < 2 + length) break;
        const frame = this.buffer.subarray(2, 2 + length);
        this.buffer = this.buffer.subarray(2 + length);
        const waiter = this.waiters.shift();
        if (waiter) waiter(frame);
        else this.frames.push(frame);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      for (const waiter of this.waiters.splice(0)) waiter(undefined);
    });
  }

  static open(port: number): Promise<TcpStunClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new TcpStunClient(socket)));
      socket.once('error', reject);
    });
  }

  static frame(data: Uint8Array): Buffer {
    const out = Buffer.alloc(2 + data.length);
    out.writeUInt16BE(data.length, 0);
    out.set(data, 2);
    return out;
  }

  next(timeoutMs = 500): Promise<Buffer | undefined> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(done);
        if (index >= 0) this.waiters.splice(index, 1);
        resolve(undefined);
      }, timeoutMs);
      const done = (frame: Buffer | undefined): void => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.waiters.push(done);
    });
  }

  waitClosed(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export function waitFor(predicate: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  return new Promise((resolve) => {
    const started = Date.now();
    const tick = (): void => {
      if (predicate()) resolve(true);
      else if (Date.now() - started > timeoutMs) resolve(false);
      else setTimeout(tick, stepMs);
    };
    tick();
  });
}
