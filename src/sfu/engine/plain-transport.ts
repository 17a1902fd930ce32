import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { SRTP_PROFILES, SrtpSession } from '../../transport/srtp/index.js';
import type { ConsumerEngine } from './consumer.js';
import type { EngineContext } from './context.js';
import type { TransportListenInfo } from './listen-info.js';
import type { SrtpCryptoSuite, SrtpParameters } from './rtp-parameters.js';
import { bindUdp } from './sockets.js';
import { closeQuietly, type RouterLink, type SctpOptions, TransportEngine, type Tuple } from './transport.js';

/** Master key + salt lengths (bytes) per SRTP profile (RFC 3711, RFC 7714). */
const SRTP_KEY_LENGTHS: Record<SrtpCryptoSuite, number> = {
  AEAD_AES_256_GCM: 44,
  AEAD_AES_128_GCM: 28,
  AES_CM_128_HMAC_SHA1_80: 30,
  AES_CM_128_HMAC_SHA1_32: 30,
};

function newSrtpParameters(cryptoSuite: SrtpCryptoSuite): SrtpParameters {
  return { cryptoSuite, keyBase64: randomBytes(SRTP_KEY_LENGTHS[cryptoSuite]).toString('base64') };
}

function checkSrtpParameters(value: unknown): SrtpParameters {
  if (typeof value !== 'object' || value === null) throw new TypeError('invalid srtpParameters');
  const { cryptoSuite, keyBase64 } = value as SrtpParameters;
  if (typeof cryptoSuite !== 'string' || !(cryptoSuite in SRTP_KEY_LENGTHS))
    throw new TypeError('invalid srtpParameters.cryptoSuite');
  if (typeof keyBase64 !== 'string') throw new TypeError('invalid srtpParameters.keyBase64');
  return { cryptoSuite, keyBase64 };
}

/** SCTP over UDP (mediasoup's rule): both ports are 5000, so the first byte is never RTP's. */
function isSctp(data: Buffer): boolean {
  return data.length >= 12 && data.readUInt16BE(0) === 5000 && data.readUInt16BE(2) === 5000;
}

/** Splits a mediasoup keyBase64 (master key then salt) for its suite; undefined if the length is wrong. */
function masterKeyOf(params: SrtpParameters): { key: Buffer; salt: Buffer } | undefined {
  const profile = SRTP_PROFILES[params.cryptoSuite];
  const bytes = Buffer.from(params.keyBase64, 'base64');
  if (bytes.length !== profile.keyLength + profile.saltLength) return undefined;
  return { key: bytes.subarray(0, profile.keyLength), salt: bytes.subarray(profile.keyLength) };
}

/** RTCP packet types 192-223 share their first bits with RTP (RFC 5761). */
function isRtcp(data: Buffer): boolean {
  const secondByte = data[1]!;
  return secondByte >= 192 && secondByte <= 223;
}

function tupleOf(info: TransportListenInfo, port: number): Tuple {
  const localAddress = info.announcedAddress ?? info.ip;
  return { localIp: localAddress, localAddress, localPort: port, protocol: 'udp' };
}

export interface PlainTransportInit extends SctpOptions {
  transportId: string;
  listenInfo: TransportListenInfo;
  rtcpListenInfo?: TransportListenInfo;
  rtcpMux?: boolean;
  comedia?: boolean;
  enableSrtp?: boolean;
  srtpCryptoSuite?: SrtpCryptoSuite;
  enableRtx?: boolean;
}

/**
 * Plain RTP over UDP, and the PipeTransport that links routers (same wire, no RTCP socket).
 * Without SRTP, RTP flows both ways here today: received packets go to Producers by SSRC/MID,
 * Consumers' packets go to the connected (or, with comedia, learnt) remote address.
 */
export class PlainTransportEngine extends TransportEngine {
  readonly #pipe: boolean;
  readonly #socket: Socket;
  readonly #rtcpSocket?: Socket;
  readonly #rtcpMux: boolean;
  readonly #comedia: boolean;
  readonly #enableSrtp: boolean;
  readonly #rtx: boolean;
  tuple: Tuple;
  rtcpTuple?: Tuple;
  srtpParameters?: SrtpParameters;
  /** Set by connect() when SRTP is enabled: media before it is dropped. */
  #srtp?: SrtpSession;
  #connected = false;

