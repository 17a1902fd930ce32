/** Handshake messages (RFC 5246 §7.4, RFC 6347 §4.2.2) and fragment reassembly (§4.2.3). */
import { DecodeError, Reader, Writer } from './codec.js';

export const HandshakeType = {
  helloRequest: 0,
  clientHello: 1,
  serverHello: 2,
  helloVerifyRequest: 3,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  certificateVerify: 15,
  clientKeyExchange: 16,
  finished: 20,
} as const;

export const ExtensionType = {
  supportedGroups: 10,
  ecPointFormats: 11,
  signatureAlgorithms: 13,
  useSrtp: 14,
  extendedMasterSecret: 23,
  renegotiationInfo: 0xff01,
} as const;

export const HANDSHAKE_HEADER_LENGTH = 12;
export const TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;

/** Result of a total parser: the value, or the reason it could not be decoded. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function parse<T>(buf: Buffer, body: (r: Reader) => T): Parsed<T> {
  try {
    const r = new Reader(buf);
    const value = body(r);
    r.expectEnd();
    return { ok: true, value };
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false, error: err.message };
    throw err;
  }
}

export interface HandshakeFragment {
  msgType: number;
  length: number;
  messageSeq: number;
  fragmentOffset: number;
  fragmentLength: number;
  body: Buffer;
}

/** Splits a handshake record's payload into its fragments. */
export function parseHandshakeFragments(payload: Buffer): Parsed<HandshakeFragment[]> {
  return parse(payload, (r) => {
    const out: HandshakeFragment[] = [];
    while (r.remaining > 0) {
      const msgType = r.u8();
      const length = r.u24();
      const messageSeq = r.u16();
      const fragmentOffset = r.u24();
      const fragmentLength = r.u24();
      const body = r.bytes(fragmentLength);
      if (fragmentOffset + fragmentLength > length) throw new DecodeError('fragment beyond message length');
      out.push({ msgType, length, messageSeq, fragmentOffset, fragmentLength, body });
    }
    return out;
  });
}

/** A whole handshake message with its DTLS header as hashed in the transcript (offset 0, full length). */
export function encodeHandshakeMessage(msgType: number, messageSeq: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HANDSHAKE_HEADER_LENGTH + body.length);
  writeHandshakeHeader(out, 0, msgType, body.length, messageSeq, 0, body.length);
  out.set(body, HANDSHAKE_HEADER_LENGTH);
  return out;
}

export function writeHandshakeHeader(
  out: Buffer,
  offset: number,
  msgType: number,
  length: number,
  messageSeq: number,
  fragmentOffset: number,
  fragmentLength: number,
): void {
  out[offset] = msgType;
  out.writeUIntBE(length, offset + 1, 3);
  out.writeUInt16BE(messageSeq, offset + 4);
  out.writeUIntBE(fragmentOffset, offset + 6, 3);
  out.writeUIntBE(fragmentLength, offset + 9, 3);
}

/** Splits a message into fragments of at most maxFragment body bytes, each with its header. */
export function fragmentHandshakeMessage(
  msgType: number,
  messageSeq: number,
  body: Buffer,
  maxFragment: number,
): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  do {
    const n = Math.min(maxFragment, body.length - offset);
    const frag = Buffer.allocUnsafe(HANDSHAKE_HEADER_LENGTH + n);
    writeHandshakeHeader(frag, 0, msgType, body.length, messageSeq, offset, n);
    body.copy(frag, HANDSHAKE_HEADER_LENGTH, offset, offset + n);
    out.push(frag);
    offset += n;
  } while (offset < body.length);
  return out;
}

export interface Extension {
  type: number;
  data: Buffer;
}

function readExtensions(r: Reader): Extension[] {
  if (r.remaining === 0) return [];
  const list = r.sub(2);
  const out: Extension[] = [];
  const seen = new Set<number>();
  while (list.remaining > 0) {
    const type = list.u16();
    const data = list.vector(2);
    if (seen.has(type)) throw new DecodeError(`duplicate extension ${type}`);
    seen.add(type);
    out.push({ type, data });
  }
  return out;
}

function writeExtensions(w: Writer, extensions: readonly Extension[]): void {
  if (extensions.length === 0) return;
  w.block(2, (list) => {
    for (const e of extensions) list.u16(e.type).vector(2, e.data);
  });
}

export interface ClientHello {
  clientVersion: number;
  random: Buffer;
  sessionId: Buffer;
  cookie: Buffer;
  cipherSuites: number[];
  compressionMethods: Buffer;
  extensions: Extension[];
}

export function parseClientHello(body: Buffer): Parsed<ClientHello> {
  return parse(body, (r) => {
    const clientVersion = r.u16();
    const random = r.bytes(32);
    const sessionId = r.vector(1);
    if (sessionId.length > 32) throw new DecodeError('session_id too long');
    const cookie = r.vector(1);
    const suites = r.sub(2);
    const cipherSuites: number[] = [];
    while (suites.remaining > 0) cipherSuites.push(suites.u16());
    const compressionMethods = r.vector(1);
    const extensions = readExtensions(r);
    return { clientVersion, random, sessionId, cookie, cipherSuites, compressionMethods, extensions };
  });
}

