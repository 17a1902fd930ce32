import {
  createHash,
  createHmac,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
  X509Certificate,
} from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Logger, silentLogger } from '../../common/logger.js';
import {
  type DtlsCertificate,
  type DtlsFingerprint,
  fingerprint,
  matchesFingerprint,
} from './certificate.js';
import {
  type ClientHello,
  type Extension,
  ExtensionType,
  encodeCertificate,
  encodeCertificateRequest,
  encodeCertificateVerify,
  encodeClientHello,
  encodeClientKeyExchange,
  encodeEcdheParams,
  encodeHandshakeMessage,
  encodeHelloVerifyRequest,
  encodeServerHello,
  encodeServerKeyExchange,
  encodeU16List,
  encodeUseSrtp,
  fragmentHandshakeMessage,
  HANDSHAKE_HEADER_LENGTH,
  type HandshakeFragment,
  HandshakeReassembler,
  HandshakeType,
  parseCertificate,
  parseCertificateRequest,
  parseCertificateVerify,
  parseClientHello,
  parseClientKeyExchange,
  parseHandshakeFragments,
  parseHelloVerifyRequest,
  parseServerHello,
  parseServerKeyExchange,
  parseU8List,
  parseU16List,
  parseUseSrtp,
  type ReassembledMessage,
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
} from './handshake.js';
import { type EphemeralKey, generateEphemeralKey, signWithScheme, verifyWithScheme } from './key-exchange.js';
import { prf } from './prf.js';
import {
  ContentType,
  DTLS_1_0,
  DTLS_1_2,
  encodePlainRecord,
  GCM_OVERHEAD,
  GcmRecordProtection,
  MAX_CIPHERTEXT,
  MAX_PLAINTEXT,
  MAX_SEQUENCE,
  RECORD_HEADER_LENGTH,
  ReplayWindow,
} from './record.js';
import {
  CIPHER_SUITES,
  type CipherSuite,
  cipherSuiteById,
  NamedGroup,
  pickSignatureScheme,
  SIGNATURE_SCHEMES,
  type SignatureScheme,
  SRTP_PROFILES,
  type SrtpProfile,
  type SrtpProfileName,
  SUPPORTED_GROUPS,
  signatureSchemeById,
  srtpProfileById,
  srtpProfileByName,
} from './suites.js';

/** RFC 5246 §7.2 alert descriptions used here. */
export const AlertDescription = {
  closeNotify: 0,
  unexpectedMessage: 10,
  badRecordMac: 20,
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  illegalParameter: 47,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  internalError: 80,
  noRenegotiation: 100,
  unsupportedExtension: 110,
} as const;

const AlertLevel = { warning: 1, fatal: 2 } as const;

export type DtlsRole = 'client' | 'server';
/** Same names as mediasoup's dtlsState. */
export type DtlsState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

export class DtlsError extends Error {
  override name = 'DtlsError';
  constructor(
    message: string,
    /** The alert description sent to (or received from) the peer, if any. */
    readonly alert?: number,
  ) {
    super(message);
  }
}

export interface DtlsSessionOptions {
  role: DtlsRole;
  certificate: DtlsCertificate;
  /** Sends one datagram to the peer (the owner of the socket / ICE pair does the I/O). */
  send: (datagram: Buffer) => void;
  /** The peer's signaled fingerprints; may also be given later with setRemoteFingerprints(). */
  remoteFingerprints?: readonly DtlsFingerprint[];
  /** SRTP profiles in our order of preference. Default: AEAD_AES_128_GCM, AEAD_AES_256_GCM, CM_80, CM_32. */
  srtpProfiles?: readonly SrtpProfileName[];
  /** Largest datagram we send. Default 1200. */
  mtu?: number;
  /** Server: answer a ClientHello without a valid cookie with HelloVerifyRequest. Default true. */
  cookieExchange?: boolean;
  /** Server: the peer's address, bound into the stateless cookie. */
  remoteAddress?: string;
  /** First retransmission timeout, doubled on each retry. Default 1000 ms. */
  retransmitInitialMs?: number;
  /** Cap of the retransmission timeout. Default 8000 ms. */
  retransmitMaxMs?: number;
  /** The handshake fails when not complete this long after it started. Default 60000 ms. */
  handshakeTimeoutMs?: number;
  logger?: Logger;
}

export interface DtlsConnection {
  cipherSuite: string;
  /** The ECDHE group: 'x25519' or 'secp256r1'. */
  namedGroup: string;
  /** The negotiated DTLS-SRTP profile, if the peer offered one we support. */
  srtpProfile: SrtpProfileName | undefined;
  remoteCertificate: Buffer;
  remoteFingerprint: DtlsFingerprint;
}

/** SRTP master keys and salts from RFC 5764 §4.2, already assigned to our side and the peer's. */
export interface SrtpKeyingMaterial {
  profile: SrtpProfileName;
  localMasterKey: Buffer;
  localMasterSalt: Buffer;
  remoteMasterKey: Buffer;
  remoteMasterSalt: Buffer;
}

export interface DtlsSessionEvents {
  statechange: [DtlsState];
  connected: [DtlsConnection];
  data: [Buffer];
  closed: [reason: string];
  error: [DtlsError];
}

/** True for a datagram that RFC 7983 demultiplexes to DTLS (first byte 20..63). */
export const isDtlsDatagram = (datagram: Uint8Array): boolean =>
  datagram.length > 0 && datagram[0]! >= 20 && datagram[0]! <= 63;

type Step =
  // server
  | 'wait-client-hello'
  | 'wait-client-certificate'
  | 'wait-client-key-exchange'
  | 'wait-certificate-verify'
  // client
  | 'idle'
  | 'wait-server-hello'
  | 'wait-server-certificate'
  | 'wait-server-key-exchange'
  | 'wait-certificate-request'
  | 'wait-server-hello-done'
  // both
  | 'wait-finished'
  | 'done';

type FlightItem =
  | { kind: 'handshake'; epoch: 0 | 1; msgType: number; messageSeq: number; body: Buffer }
  | { kind: 'ccs' };

const MAX_PENDING_EPOCH1_RECORDS = 16;
const MAX_HELLO_VERIFY_REQUESTS = 4;
const MAX_CLIENT_HELLO_SEQ = 8;
const COOKIE_LENGTH = 20;
const EMPTY = Buffer.alloc(0);
const CERTIFICATE_TYPE = { rsaSign: 1, ecdsaSign: 64 } as const;

