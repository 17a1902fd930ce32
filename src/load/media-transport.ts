// The client end of one SFU WebRtcTransport, as a browser would be: one UDP socket connected to
// the transport's ICE-lite candidate, STUN binding requests with USE-CANDIDATE (and again every
// few seconds as consent refresh), a DTLS client, then SRTP/SRTCP both ways. Incoming packets
// are decrypted in place and handed on without allocating (or handed on still encrypted, for a
// receiver that only counts them).
import { createSocket, type Socket } from 'node:dgram';
import {
  type DtlsCertificate,
  type DtlsFingerprint,
  DtlsSession,
  fingerprints,
} from '../transport/dtls/index.js';
import { srtpSessionFromDtls } from '../transport/endpoint/index.js';
import { classifyPacket, PacketKind } from '../transport/ice/index.js';
import type { SrtpSession } from '../transport/srtp/index.js';
import { StunAttr, StunBuilder, StunClass, StunMethod, shortTermKey } from '../wire/stun/index.js';

/** What createWebRtcTransport answers (mediasoup's shapes), as far as a client needs it. */
export interface TransportInfo {
  id: string;
  iceParameters: { usernameFragment: string; password: string };
  iceCandidates: { ip?: string; address?: string; port: number; protocol: string }[];
  dtlsParameters: { fingerprints: DtlsFingerprint[] };
}

/** Browsers refresh consent every few seconds (RFC 7675); the SFU drops a tuple after 30 s. */
export const CONSENT_INTERVAL_MS = 5000;
/** Binding requests are retransmitted until answered (RFC 8445 §14.3 pacing, simplified). */
const CHECK_RETRY_MS = 200;
const BINDING_SUCCESS = 0x0101;

/** The SHA-256 fingerprint of a certificate, as a client signals it in connectWebRtcTransport. */
export function clientDtlsParameters(certificate: DtlsCertificate): {
  role: 'client';
  fingerprints: DtlsFingerprint[];
} {
  return {
    role: 'client',
    fingerprints: fingerprints(certificate.der).filter((f) => f.algorithm === 'sha-256'),
  };
}

export interface MediaTransportOptions {
  /** Socket buffer sizes (default 1 MiB each). */
  socketBufferBytes?: number;
  /**
   * false: RTP is handed to `onRtp` as it arrives, still SRTP (the header is readable; a
   * receiver that only counts packets spends nothing on decryption). Default true.
   */
  decryptRtp?: boolean;
}

export class MediaTransport {
  readonly #socket: Socket;
  readonly #decryptRtp: boolean;
  readonly #info: TransportInfo;
  readonly #dtls: DtlsSession;
  readonly #localUfrag = Math.random().toString(36).slice(2, 10);
  #srtp: SrtpSession | undefined;
  #checkTxId: Buffer | undefined;
  #consentTimer: NodeJS.Timeout | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  #iceDone = false;
  #closed = false;
  /** Decrypted RTP (see `decryptRtp`): `buf[0, length)`. The buffer is the socket's; use it before returning. */
  onRtp: (buf: Buffer, length: number) => void = () => {};
  /** Decrypted RTCP compound packet (a view over the socket's buffer). */
  onRtcp: (packet: Buffer) => void = () => {};
  /** Packets that failed SRTP/SRTCP authentication or decryption. */
  srtpErrors = 0;
  bytesSent = 0;
  packetsSent = 0;