export function encodeClientHello(m: ClientHello): Buffer {
  const w = new Writer(512);
  w.u16(m.clientVersion).bytes(m.random).vector(1, m.sessionId).vector(1, m.cookie);
  w.block(2, (s) => {
    for (const id of m.cipherSuites) s.u16(id);
  });
  w.vector(1, m.compressionMethods);
  writeExtensions(w, m.extensions);
  return w.finish();
}

export interface HelloVerifyRequest {
  serverVersion: number;
  cookie: Buffer;
}

export function parseHelloVerifyRequest(body: Buffer): Parsed<HelloVerifyRequest> {
  return parse(body, (r) => ({ serverVersion: r.u16(), cookie: r.vector(1) }));
}

export function encodeHelloVerifyRequest(m: HelloVerifyRequest): Buffer {
  return new Writer(40).u16(m.serverVersion).vector(1, m.cookie).finish();
}

export interface ServerHello {
  serverVersion: number;
  random: Buffer;
  sessionId: Buffer;
  cipherSuite: number;
  compressionMethod: number;
  extensions: Extension[];
}

export function parseServerHello(body: Buffer): Parsed<ServerHello> {
  return parse(body, (r) => {
    const serverVersion = r.u16();
    const random = r.bytes(32);
    const sessionId = r.vector(1);
    if (sessionId.length > 32) throw new DecodeError('session_id too long');
    const cipherSuite = r.u16();
    const compressionMethod = r.u8();
    const extensions = readExtensions(r);
    return { serverVersion, random, sessionId, cipherSuite, compressionMethod, extensions };
  });
}

export function encodeServerHello(m: ServerHello): Buffer {
  const w = new Writer(128);
  w.u16(m.serverVersion).bytes(m.random).vector(1, m.sessionId).u16(m.cipherSuite).u8(m.compressionMethod);
  writeExtensions(w, m.extensions);
  return w.finish();
}

/** Certificate: a chain of DER certificates, leaf first. */
export function parseCertificate(body: Buffer): Parsed<Buffer[]> {
  return parse(body, (r) => {
    const list = r.sub(3);
    const out: Buffer[] = [];
    while (list.remaining > 0) {
      const cert = list.vector(3);
      if (cert.length === 0) throw new DecodeError('empty certificate');
      out.push(cert);
    }
    return out;
  });
}

export function encodeCertificate(chain: readonly Buffer[]): Buffer {
  return new Writer(1024)
    .block(3, (list) => {
      for (const c of chain) list.vector(3, c);
    })
    .finish();
}

export interface ServerKeyExchange {
  namedGroup: number;
  publicKey: Buffer;
  /** The ServerECDHParams bytes, as signed. */
  params: Buffer;
  signatureScheme: number;
  signature: Buffer;
}

const NAMED_CURVE = 3;

export function parseServerKeyExchange(body: Buffer): Parsed<ServerKeyExchange> {
  return parse(body, (r) => {
    const start = r.offset;
    if (r.u8() !== NAMED_CURVE) throw new DecodeError('curve_type is not named_curve');
    const namedGroup = r.u16();
    const publicKey = r.vector(1);
    if (publicKey.length === 0) throw new DecodeError('empty ECDH public key');
    const params = body.subarray(start, r.offset);
    const signatureScheme = r.u16();
    const signature = r.vector(2);
    return { namedGroup, publicKey, params, signatureScheme, signature };
  });
}

export function encodeEcdheParams(namedGroup: number, publicKey: Buffer): Buffer {
  return new Writer(80).u8(NAMED_CURVE).u16(namedGroup).vector(1, publicKey).finish();
}

export function encodeServerKeyExchange(params: Buffer, signatureScheme: number, signature: Buffer): Buffer {
  return new Writer(200).bytes(params).u16(signatureScheme).vector(2, signature).finish();
}

export interface CertificateRequest {
  certificateTypes: Buffer;
  signatureSchemes: number[];
}

export function parseCertificateRequest(body: Buffer): Parsed<CertificateRequest> {
  return parse(body, (r) => {
    const certificateTypes = r.vector(1);
    const schemes = r.sub(2);
    const signatureSchemes: number[] = [];
    while (schemes.remaining > 0) signatureSchemes.push(schemes.u16());
    r.vector(2); // certificate_authorities: WebRTC certificates are self-signed, so ignored
    return { certificateTypes, signatureSchemes };
  });
}

export function encodeCertificateRequest(m: CertificateRequest): Buffer {
  const w = new Writer(64).vector(1, m.certificateTypes);
  w.block(2, (s) => {
    for (const id of m.signatureSchemes) s.u16(id);
  });
  return w.u16(0).finish();
}