/**
 * One DTLS 1.2 association (RFC 6347) for DTLS-SRTP and data channels. It owns no socket: datagrams
 * come in through handleDatagram() and go out through options.send. Both sides always authenticate
 * with certificates checked against signaled fingerprints, as WebRTC requires.
 */
export class DtlsSession extends EventEmitter<DtlsSessionEvents> {
  readonly role: DtlsRole;
  private stateValue: DtlsState = 'new';
  private step: Step;
  private readonly certificate: DtlsCertificate;
  private readonly sendDatagram: (datagram: Buffer) => void;
  private readonly logger: Logger;
  private readonly srtpPreference: readonly SrtpProfile[];
  private readonly mtu: number;
  private readonly cookieExchange: boolean;
  private readonly cookieSecret = randomBytes(32);
  private readonly remoteAddress: string;
  private readonly retransmitInitialMs: number;
  private readonly retransmitMaxMs: number;
  private readonly handshakeTimeoutMs: number;
  private remoteFingerprints: readonly DtlsFingerprint[] | undefined;

  // Record layer.
  private readonly writeSequence = [0, 0];
  private writeEpoch: 0 | 1 = 0;
  private protection: GcmRecordProtection | undefined;
  private readonly replayWindow = new ReplayWindow();
  private pendingEpoch1Records: { type: number; version: number; sequence: number; fragment: Buffer }[] = [];

  // Handshake.
  private readonly reassembler = new HandshakeReassembler();
  private nextSendMessageSeq = 0;
  private transcript: Buffer[] = [];
  private lastFlight: FlightItem[] = [];
  /** message_seq of the last message of the peer's previous flight: seeing it again means our flight was lost. */
  private peerLastFlightFinalSeq = -1;
  private peerChangedCipherSpec = false;
  private pendingFinished: ReassembledMessage | undefined;
  private retransmitTimer: NodeJS.Timeout | undefined;
  private retransmitDelay: number;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private helloVerifyRequests = 0;
  private listenerThrew = false;

  // Negotiated parameters.
  /** Client: the ClientHello we sent, to check the ServerHello against. */
  private sentClientHello: ClientHello | undefined;
  private clientRandom = EMPTY;
  private serverRandom = EMPTY;
  private suite: CipherSuite | undefined;
  private srtpProfile: SrtpProfile | undefined;
  private ephemeralKey: EphemeralKey | undefined;
  private namedGroup = 0;
  private peerEcdhPublicKey = EMPTY;
  private peerCertificate: Buffer | undefined;
  private peerPublicKey: KeyObject | undefined;
  private peerSignatureSchemes: number[] = [];
  private certificateRequested = false;
  private masterSecret: Buffer | undefined;
  private handshakeComplete = false;

  constructor(options: DtlsSessionOptions) {
    super();
    this.role = options.role;
    this.step = options.role === 'server' ? 'wait-client-hello' : 'idle';
    this.certificate = options.certificate;
    this.sendDatagram = options.send;
    this.logger = (options.logger ?? silentLogger).child({ component: 'dtls', role: options.role });
    this.srtpPreference = (options.srtpProfiles ?? SRTP_PROFILES.map((p) => p.name)).map((name) => {
      const profile = srtpProfileByName(name);
      if (!profile) throw new TypeError(`unknown SRTP profile ${name}`);
      return profile;
    });
    this.mtu = options.mtu ?? 1200;
    if (this.mtu < 256 || this.mtu > 65507) throw new RangeError(`mtu ${this.mtu} out of range 256..65507`);
    this.cookieExchange = options.cookieExchange ?? true;
    this.remoteAddress = options.remoteAddress ?? '';
    this.retransmitInitialMs = options.retransmitInitialMs ?? 1000;
    this.retransmitMaxMs = options.retransmitMaxMs ?? 8000;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 60_000;
    this.retransmitDelay = this.retransmitInitialMs;
    this.remoteFingerprints = options.remoteFingerprints;
  }

  get state(): DtlsState {
    return this.stateValue;
  }

  /** The negotiated SRTP profile once connected. */
  get negotiatedSrtpProfile(): SrtpProfileName | undefined {
    return this.srtpProfile?.name;
  }

  /** The peer's DER certificate once received. */
  get remoteCertificate(): Buffer | undefined {
    return this.peerCertificate;
  }

  /** Starts the handshake: the client sends its ClientHello; the server waits for one. */
  start(): void {
    if (this.stateValue !== 'new') return;
    this.setState('connecting');
    if (this.role === 'client') {
      this.startHandshakeTimer();
      this.sendClientHello(EMPTY);
    }
  }

  /** Sets (or replaces) the peer's fingerprints, e.g. from mediasoup's connect({ dtlsParameters }). */
  setRemoteFingerprints(fingerprints: readonly DtlsFingerprint[]): void {
    this.remoteFingerprints = fingerprints;
    if (this.peerCertificate && !this.verifyPeerFingerprint()) return;
    if (this.handshakeComplete && this.stateValue === 'connecting') this.becomeConnected();
  }

  /**
   * Feeds one datagram received from the peer. Never throws on its content; an exception thrown by
   * one of our event listeners propagates to the caller (as with any EventEmitter) and leaves the
   * session as it was.
   */
  handleDatagram(datagram: Buffer): void {
    if (this.stateValue === 'closed' || this.stateValue === 'failed') return;
    if (this.role === 'client' && this.stateValue === 'new') return;
    this.listenerThrew = false;
    try {
      this.processDatagram(datagram);
      if (this.protection && this.pendingEpoch1Records.length > 0) this.drainPendingEpoch1Records();
    } catch (err) {
      if (this.listenerThrew) throw err;
      this.logger.error({ err }, 'internal error while processing a datagram');
      this.fail(AlertDescription.internalError, `internal error: ${(err as Error).message}`);
    }
  }

  /** Sends application data (one record). */
  send(data: Uint8Array): void {
    if (this.stateValue !== 'connected') throw new DtlsError(`cannot send in state ${this.stateValue}`);
    if (data.length > MAX_PLAINTEXT)
      throw new RangeError(`record of ${data.length} bytes exceeds ${MAX_PLAINTEXT}`);
    this.sendDatagram(this.protection!.seal(ContentType.applicationData, 1, this.nextWriteSequence(1), data));
  }