  private constructor(
    ctx: EngineContext,
    router: RouterLink,
    init: PlainTransportInit,
    pipe: boolean,
    socket: Socket,
    rtcpSocket?: Socket,
  ) {
    super(ctx, router, init.transportId, init);
    this.#pipe = pipe;
    this.#socket = socket;
    this.#rtcpSocket = rtcpSocket;
    this.#rtcpMux = pipe || init.rtcpMux !== false;
    this.#comedia = !pipe && Boolean(init.comedia);
    this.#enableSrtp = Boolean(init.enableSrtp);
    this.#rtx = Boolean(init.enableRtx);
    this.tuple = tupleOf(init.listenInfo, socket.address().port);
    if (rtcpSocket && init.rtcpListenInfo)
      this.rtcpTuple = tupleOf(init.rtcpListenInfo, rtcpSocket.address().port);
    if (this.#enableSrtp) {
      this.srtpParameters = newSrtpParameters(
        pipe ? 'AEAD_AES_256_GCM' : (init.srtpCryptoSuite ?? 'AES_CM_128_HMAC_SHA1_80'),
      );
    }
    socket.on('message', (data, rinfo) => this.#onDatagram(data, rinfo.address, rinfo.port));
    socket.on('error', (error) => ctx.log.warn({ err: error }, 'PlainTransport socket error'));
    rtcpSocket?.on('message', (data) => this.recvBytes.add(data.length));
    rtcpSocket?.on('error', (error) => ctx.log.warn({ err: error }, 'PlainTransport RTCP socket error'));
  }

  static async create(
    ctx: EngineContext,
    router: RouterLink,
    init: PlainTransportInit,
    pipe: boolean,
  ): Promise<PlainTransportEngine> {
    const socket = await bindUdp(init.listenInfo, ctx.portRange());
    let rtcpSocket: Socket | undefined;
    if (!pipe && init.rtcpListenInfo) {
      try {
        rtcpSocket = await bindUdp(init.rtcpListenInfo, ctx.portRange());
      } catch (error) {
        closeQuietly([socket]);
        throw error;
      }
    }
    return new PlainTransportEngine(ctx, router, init, pipe, socket, rtcpSocket);
  }

  #onDatagram(data: Buffer, address: string, port: number): void {
    this.recvBytes.add(data.length);
    if (this.#comedia && this.tuple.remoteIp === undefined) {
      this.tuple = { ...this.tuple, remoteIp: address, remotePort: port };
      this.ctx.emit(this.id, 'tuple', { tuple: this.tuple });
      // A remote that starts with SCTP sends INIT itself; otherwise we start the association.
      if (!isSctp(data)) this.sctp?.connect();
    }
    // Only the remote endpoint (connected or learnt) is heard, as in mediasoup.
    if (address !== this.tuple.remoteIp || port !== this.tuple.remotePort) return;
    if (isSctp(data)) {
      this.receiveSctp(data);
      return;
    }
    if (data.length < 12 || data[0]! >> 6 !== 2) return;
    if (this.#enableSrtp) {
      const srtp = this.#srtp;
      if (!srtp) return;
      // Decrypted RTCP is authenticated and dropped: nothing in the engine consumes it yet.
      if (isRtcp(data)) {
        srtp.unprotectRtcp(data);
        return;
      }
      const packet = srtp.unprotectRtp(data);
      if (typeof packet !== 'number') this.receiveRtp(packet);
      return;
    }
    if (isRtcp(data)) return;
    this.receiveRtp(data);
  }

  override sendRtp(_consumer: ConsumerEngine, packet: Buffer): void {
    const { remoteIp, remotePort } = this.tuple;
    if (remoteIp === undefined || remotePort === undefined) return;
    let out = packet;
    if (this.#enableSrtp) {
      const protectedPacket = this.#srtp?.protectRtp(packet);
      if (protectedPacket === undefined || typeof protectedPacket === 'number') return;
      out = protectedPacket;
    }
    this.rtpSendBytes.add(out.length);
    this.sendBytes.add(out.length);
    this.#socket.send(out, remotePort, remoteIp);
  }

  protected override sendSctpPacket(packet: Buffer): void {
    const { remoteIp, remotePort } = this.tuple;
    if (remoteIp === undefined || remotePort === undefined) return;
    this.sendBytes.add(packet.length);
    this.#socket.send(packet, remotePort, remoteIp);
  }