/** ClientKeyExchange for ECDHE: the client's ephemeral public key. */
export function parseClientKeyExchange(body: Buffer): Parsed<Buffer> {
  return parse(body, (r) => {
    const key = r.vector(1);
    if (key.length === 0) throw new DecodeError('empty ECDH public key');
    return key;
  });
}

export const encodeClientKeyExchange = (publicKey: Buffer): Buffer =>
  new Writer(80).vector(1, publicKey).finish();

export interface DigitallySigned {
  signatureScheme: number;
  signature: Buffer;
}

export function parseCertificateVerify(body: Buffer): Parsed<DigitallySigned> {
  return parse(body, (r) => ({ signatureScheme: r.u16(), signature: r.vector(2) }));
}

export const encodeCertificateVerify = (m: DigitallySigned): Buffer =>
  new Writer(300).u16(m.signatureScheme).vector(2, m.signature).finish();

/** u16 list with a 2-byte length (supported_groups, signature_algorithms). */
export function parseU16List(data: Buffer): Parsed<number[]> {
  return parse(data, (r) => {
    const list = r.sub(2);
    const out: number[] = [];
    while (list.remaining > 0) out.push(list.u16());
    return out;
  });
}

export function encodeU16List(values: readonly number[]): Buffer {
  return new Writer(2 + 2 * values.length)
    .block(2, (w) => {
      for (const v of values) w.u16(v);
    })
    .finish();
}

/** use_srtp (RFC 5764 §4.1.1): profiles and MKI. */
export function parseUseSrtp(data: Buffer): Parsed<{ profiles: number[]; mki: Buffer }> {
  return parse(data, (r) => {
    const list = r.sub(2);
    const profiles: number[] = [];
    while (list.remaining > 0) profiles.push(list.u16());
    const mki = r.vector(1);
    return { profiles, mki };
  });
}

export const encodeUseSrtp = (profiles: readonly number[]): Buffer =>
  Buffer.concat([encodeU16List(profiles), Buffer.from([0])]);

/** ec_point_formats: a 1-byte-length list. */
export function parseU8List(data: Buffer): Parsed<Buffer> {
  return parse(data, (r) => r.vector(1));
}

export interface ReassembledMessage {
  msgType: number;
  messageSeq: number;
  body: Buffer;
}

interface PartialMessage {
  msgType: number;
  body: Buffer;
  /** Sorted, non-overlapping received [start, end) ranges. */
  ranges: [number, number][];
}

/**
 * Collects fragments of handshake messages with message_seq in [next, next + window) and hands out
 * complete messages in order. Memory is bounded by maxMessageLength and maxBufferedBytes.
 */
export class HandshakeReassembler {
  next = 0;
  private readonly partial = new Map<number, PartialMessage>();
  private bufferedBytes = 0;

  constructor(
    private readonly maxMessageLength = 65536,
    private readonly maxBufferedBytes = 262144,
    private readonly window = 16,
  ) {}

  /** Adds a fragment. Returns false when it was dropped as invalid or over a bound. */
  add(f: HandshakeFragment): boolean {
    if (f.messageSeq < this.next || f.messageSeq >= this.next + this.window) return false;
    if (f.length > this.maxMessageLength) return false;
    let m = this.partial.get(f.messageSeq);
    if (!m) {
      if (this.bufferedBytes + f.length > this.maxBufferedBytes) return false;
      m = { msgType: f.msgType, body: Buffer.alloc(f.length), ranges: [] };
      this.partial.set(f.messageSeq, m);
      this.bufferedBytes += f.length;
    } else if (m.msgType !== f.msgType || m.body.length !== f.length) {
      return false;
    }
    f.body.copy(m.body, f.fragmentOffset);
    addRange(m.ranges, f.fragmentOffset, f.fragmentOffset + f.fragmentLength);
    return true;
  }

  /** The next complete message in order, if any; advances next. */
  take(): ReassembledMessage | undefined {
    const m = this.partial.get(this.next);
    if (!m) return undefined;
    // An entry exists only once a fragment arrived, so an empty message is complete at once.
    const complete =
      m.body.length === 0 ||
      (m.ranges.length === 1 && m.ranges[0]![0] === 0 && m.ranges[0]![1] === m.body.length);
    if (!complete) return undefined;
    this.partial.delete(this.next);
    this.bufferedBytes -= m.body.length;
    return { msgType: m.msgType, messageSeq: this.next++, body: m.body };
  }

  /** Forgets everything and expects message_seq next from now on. */
  reset(next: number): void {
    this.partial.clear();
    this.bufferedBytes = 0;
    this.next = next;
  }
}

function addRange(ranges: [number, number][], start: number, end: number): void {
  if (end <= start) return;
  ranges.push([start, end]);
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  ranges.length = 0;
  ranges.push(...merged);
}