  /** Sends close_notify and stops. Idempotent. */
  close(): void {
    if (this.stateValue === 'closed' || this.stateValue === 'failed') return;
    if (this.stateValue !== 'new') this.sendAlert(AlertLevel.warning, AlertDescription.closeNotify);
    this.finish('closed', 'closed locally');
  }

  /** RFC 5705 keying material exporter (without context unless one is given). */
  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Buffer {
    if (!this.handshakeComplete || !this.masterSecret || !this.suite) {
      throw new DtlsError('keying material is available only after the handshake');
    }
    const parts = [this.clientRandom, this.serverRandom];
    if (context) {
      const len = Buffer.allocUnsafe(2);
      len.writeUInt16BE(context.length);
      parts.push(len, Buffer.from(context));
    }
    return prf(this.suite.hash, this.masterSecret, label, Buffer.concat(parts), length);
  }

  /** SRTP master keys and salts for the negotiated profile (RFC 5764 §4.2). */
  srtpKeyingMaterial(): SrtpKeyingMaterial {
    const profile = this.srtpProfile;
    if (!profile) throw new DtlsError('no SRTP profile was negotiated');
    const k = profile.keyLength;
    const s = profile.saltLength;
    const m = this.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 2 * (k + s));
    const clientKey = m.subarray(0, k);
    const serverKey = m.subarray(k, 2 * k);
    const clientSalt = m.subarray(2 * k, 2 * k + s);
    const serverSalt = m.subarray(2 * k + s, 2 * (k + s));
    const isClient = this.role === 'client';
    return {
      profile: profile.name,
      localMasterKey: isClient ? clientKey : serverKey,
      localMasterSalt: isClient ? clientSalt : serverSalt,
      remoteMasterKey: isClient ? serverKey : clientKey,
      remoteMasterSalt: isClient ? serverSalt : clientSalt,
    };
  }

  // ---- state ----

  /** emit(), remembering when a listener threw so that it is not mistaken for our own failure. */
  private notify<K extends keyof DtlsSessionEvents>(event: K, ...args: DtlsSessionEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: DtlsSessionEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.listenerThrew = true;
      throw err;
    }
  }

  private setState(state: DtlsState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.notify('statechange', state);
  }

  private stopTimers(): void {
    clearTimeout(this.retransmitTimer);
    clearTimeout(this.handshakeTimer);
    this.retransmitTimer = undefined;
    this.handshakeTimer = undefined;
  }

  private finish(state: 'closed' | 'failed', reason: string, error?: DtlsError): void {
    this.stopTimers();
    this.pendingEpoch1Records = [];
    this.reassembler.reset(0);
    this.setState(state);
    if (error && this.listenerCount('error') > 0) this.notify('error', error);
    this.notify('closed', reason);
  }

  /** Fatal error detected here: tell the peer, then stop. */
  private fail(alert: number, message: string): void {
    if (this.stateValue === 'closed' || this.stateValue === 'failed') return;
    this.logger.warn({ alert }, message);
    this.sendAlert(AlertLevel.fatal, alert);
    this.finish('failed', message, new DtlsError(message, alert));
  }

  private startHandshakeTimer(): void {
    if (this.handshakeTimer) return;
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = undefined;
      if (!this.handshakeComplete) {
        this.finish('failed', 'handshake timed out', new DtlsError('handshake timed out'));
      }
    }, this.handshakeTimeoutMs);
  }

  private becomeConnected(): void {
    this.setState('connected');
    this.notify('connected', {
      cipherSuite: this.suite!.name,
      namedGroup: this.namedGroup === NamedGroup.x25519 ? 'x25519' : 'secp256r1',
      srtpProfile: this.srtpProfile?.name,
      remoteCertificate: this.peerCertificate!,
      remoteFingerprint: { algorithm: 'sha-256', value: fingerprint(this.peerCertificate!, 'sha-256') },
    });
  }

  /** Checks the peer certificate against the signaled fingerprints; fails the session on mismatch. */
  private verifyPeerFingerprint(): boolean {
    if (!this.remoteFingerprints || !this.peerCertificate) return true;
    if (matchesFingerprint(this.peerCertificate, this.remoteFingerprints)) return true;
    this.fail(AlertDescription.badCertificate, 'peer certificate does not match the signaled fingerprint');
    return false;
  }

  // ---- record layer in ----

  private processDatagram(datagram: Buffer): void {
    let offset = 0;
    while (offset + RECORD_HEADER_LENGTH <= datagram.length) {
      const type = datagram[offset]!;
      const version = datagram.readUInt16BE(offset + 1);
      const epoch = datagram.readUInt16BE(offset + 3);
      const sequence = datagram.readUIntBE(offset + 5, 6);
      const length = datagram.readUInt16BE(offset + 11);
      const start = offset + RECORD_HEADER_LENGTH;
      // A record that runs past the datagram or is not DTLS ends the datagram (RFC 6347 §4.1.2.7: drop).
      if (start + length > datagram.length || version >> 8 !== 0xfe || length > MAX_CIPHERTEXT) return;
      offset = start + length;
      this.processRecord(type, version, epoch, sequence, datagram.subarray(start, offset));
      if (this.stateValue === 'closed' || this.stateValue === 'failed') return;
    }
  }

  private processRecord(
    type: number,
    version: number,
    epoch: number,
    sequence: number,
    fragment: Buffer,
  ): void {
    if (epoch === 0) {
      if (type === ContentType.handshake) this.processHandshakeRecord(fragment, 0);
      else if (type === ContentType.changeCipherSpec) this.processChangeCipherSpec(fragment);
      // Plaintext alerts count only before the handshake completes; after it they could be forged.
      else if (type === ContentType.alert && !this.handshakeComplete) this.processAlert(fragment);
      return;
    }
    if (epoch !== 1) return;
    if (!this.protection) {
      // Epoch-1 records that overtook the keys (reordering): keep a few for later.
      if (this.pendingEpoch1Records.length < MAX_PENDING_EPOCH1_RECORDS) {
        this.pendingEpoch1Records.push({ type, version, sequence, fragment: Buffer.from(fragment) });
      }
      return;
    }
    if (!this.replayWindow.isFresh(sequence)) return;
    const plaintext = this.protection.open(type, version, 1, sequence, fragment);
    if (!plaintext || plaintext.length > MAX_PLAINTEXT) return;
    this.replayWindow.mark(sequence);
    switch (type) {
      case ContentType.applicationData:
        if (this.stateValue === 'connected') this.notify('data', plaintext);
        return;
      case ContentType.handshake:
        this.processHandshakeRecord(plaintext, 1);
        return;
      case ContentType.alert:
        this.processAlert(plaintext);
        return;
    }
  }

  private drainPendingEpoch1Records(): void {
    const pending = this.pendingEpoch1Records;
    this.pendingEpoch1Records = [];
    for (const r of pending) {
      if (this.stateValue === 'closed' || this.stateValue === 'failed') return;
      this.processRecord(r.type, r.version, 1, r.sequence, r.fragment);
    }
  }

  private processAlert(fragment: Buffer): void {
    if (fragment.length !== 2) return;
    const level = fragment[0]!;
    const description = fragment[1]!;
    if (description === AlertDescription.closeNotify) {
      this.logger.debug('peer sent close_notify');
      this.finish('closed', 'peer sent close_notify');
    } else if (level === AlertLevel.fatal) {
      const message = `peer sent fatal alert ${description}`;
      this.finish('failed', message, new DtlsError(message, description));
    } else {
      this.logger.debug({ description }, 'peer sent warning alert');
    }
  }

  private processChangeCipherSpec(fragment: Buffer): void {
    // Meaningful only once our keys exist; an early one is dropped and comes again with the flight.
    if (fragment.length !== 1 || fragment[0] !== 1 || !this.protection || this.handshakeComplete) return;
    this.peerChangedCipherSpec = true;
    const finished = this.pendingFinished;
    if (finished) {
      this.pendingFinished = undefined;
      this.processFinished(finished);
    }
  }

  private processHandshakeRecord(payload: Buffer, epoch: 0 | 1): void {
    const parsed = parseHandshakeFragments(payload);
    if (!parsed.ok) return;
    for (const f of parsed.value) {
      if (this.handshakeComplete) this.processPostHandshakeFragment(f, epoch);
      else this.processHandshakeFragment(f, epoch);
      if (this.stateValue === 'failed' || this.stateValue === 'closed') return;
    }
    let message = this.reassembler.take();
    while (message && !this.handshakeComplete) {
      this.processMessage(message);
      if (this.stateValue === 'failed' || this.stateValue === 'closed') return;
      message = this.reassembler.take();
    }
  }

  private processHandshakeFragment(f: HandshakeFragment, epoch: 0 | 1): void {
    // Finished is the only handshake message protected by the new epoch.
    if ((epoch === 1) !== (f.msgType === HandshakeType.finished)) return;
    if (this.role === 'server' && this.step === 'wait-client-hello') {
      // Until a ClientHello is accepted there is no handshake to fail: anything else is dropped.
      if (f.msgType !== HandshakeType.clientHello) return;
      // Before a cookie is accepted the server keeps no state: any ClientHello starts afresh. A real
      // one is message_seq 0, or 1 after a HelloVerifyRequest; the bound keeps our replies' numbers small.
      if (f.messageSeq > MAX_CLIENT_HELLO_SEQ) return;
      if (f.messageSeq !== this.reassembler.next) this.reassembler.reset(f.messageSeq);
    } else if (f.messageSeq < this.reassembler.next) {
      if (f.messageSeq === this.peerLastFlightFinalSeq && f.fragmentOffset + f.fragmentLength === f.length) {
        this.logger.debug({ messageSeq: f.messageSeq }, 'peer retransmitted its flight: retransmitting ours');
        this.sendFlight();
      }
      return;
    }
    this.reassembler.add(f);
  }

  private processPostHandshakeFragment(f: HandshakeFragment, epoch: 0 | 1): void {
    if (epoch !== 1) return;
    const renegotiation =
      (this.role === 'server' && f.msgType === HandshakeType.clientHello) ||
      (this.role === 'client' && f.msgType === HandshakeType.helloRequest);
    if (renegotiation) {
      if (f.fragmentOffset === 0) this.sendAlert(AlertLevel.warning, AlertDescription.noRenegotiation);
      return;
    }
    // The client did not get our Finished and sent its last flight again.
    if (
      this.role === 'server' &&
      f.msgType === HandshakeType.finished &&
      f.messageSeq === this.peerLastFlightFinalSeq
    ) {
      this.sendFlight();
    }
  }

  // ---- handshake messages in ----

  private processMessage(m: ReassembledMessage): void {
    const expect = (type: number): boolean => {
      if (m.msgType === type) return true;
      this.fail(
        AlertDescription.unexpectedMessage,
        `unexpected handshake message ${m.msgType} in ${this.step}`,
      );
      return false;
    };
    switch (this.step) {
      case 'wait-client-hello':
        if (expect(HandshakeType.clientHello)) this.onClientHello(m);
        return;
      case 'wait-client-certificate':
        if (expect(HandshakeType.certificate)) this.onCertificate(m, 'wait-client-key-exchange');
        return;
      case 'wait-client-key-exchange':
        if (expect(HandshakeType.clientKeyExchange)) this.onClientKeyExchange(m);
        return;
      case 'wait-certificate-verify':
        if (expect(HandshakeType.certificateVerify)) this.onCertificateVerify(m);
        return;
      case 'wait-server-hello':
        if (m.msgType === HandshakeType.helloVerifyRequest) this.onHelloVerifyRequest(m);
        else if (expect(HandshakeType.serverHello)) this.onServerHello(m);
        return;
      case 'wait-server-certificate':
        if (expect(HandshakeType.certificate)) this.onCertificate(m, 'wait-server-key-exchange');
        return;
      case 'wait-server-key-exchange':
        if (expect(HandshakeType.serverKeyExchange)) this.onServerKeyExchange(m);
        return;
      case 'wait-certificate-request':
        if (m.msgType === HandshakeType.serverHelloDone) this.onServerHelloDone(m);
        else if (expect(HandshakeType.certificateRequest)) this.onCertificateRequest(m);
        return;
      case 'wait-server-hello-done':
        if (expect(HandshakeType.serverHelloDone)) this.onServerHelloDone(m);
        return;
      case 'wait-finished':
        if (!expect(HandshakeType.finished)) return;
        if (this.peerChangedCipherSpec) this.processFinished(m);
        else this.pendingFinished = m;
        return;
      default:
        return;
    }
  }

  private addToTranscript(m: { msgType: number; messageSeq: number; body: Buffer }): void {
    this.transcript.push(encodeHandshakeMessage(m.msgType, m.messageSeq, m.body));
  }

  private transcriptHash(): Buffer {
    const h = createHash(this.suite!.hash);
    for (const part of this.transcript) h.update(part);
    return h.digest();
  }

  private cookieFor(random: Buffer): Buffer {
    return createHmac('sha256', this.cookieSecret)
      .update(this.remoteAddress)
      .update(random)
      .digest()
      .subarray(0, COOKIE_LENGTH);
  }

  private onClientHello(m: ReassembledMessage): void {
    const parsed = parseClientHello(m.body);
    if (!parsed.ok) {
      // Stateless until a ClientHello is accepted: a malformed one is dropped, not fatal.
      this.logger.debug({ error: parsed.error }, 'dropped a malformed ClientHello');
      return;
    }
    const hello = parsed.value;
    if (this.cookieExchange) {
      const cookie = this.cookieFor(hello.random);
      if (hello.cookie.length !== COOKIE_LENGTH || !timingSafeEqual(hello.cookie, cookie)) {
        // RFC 6347 §4.2.1: stateless; the reply uses the ClientHello's message_seq.
        this.nextSendMessageSeq = m.messageSeq;
        this.lastFlight = [];
        this.queueHandshake(
          HandshakeType.helloVerifyRequest,
          encodeHelloVerifyRequest({ serverVersion: DTLS_1_0, cookie }),
        );
        this.peerLastFlightFinalSeq = m.messageSeq;
        this.sendFlight();
        return;
      }
    }
    // DTLS versions count down: 0xfefd (1.2) is above 0xfeff (1.0). A 1.3 offer still says 1.2 here.
    if (hello.clientVersion > DTLS_1_2) {
      this.fail(AlertDescription.protocolVersion, `client offers only DTLS version ${hello.clientVersion}`);
      return;
    }
    const negotiated = this.negotiateServerParameters(hello);
    if (typeof negotiated === 'string') {
      this.fail(AlertDescription.handshakeFailure, negotiated);
      return;
    }
    this.startHandshakeTimer();
    if (this.stateValue === 'new') this.setState('connecting');
    this.clientRandom = Buffer.from(hello.random);
    this.serverRandom = randomBytes(32);
    this.transcript = [];
    this.addToTranscript(m);
    this.nextSendMessageSeq = m.messageSeq;
    this.lastFlight = [];

    const extensions: Extension[] = [];
    const offered = new Set(hello.extensions.map((e) => e.type));
    if (
      offered.has(ExtensionType.renegotiationInfo) ||
      hello.cipherSuites.includes(TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
    ) {
      extensions.push({ type: ExtensionType.renegotiationInfo, data: Buffer.from([0]) });
    }
    extensions.push({ type: ExtensionType.extendedMasterSecret, data: EMPTY });
    if (this.srtpProfile)
      extensions.push({ type: ExtensionType.useSrtp, data: encodeUseSrtp([this.srtpProfile.id]) });
    if (offered.has(ExtensionType.ecPointFormats)) {
      extensions.push({ type: ExtensionType.ecPointFormats, data: Buffer.from([1, 0]) });
    }
    this.addToTranscript(
      this.queueHandshake(
        HandshakeType.serverHello,
        encodeServerHello({
          serverVersion: DTLS_1_2,
          random: this.serverRandom,
          sessionId: EMPTY,
          cipherSuite: this.suite!.id,
          compressionMethod: 0,
          extensions,
        }),
      ),
    );
    this.addToTranscript(
      this.queueHandshake(HandshakeType.certificate, encodeCertificate([this.certificate.der])),
    );
    const params = encodeEcdheParams(negotiated.group, this.ephemeralKey!.publicKey);
    const signature = signWithScheme(
      negotiated.scheme,
      this.certificate.privateKey,
      Buffer.concat([this.clientRandom, this.serverRandom, params]),
    );
    this.addToTranscript(
      this.queueHandshake(
        HandshakeType.serverKeyExchange,
        encodeServerKeyExchange(params, negotiated.scheme.id, signature),
      ),
    );
    this.addToTranscript(
      this.queueHandshake(
        HandshakeType.certificateRequest,
        encodeCertificateRequest({
          certificateTypes: Buffer.from([CERTIFICATE_TYPE.ecdsaSign, CERTIFICATE_TYPE.rsaSign]),
          signatureSchemes: SIGNATURE_SCHEMES.map((s) => s.id),
        }),
      ),
    );
    this.addToTranscript(this.queueHandshake(HandshakeType.serverHelloDone, EMPTY));
    this.peerLastFlightFinalSeq = m.messageSeq;
    this.step = 'wait-client-certificate';
    // Timer first: a synchronous peer may finish the handshake inside sendFlight().
    this.armRetransmit(true);
    this.sendFlight();
    this.logger.debug({ suite: this.suite!.name, srtp: this.srtpProfile?.name }, 'sent server flight');
  }

  /** Picks suite, group, signature scheme and SRTP profile; returns a reason string on failure. */
  private negotiateServerParameters(hello: ClientHello): { group: number; scheme: SignatureScheme } | string {
    const keyType = this.certificate.keyType;
    const suite = CIPHER_SUITES.find((s) => s.keyType === keyType && hello.cipherSuites.includes(s.id));
    if (!suite) return 'no common cipher suite';
    if (!hello.compressionMethods.includes(0)) return 'null compression not offered';
    const ext = new Map(hello.extensions.map((e) => [e.type, e.data]));
    if (!ext.has(ExtensionType.extendedMasterSecret)) return 'extended_master_secret is required';
    const renegotiationInfo = ext.get(ExtensionType.renegotiationInfo);
    if (renegotiationInfo && !(renegotiationInfo.length === 1 && renegotiationInfo[0] === 0)) {
      return 'non-empty renegotiation_info in an initial handshake';
    }
    // Without supported_groups, RFC 8422 §4 lets the server assume the client supports P-256.
    let group: number = NamedGroup.secp256r1;
    const groupsData = ext.get(ExtensionType.supportedGroups);
    if (groupsData) {
      const groups = parseU16List(groupsData);
      if (!groups.ok) return `bad supported_groups: ${groups.error}`;
      const common = SUPPORTED_GROUPS.find((g) => groups.value.includes(g));
      if (common === undefined) return 'no common ECDHE group';
      // RFC 8422 §5.1: an ECDSA certificate's curve must be one the client supports too.
      if (keyType === 'ecdsa' && !groups.value.includes(NamedGroup.secp256r1)) {
        return 'client does not support P-256, the curve of our ECDSA certificate';
      }
      group = common;
    }
    const formats = ext.get(ExtensionType.ecPointFormats);
    if (formats) {
      const list = parseU8List(formats);
      if (!list.ok || !list.value.includes(0)) return 'uncompressed EC points not offered';
    }
    const algorithmsData = ext.get(ExtensionType.signatureAlgorithms);
    if (!algorithmsData) return 'signature_algorithms missing (SHA-1 default is not supported)';
    const algorithms = parseU16List(algorithmsData);
    if (!algorithms.ok) return `bad signature_algorithms: ${algorithms.error}`;
    const scheme = pickSignatureScheme(keyType, algorithms.value);
    if (!scheme) return 'no common signature scheme';
    const srtpData = ext.get(ExtensionType.useSrtp);
    if (srtpData) {
      const srtp = parseUseSrtp(srtpData);
      if (!srtp.ok) return `bad use_srtp: ${srtp.error}`;
      this.srtpProfile = this.srtpPreference.find((p) => srtp.value.profiles.includes(p.id));
    }
    this.suite = suite;
    this.ephemeralKey = generateEphemeralKey(group);
    this.namedGroup = group;
    return { group, scheme };
  }

  private onCertificate(m: ReassembledMessage, next: Step): void {
    const parsed = parseCertificate(m.body);
    if (!parsed.ok) {
      this.fail(AlertDescription.decodeError, `bad Certificate: ${parsed.error}`);
      return;
    }
    const leaf = parsed.value[0];
    // WebRTC authenticates both sides: an empty client Certificate is refused too.
    if (!leaf) {
      this.fail(AlertDescription.handshakeFailure, 'peer sent no certificate');
      return;
    }
    let publicKey: KeyObject;
    try {
      publicKey = new X509Certificate(leaf).publicKey;
    } catch {
      this.fail(AlertDescription.badCertificate, 'peer certificate does not parse');
      return;
    }
    if (publicKey.asymmetricKeyType !== 'ec' && publicKey.asymmetricKeyType !== 'rsa') {
      this.fail(AlertDescription.unsupportedCertificate, `peer key type ${publicKey.asymmetricKeyType}`);
      return;
    }
    if (
      this.role === 'client' &&
      (publicKey.asymmetricKeyType === 'ec') !== (this.suite!.keyType === 'ecdsa')
    ) {
      this.fail(AlertDescription.unsupportedCertificate, 'server key does not match the cipher suite');
      return;
    }
    this.peerCertificate = Buffer.from(leaf);
    this.peerPublicKey = publicKey;
    if (!this.verifyPeerFingerprint()) return;
    this.addToTranscript(m);
    this.step = next;
  }

  private onClientKeyExchange(m: ReassembledMessage): void {
    const parsed = parseClientKeyExchange(m.body);
    if (!parsed.ok) {
      this.fail(AlertDescription.decodeError, `bad ClientKeyExchange: ${parsed.error}`);
      return;
    }
    const premaster = this.ephemeralKey!.computeSecret(parsed.value);
    if (!premaster) {
      this.fail(AlertDescription.illegalParameter, 'invalid client ECDH public key');
      return;
    }
    this.addToTranscript(m);
    this.deriveKeys(premaster);
    this.step = 'wait-certificate-verify';
  }

  private onCertificateVerify(m: ReassembledMessage): void {
    const parsed = parseCertificateVerify(m.body);
    if (!parsed.ok) {
      this.fail(AlertDescription.decodeError, `bad CertificateVerify: ${parsed.error}`);
      return;
    }
    const scheme = signatureSchemeById(parsed.value.signatureScheme);
    if (!scheme) {
      this.fail(AlertDescription.illegalParameter, 'CertificateVerify uses an unoffered scheme');
      return;
    }
    const signed = Buffer.concat(this.transcript);
    if (!verifyWithScheme(scheme, this.peerPublicKey!, signed, parsed.value.signature)) {
      this.fail(AlertDescription.decryptError, 'CertificateVerify signature is invalid');
      return;
    }
    this.addToTranscript(m);
    this.step = 'wait-finished';
  }

  private processFinished(m: ReassembledMessage): void {
    const peerLabel = this.role === 'server' ? 'client finished' : 'server finished';
    const expected = prf(this.suite!.hash, this.masterSecret!, peerLabel, this.transcriptHash(), 12);
    if (m.body.length !== 12 || !timingSafeEqual(m.body, expected)) {
      this.fail(AlertDescription.decryptError, 'Finished verify_data is wrong');
      return;
    }
    this.addToTranscript(m);
    if (this.role === 'server') {
      this.lastFlight = [];
      this.queueChangeCipherSpecAndFinished('server finished');
      this.peerLastFlightFinalSeq = m.messageSeq;
      this.sendFlight();
    }
    this.handshakeComplete = true;
    this.step = 'done';
    this.stopTimers();
    // What only the handshake needed: the ephemeral key, the transcript, partial messages.
    this.ephemeralKey = undefined;
    this.transcript = [];
    this.sentClientHello = undefined;
    this.reassembler.reset(this.reassembler.next);
    this.logger.debug('handshake complete');
    if (!this.remoteFingerprints) {
      this.logger.debug('handshake complete; waiting for the remote fingerprint');
      return;
    }
    this.becomeConnected();
  }

  // ---- client side ----

  private sendClientHello(cookie: Buffer): void {
    if (this.clientRandom.length === 0) this.clientRandom = randomBytes(32);
    const extensions: Extension[] = [
      { type: ExtensionType.supportedGroups, data: encodeU16List(SUPPORTED_GROUPS) },
      { type: ExtensionType.ecPointFormats, data: Buffer.from([1, 0]) },
      { type: ExtensionType.signatureAlgorithms, data: encodeU16List(SIGNATURE_SCHEMES.map((s) => s.id)) },
      { type: ExtensionType.extendedMasterSecret, data: EMPTY },
      { type: ExtensionType.renegotiationInfo, data: Buffer.from([0]) },
    ];
    if (this.srtpPreference.length > 0) {
      extensions.push({
        type: ExtensionType.useSrtp,
        data: encodeUseSrtp(this.srtpPreference.map((p) => p.id)),
      });
    }
    const hello: ClientHello = {
      clientVersion: DTLS_1_2,
      random: this.clientRandom,
      sessionId: EMPTY,
      cookie,
      cipherSuites: CIPHER_SUITES.map((s) => s.id),
      compressionMethods: Buffer.from([0]),
      extensions,
    };
    this.sentClientHello = hello;
    this.lastFlight = [];
    this.transcript = [];
    const body = encodeClientHello(hello);
    this.addToTranscript({ msgType: HandshakeType.clientHello, messageSeq: this.nextSendMessageSeq, body });
    this.queueHandshake(HandshakeType.clientHello, body);
    this.step = 'wait-server-hello';
    // Timer first: a synchronous peer may finish the handshake inside sendFlight().
    this.armRetransmit(true);
    this.sendFlight();
  }

  private onHelloVerifyRequest(m: ReassembledMessage): void {
    const parsed = parseHelloVerifyRequest(m.body);
    if (!parsed.ok) {
      this.fail(AlertDescription.decodeError, `bad HelloVerifyRequest: ${parsed.error}`);
      return;
    }
    if (++this.helloVerifyRequests > MAX_HELLO_VERIFY_REQUESTS) {
      this.fail(AlertDescription.unexpectedMessage, 'too many HelloVerifyRequests');
      return;
    }
    this.reassembler.reset(m.messageSeq + 1);
    this.sendClientHello(Buffer.from(parsed.value.cookie));
  }

  private onServerHello(m: ReassembledMessage): void {
    const parsed = parseServerHello(m.body);
    if (!parsed.ok) {
      this.fail(AlertDescription.decodeError, `bad ServerHello: ${parsed.error}`);
      return;
    }
    const hello = parsed.value;
    if (hello.serverVersion !== DTLS_1_2) {
      this.fail(AlertDescription.protocolVersion, `server chose version ${hello.serverVersion}`);
      return;
    }
    const suite = cipherSuiteById(hello.cipherSuite);
    if (!suite) {
      this.fail(AlertDescription.illegalParameter, `server chose cipher suite ${hello.cipherSuite}`);
      return;
    }
    if (hello.compressionMethod !== 0) {
      this.fail(AlertDescription.illegalParameter, 'server chose compression');
      return;
    }
    const offered = new Set(this.sentClientHello!.extensions.map((e) => e.type));
    let extendedMasterSecret = false;
    for (const e of hello.extensions) {
      if (!offered.has(e.type)) {
        this.fail(AlertDescription.unsupportedExtension, `server sent unoffered extension ${e.type}`);
        return;
      }
      if (e.type === ExtensionType.extendedMasterSecret) extendedMasterSecret = true;
      if (e.type === ExtensionType.renegotiationInfo && !(e.data.length === 1 && e.data[0] === 0)) {
        this.fail(AlertDescription.handshakeFailure, 'non-empty renegotiation_info');
        return;
      }
      if (e.type === ExtensionType.useSrtp) {
        const srtp = parseUseSrtp(e.data);
        const profile =
          srtp.ok && srtp.value.profiles.length === 1 ? srtpProfileById(srtp.value.profiles[0]!) : undefined;
        if (!profile || !this.srtpPreference.includes(profile) || (srtp.ok && srtp.value.mki.length > 0)) {
          this.fail(AlertDescription.illegalParameter, 'server chose an unoffered SRTP profile');
          return;
        }
        this.srtpProfile = profile;
      }
    }
    if (!extendedMasterSecret) {
      this.fail(AlertDescription.handshakeFailure, 'extended_master_secret is required');
      return;
    }
    this.suite = suite;
    this.serverRandom = Buffer.from(hello.random);
    this.addToTranscript(m);
    this.step = 'wait-server-certificate';
  }

  private onServerKeyExchange(m: ReassembledMessage): void {
    const parsed = parseServerKeyExchange(m.body);
    if (!parsed.ok) {
      this.fail(AlertDescription.decodeError, `bad ServerKeyExchange: ${parsed.error}`);
      return;
    }
    const ske = parsed.value;
    if (!SUPPORTED_GROUPS.includes(ske.namedGroup)) {
      this.fail(AlertDescription.illegalParameter, `server chose group ${ske.namedGroup}`);
      return;
    }
    const scheme = signatureSchemeById(ske.signatureScheme);
    if (!scheme || scheme.keyType !== this.suite!.keyType) {
      this.fail(AlertDescription.illegalParameter, `server used signature scheme ${ske.signatureScheme}`);
      return;
    }
    const signed = Buffer.concat([this.clientRandom, this.serverRandom, ske.params]);
    if (!verifyWithScheme(scheme, this.peerPublicKey!, signed, ske.signature)) {
      this.fail(AlertDescription.decryptError, 'ServerKeyExchange signature is invalid');
      return;
    }
    this.ephemeralKey = generateEphemeralKey(ske.namedGroup);
    this.namedGroup = ske.namedGroup;
    this.peerEcdhPublicKey = Buffer.from(ske.publicKey);
    this.addToTranscript(m);
    this.step = 'wait-certificate-request';
  }

  private onCertificateRequest(m: ReassembledMessage): void {
    const parsed = parseCertificateRequest(m.body);
    if (!parsed.ok) {
      this.fail(AlertDescription.decodeError, `bad CertificateRequest: ${parsed.error}`);
      return;
    }
    const wantedType =
      this.certificate.keyType === 'ecdsa' ? CERTIFICATE_TYPE.ecdsaSign : CERTIFICATE_TYPE.rsaSign;
    if (!parsed.value.certificateTypes.includes(wantedType)) {
      this.fail(AlertDescription.handshakeFailure, 'server does not accept our certificate type');
      return;
    }
    this.peerSignatureSchemes = parsed.value.signatureSchemes;
    this.certificateRequested = true;
    this.addToTranscript(m);
    this.step = 'wait-server-hello-done';
  }

  private onServerHelloDone(m: ReassembledMessage): void {
    if (m.body.length !== 0) {
      this.fail(AlertDescription.decodeError, 'ServerHelloDone is not empty');
      return;
    }
    this.addToTranscript(m);
    const premaster = this.ephemeralKey!.computeSecret(this.peerEcdhPublicKey);
    if (!premaster) {
      this.fail(AlertDescription.illegalParameter, 'invalid server ECDH public key');
      return;
    }
    this.lastFlight = [];
    this.peerLastFlightFinalSeq = m.messageSeq;
    if (this.certificateRequested) {
      const body = encodeCertificate([this.certificate.der]);
      this.addToTranscript(this.queueHandshake(HandshakeType.certificate, body));
    }
    const cke = encodeClientKeyExchange(this.ephemeralKey!.publicKey);
    this.addToTranscript(this.queueHandshake(HandshakeType.clientKeyExchange, cke));
    this.deriveKeys(premaster);
    if (this.certificateRequested) {
      const scheme = pickSignatureScheme(this.certificate.keyType, this.peerSignatureSchemes);
      if (!scheme) {
        this.fail(AlertDescription.handshakeFailure, 'no common signature scheme for CertificateVerify');
        return;
      }
      const signature = signWithScheme(scheme, this.certificate.privateKey, Buffer.concat(this.transcript));
      const cv = encodeCertificateVerify({ signatureScheme: scheme.id, signature });
      this.addToTranscript(this.queueHandshake(HandshakeType.certificateVerify, cv));
    }
    this.queueChangeCipherSpecAndFinished('client finished');
    this.step = 'wait-finished';
    // Timer first: a synchronous peer may finish the handshake inside sendFlight().
    this.armRetransmit(true);
    this.sendFlight();
  }

  // ---- keys ----

  private deriveKeys(premaster: Buffer): void {
    const suite = this.suite!;
    // RFC 7627 §4: the session hash covers the transcript through ClientKeyExchange.
    this.masterSecret = prf(suite.hash, premaster, 'extended master secret', this.transcriptHash(), 48);
    const k = suite.keyLength;
    const block = prf(
      suite.hash,
      this.masterSecret,
      'key expansion',
      Buffer.concat([this.serverRandom, this.clientRandom]),
      2 * k + 8,
    );
    const clientKey = block.subarray(0, k);
    const serverKey = block.subarray(k, 2 * k);
    const clientSalt = block.subarray(2 * k, 2 * k + 4);
    const serverSalt = block.subarray(2 * k + 4, 2 * k + 8);
    this.protection =
      this.role === 'client'
        ? new GcmRecordProtection(suite.cipher, clientKey, clientSalt, serverKey, serverSalt)
        : new GcmRecordProtection(suite.cipher, serverKey, serverSalt, clientKey, clientSalt);
  }

  // ---- sending ----

  private nextWriteSequence(epoch: 0 | 1): number {
    const seq = this.writeSequence[epoch]!;
    if (seq > MAX_SEQUENCE) throw new DtlsError('record sequence number exhausted');
    this.writeSequence[epoch] = seq + 1;
    return seq;
  }

  /** Appends a handshake message (in the current write epoch) to the flight being built. */
  private queueHandshake(
    msgType: number,
    body: Buffer,
  ): { msgType: number; messageSeq: number; body: Buffer } {
    const item = {
      kind: 'handshake' as const,
      epoch: this.writeEpoch,
      msgType,
      messageSeq: this.nextSendMessageSeq++,
      body,
    };
    this.lastFlight.push(item);
    return item;
  }

  private queueChangeCipherSpecAndFinished(label: 'client finished' | 'server finished'): void {
    this.lastFlight.push({ kind: 'ccs' });
    this.writeEpoch = 1;
    const verifyData = prf(this.suite!.hash, this.masterSecret!, label, this.transcriptHash(), 12);
    this.addToTranscript(this.queueHandshake(HandshakeType.finished, verifyData));
  }

  /** Sends (or resends, with fresh record numbers) the current flight, packed into MTU-sized datagrams. */
  private sendFlight(): void {
    const records: Buffer[] = [];
    for (const item of this.lastFlight) {
      if (item.kind === 'ccs') {
        records.push(
          encodePlainRecord(ContentType.changeCipherSpec, 0, this.nextWriteSequence(0), Buffer.from([1])),
        );
        continue;
      }
      const overhead = RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH + (item.epoch === 1 ? GCM_OVERHEAD : 0);
      for (const fragment of fragmentHandshakeMessage(
        item.msgType,
        item.messageSeq,
        item.body,
        this.mtu - overhead,
      )) {
        records.push(
          item.epoch === 1
            ? this.protection!.seal(ContentType.handshake, 1, this.nextWriteSequence(1), fragment)
            : encodePlainRecord(ContentType.handshake, 0, this.nextWriteSequence(0), fragment),
        );
      }
    }
    let batch: Buffer[] = [];
    let batchLength = 0;
    for (const record of records) {
      if (batchLength + record.length > this.mtu && batch.length > 0) {
        this.sendDatagram(Buffer.concat(batch, batchLength));
        batch = [];
        batchLength = 0;
      }
      batch.push(record);
      batchLength += record.length;
    }
    if (batch.length > 0) this.sendDatagram(Buffer.concat(batch, batchLength));
  }

  /** (Re)starts the retransmission timer; reset restarts the backoff at the initial timeout. */
  private armRetransmit(reset: boolean): void {
    clearTimeout(this.retransmitTimer);
    if (reset) this.retransmitDelay = this.retransmitInitialMs;
    this.retransmitTimer = setTimeout(() => {
      this.retransmitTimer = undefined;
      if (this.handshakeComplete || this.stateValue === 'failed' || this.stateValue === 'closed') return;
      this.logger.debug({ step: this.step, delay: this.retransmitDelay }, 'retransmitting flight');
      this.retransmitDelay = Math.min(this.retransmitDelay * 2, this.retransmitMaxMs);
      this.armRetransmit(false);
      try {
        this.sendFlight();
      } catch (err) {
        this.fail(AlertDescription.internalError, `retransmission failed: ${(err as Error).message}`);
      }
    }, this.retransmitDelay);
  }

  private sendAlert(level: number, description: number): void {
    const payload = Buffer.from([level, description]);
    try {
      // Encrypt once we have switched our write side; before that the peer can only read plaintext.
      this.sendDatagram(
        this.writeEpoch === 1 && this.protection
          ? this.protection.seal(ContentType.alert, 1, this.nextWriteSequence(1), payload)
          : encodePlainRecord(ContentType.alert, 0, this.nextWriteSequence(0), payload),
      );
    } catch (err) {
      this.logger.debug({ err }, 'could not send alert');
    }
  }
}