  constructor(info: TransportInfo, certificate: DtlsCertificate, options: MediaTransportOptions = {}) {
    const bufferBytes = options.socketBufferBytes ?? 1 << 20;
    this.#socket = createSocket({ type: 'udp4', recvBufferSize: bufferBytes, sendBufferSize: bufferBytes });
    this.#decryptRtp = options.decryptRtp ?? true;
    this.#info = info;
    this.#dtls = new DtlsSession({
      role: 'client',
      certificate,
      remoteFingerprints: info.dtlsParameters.fingerprints,
      send: (datagram) => this.#sendRaw(datagram),
    });
    this.#socket.on('message', (msg) => this.#onMessage(msg));
    this.#socket.on('error', () => {});
  }

  get id(): string {
    return this.#info.id;
  }

  get connected(): boolean {
    return this.#srtp !== undefined;
  }

  /** The socket (bound once `connect()` has begun), e.g. for its local port. */
  get socket(): Socket {
    return this.#socket;
  }

  /**
   * ICE (until the SFU answers a check) then the DTLS handshake; resolves with SRTP ready.
   * connectWebRtcTransport must have been sent (or be on its way): the SFU holds DTLS until then.
   */
  async connect(timeoutMs = 20_000): Promise<void> {
    const candidate = this.#info.iceCandidates.find((c) => c.protocol === 'udp');
    if (!candidate) throw new Error(`transport ${this.#info.id} has no UDP candidate`);
    const ip = candidate.ip ?? candidate.address ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.bind(0, '127.0.0.1', () => {
        this.#socket.connect(candidate.port, ip, () => {
          this.#socket.off('error', reject);
          resolve();
        });
      });
    });
    const timer = setTimeout(() => this.#dtls.close(), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        this.#dtls.once('connected', () => resolve());
        this.#dtls.once('error', reject);
        this.#dtls.once('closed', (reason) => reject(new Error(`DTLS closed: ${reason}`)));
        this.#sendCheck();
      });
    } finally {
      clearTimeout(timer);
      if (this.#checkTimer) clearTimeout(this.#checkTimer);
    }
    const keys = this.#dtls.srtpKeyingMaterial();
    this.#srtp = srtpSessionFromDtls(keys);
    if (!this.#srtp) throw new Error(`SRTP profile ${keys.profile} negotiated but not implemented`);
    this.#consentTimer = setInterval(() => this.#sendCheck(), CONSENT_INTERVAL_MS);
  }

  /** Encrypts and sends the RTP packet `packet[0, length)` (the input is not modified). */
  sendRtp(packet: Buffer, length: number): void {
    const srtp = this.#srtp;
    if (!srtp || this.#closed) return;
    const out = srtp.protectRtp(packet, length);
    if (typeof out === 'number') return;
    this.packetsSent++;
    this.bytesSent += out.length;
    this.#socket.send(out);
  }

  sendRtcp(packet: Buffer): void {
    const srtp = this.#srtp;
    if (!srtp || this.#closed) return;
    const out = srtp.protectRtcp(packet);
    if (typeof out !== 'number') this.#socket.send(out);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#consentTimer) clearInterval(this.#consentTimer);
    if (this.#checkTimer) clearTimeout(this.#checkTimer);
    this.#dtls.removeAllListeners();
    this.#dtls.on('error', () => {});
    this.#dtls.close();
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }

  #sendRaw(datagram: Buffer): void {
    if (!this.#closed) this.#socket.send(datagram);
  }

  #sendCheck(): void {
    if (this.#closed) return;
    const { usernameFragment, password } = this.#info.iceParameters;
    const builder = new StunBuilder(StunMethod.Binding, StunClass.Request)
      .add(StunAttr.Username, `${usernameFragment}:${this.#localUfrag}`)
      .addUint32(StunAttr.Priority, 0x6e7f1eff)
      .addUint64(StunAttr.IceControlling, 0x1234_5678n)
      .addFlag(StunAttr.UseCandidate)
      .addMessageIntegrity(shortTermKey(password))
      .addFingerprint();
    this.#checkTxId = builder.transactionId;
    this.#sendRaw(builder.build());
    if (!this.#iceDone) this.#checkTimer = setTimeout(() => this.#sendCheck(), CHECK_RETRY_MS);
  }

  #onMessage(msg: Buffer): void {
    const kind = classifyPacket(msg);
    if (kind === PacketKind.Rtp) {
      const srtp = this.#srtp;
      if (!srtp) return;
      if (!this.#decryptRtp) {
        this.onRtp(msg, msg.length);
        return;
      }
      const length = srtp.unprotectRtpInPlace(msg);
      if (length < 0) this.srtpErrors++;
      else this.onRtp(msg, length);
    } else if (kind === PacketKind.Rtcp) {
      const srtp = this.#srtp;
      if (!srtp) return;
      const out = srtp.unprotectRtcp(msg);
      if (typeof out === 'number') this.srtpErrors++;
      else this.onRtcp(out);
    } else if (kind === PacketKind.Dtls) {
      this.#dtls.handleDatagram(msg);
    } else if (kind === PacketKind.Stun) {
      if (this.#iceDone || msg.readUInt16BE(0) !== BINDING_SUCCESS) return;
      if (!this.#checkTxId || !msg.subarray(8, 20).equals(this.#checkTxId)) return;
      // The SFU selected this tuple: now the ClientHello reaches a DTLS endpoint that answers.
      this.#iceDone = true;
      if (this.#checkTimer) clearTimeout(this.#checkTimer);
      this.#dtls.start();
    }
  }
}