  override sendRtcp(packet: Buffer): void {
    const tuple = this.rtcpTuple ?? this.tuple;
    if (tuple.remoteIp === undefined || tuple.remotePort === undefined) return;
    let out = packet;
    if (this.#enableSrtp) {
      const protectedPacket = this.#srtp?.protectRtcp(packet);
      if (protectedPacket === undefined || typeof protectedPacket === 'number') return;
      out = protectedPacket;
    }
    this.sendBytes.add(out.length);
    (this.#rtcpSocket ?? this.#socket).send(out, tuple.remotePort, tuple.remoteIp);
  }

  protected override get statsType(): string {
    return this.#pipe ? 'pipe-transport' : 'plain-rtp-transport';
  }

  protected override get direct(): boolean {
    return false;
  }

  protected override dumpSpecific(): Record<string, unknown> {
    if (this.#pipe) return { tuple: this.tuple, rtx: this.#rtx, srtpParameters: this.srtpParameters };
    return {
      rtcpMux: this.#rtcpMux,
      comedia: this.#comedia,
      tuple: this.tuple,
      rtcpTuple: this.rtcpTuple,
      srtpParameters: this.srtpParameters,
    };
  }

  protected override statsSpecific(): Record<string, unknown> {
    if (this.#pipe) return { tuple: this.tuple };
    return {
      rtcpMux: this.#rtcpMux,
      comedia: this.#comedia,
      tuple: this.tuple,
      ...(this.rtcpTuple ? { rtcpTuple: this.rtcpTuple } : {}),
    };
  }

  describe(): Record<string, unknown> {
    return {
      ...this.dumpSpecific(),
      sctpParameters: this.sctpParameters,
      sctpState: this.sctpState,
    };
  }

  // biome-ignore lint/suspicious/noExplicitAny: request bodies from the IPC channel.
  protected override handleSpecificRequest(method: string, data: any): unknown {
    if (method !== 'transport.connect') return super.handleSpecificRequest(method, data);
    const { ip, port, rtcpPort, srtpParameters } = data ?? {};
    if (srtpParameters !== undefined && !this.#enableSrtp)
      throw new TypeError('invalid srtpParameters (SRTP disabled)');
    if (this.#enableSrtp && srtpParameters === undefined)
      throw new TypeError('missing srtpParameters (SRTP enabled)');
    const remoteSrtp = srtpParameters !== undefined ? checkSrtpParameters(srtpParameters) : undefined;
    const remoteKey = remoteSrtp ? masterKeyOf(remoteSrtp) : undefined;
    if (remoteSrtp && !remoteKey) throw new TypeError('invalid srtpParameters.keyBase64 length');
    if (!this.#comedia) {
      if (typeof ip !== 'string' || isIP(ip) === 0) throw new TypeError('missing or invalid ip');
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
        throw new TypeError('missing or invalid port');
      if (!this.#rtcpMux && (typeof rtcpPort !== 'number' || rtcpPort < 1 || rtcpPort > 65535)) {
        throw new TypeError('missing or invalid rtcpPort');
      }
    }
    if (this.#connected) throw new Error('connect() already called');
    this.#connected = true;
    if (remoteSrtp && remoteKey) {
      // Both directions use the remote's suite (as mediasoup): a new key if ours was for another.
      if (this.srtpParameters?.cryptoSuite !== remoteSrtp.cryptoSuite)
        this.srtpParameters = newSrtpParameters(remoteSrtp.cryptoSuite);
      const local = masterKeyOf(this.srtpParameters!)!;
      this.#srtp = new SrtpSession({
        profile: remoteSrtp.cryptoSuite,
        localKey: local.key,
        localSalt: local.salt,
        remoteKey: remoteKey.key,
        remoteSalt: remoteKey.salt,
      });
    }
    if (!this.#comedia) {
      this.tuple = { ...this.tuple, remoteIp: ip, remotePort: port };
      if (this.rtcpTuple) this.rtcpTuple = { ...this.rtcpTuple, remoteIp: ip, remotePort: rtcpPort };
      // The remote address is known: start SCTP (after the response, as mediasoup does).
      if (this.sctp) queueMicrotask(() => this.sctp?.connect());
    }
    return { tuple: this.tuple, rtcpTuple: this.rtcpTuple, srtpParameters: this.srtpParameters };
  }

  protected override releaseResources(): void {
    closeQuietly([this.#socket, this.#rtcpSocket]);
  }
}
