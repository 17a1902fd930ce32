/**
 * The WebRTC media plane over one 5-tuple: ICE-lite (controlled) + DTLS (server by default,
 * client on request) + SRTP/SRTCP, with STUN / DTLS / RTP / RTCP demultiplexed by first byte
 * (RFC 7983). It knows nothing of the SFU: an SFU WebRtcTransport wraps one of these, feeds it
 * mediasoup-style parameters (connect()) or an SDP offer (answer()), and gets decrypted RTP and
 * RTCP out of onRtp / onRtcp. With SCTP enabled (an offered data channel section, or
 * enableSctp for connect()), an SCTP association runs over DTLS once it connects and carries
 * WebRTC data channels (`dataChannels`, event `datachannel`).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import {
  fingerprints as certificateFingerprints,
  type DtlsCertificate,
  type DtlsConnection,
  type DtlsFingerprint,
  DtlsSession,
  type DtlsState,
  type FingerprintAlgorithm,
  generateCertificate,
} from '../dtls/index.js';
import {
  classifyPacket,
  ExternalIceTransport,
  type ExternalTupleInfo,
  type IceListener,
  IceLiteServer,
  type IceParameters,
  type IceState,
  type IceTuple,
  PacketKind,
  type PortRange,
  type ReplyFunction,
  TcpIceListener,
  UdpIceListener,
} from '../ice/index.js';
import {
  type DataChannel,
  type DataChannelInit,
  DataChannelManager,
  SctpAssociation,
  type SctpState,
} from '../sctp/index.js';
import type { SrtpSession } from '../srtp/index.js';
import {
  type AnswerOptions,
  buildAnswer,
  type NegotiatedSection,
  parseOffer,
  readRemoteTransport,
  SdpNegotiationError,
} from './answer.js';
import { srtpSessionFromDtls } from './srtp-from-dtls.js';

export interface ListenInfo {
  protocol: 'udp' | 'tcp';
  /** Local IP to bind. */
  ip: string;
  /** Address to put in candidates instead of ip (e.g. a public address). */
  announcedAddress?: string;
  port?: number;
  portRange?: PortRange;
  /** UDP only: SO_REUSEADDR, so several sockets may bind the same address and port. */
  reuseAddr?: boolean;
  recvBufferSize?: number;
  sendBufferSize?: number;
}

export interface WebRtcEndpointOptions {
  /** Local ICE credentials (default: fresh random ones). */
  iceParameters?: IceParameters;
  /** Dedicated sockets for this endpoint, closed with it. */
  listenInfos?: readonly ListenInfo[];
  /** Shared listeners (WebRtcServer mode), not closed with the endpoint. */
  listeners?: readonly IceListener[];
  /** Announced addresses for shared listeners, by index, when they differ from the bound IP. */
  announcedAddresses?: readonly (string | undefined)[];
  /** Defaults to a fresh ECDSA P-256 certificate. */
  certificate?: DtlsCertificate;
  /** Role taken when the peer leaves it to us (a=setup:actpass / role 'auto'). Default 'server'. */
  preferredDtlsRole?: 'client' | 'server';
  /** ms without consent before ICE goes disconnected (default 30 000). */
  iceConsentTimeout?: number;
  /** DTLS handshake timeout in ms (default 30 000). */
  dtlsHandshakeTimeout?: number;
  /**
   * Run SCTP over DTLS even without an SDP data channel section (mediasoup's connect() path).
   * answer() enables it by itself when the offer has one.
   */
  enableSctp?: boolean;
  /** Stream counts we offer (OS) and accept (MIS); default 1024 each, as mediasoup. */
  numSctpStreams?: { OS: number; MIS: number };
  /** Largest data channel message, default 262144. */
  maxSctpMessageSize?: number;
  logger?: Logger;
}

/** mediasoup's SctpParameters. */
export interface SctpParameters {
  port: number;
  OS: number;
  MIS: number;
  maxMessageSize: number;
}

const SCTP_PORT = 5000;

/** Options of an endpoint whose sockets belong to someone else (see receive()). */
export interface DetachedEndpointOptions
  extends Omit<WebRtcEndpointOptions, 'listenInfos' | 'listeners' | 'announcedAddresses'> {
  /** The candidates the socket owner announces (used by answer()). */
  candidates?: IceCandidate[];
}

/** mediasoup's IceCandidate shape. */
export interface IceCandidate {
  foundation: string;
  priority: number;
  address: string;
  ip: string;
  protocol: 'udp' | 'tcp';
  port: number;
  type: 'host';
  tcpType?: 'passive';
}

export interface DtlsParameters {
  role: 'auto' | 'client' | 'server';
  fingerprints: DtlsFingerprint[];
}

export interface WebRtcEndpointStats {
  rtpReceived: number;
  rtcpReceived: number;
  rtpSent: number;
  rtcpSent: number;
  bytesReceived: number;
  bytesSent: number;
  /** Packets that failed SRTP/SRTCP authentication, replay checks or parsing. */
  srtpErrors: number;
  /** Media packets that arrived before SRTP keys existed. */
  droppedBeforeKeys: number;
  /** Datagrams of no known kind (RFC 7983 ranges). */
  unknownPackets: number;
}

export interface WebRtcEndpointEvents {
  icestatechange: [state: IceState];
  iceselectedtuplechange: [tuple: IceTuple | undefined];
  dtlsstatechange: [state: DtlsState];
  /** SRTP keys are in place: media may flow both ways. */
  connected: [connection: DtlsConnection];
  sctpstatechange: [state: SctpState];
  /** The peer opened an in-band data channel. */
  datachannel: [channel: DataChannel];
  close: [];
}

const HOST_TYPE_PREFERENCE = 126;

function hostPriority(localPreference: number): number {
  return HOST_TYPE_PREFERENCE * 2 ** 24 + localPreference * 2 ** 8 + (256 - 1);
}

export class WebRtcEndpoint extends EventEmitter<WebRtcEndpointEvents> {
  readonly ice: IceLiteServer;
  /** Decrypted RTP packets; the Buffer is only valid during the call. Hot path: one callback. */
  onRtp: (packet: Buffer) => void = () => {};
  /** Decrypted RTCP compound packets; only valid during the call. */
  onRtcp: (packet: Buffer) => void = () => {};
  /** DTLS application data when SCTP is not enabled here (someone else runs SCTP). */
  onApplicationData: (data: Buffer) => void = () => {};
  readonly stats: WebRtcEndpointStats = {
    rtpReceived: 0,
    rtcpReceived: 0,
    rtpSent: 0,
    rtcpSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    srtpErrors: 0,
    droppedBeforeKeys: 0,
    unknownPackets: 0,
  };

  private readonly certificate: DtlsCertificate;
  private readonly iceListeners: readonly IceListener[];
  /** Set for a detached endpoint: routes datagrams handed in by receive(). */
  private readonly external: ExternalIceTransport | undefined;
  private readonly fixedCandidates: IceCandidate[] | undefined;
  private readonly ownsListeners: boolean;
  private readonly announced: readonly (string | undefined)[];
  private readonly preferredRole: 'client' | 'server';
  private readonly dtlsHandshakeTimeout: number;
  private readonly logger: Logger;
  private dtls: DtlsSession | undefined;
  private srtp: SrtpSession | undefined;
  private isClosed = false;
  private negotiatedSections: NegotiatedSection[] = [];
  private remoteFingerprints: DtlsFingerprint[] = [];
  private remoteUsernameFragment: string | undefined;
  private readonly sctpOptions: { enabled: boolean; OS: number; MIS: number; maxMessageSize: number };
  private remoteSctp: { port: number; maxMessageSize: number } = { port: SCTP_PORT, maxMessageSize: 0 };
  private sctpAssociation: SctpAssociation | undefined;
  private dataChannelManager: DataChannelManager | undefined;

  private constructor(
    options: WebRtcEndpointOptions,
    listeners: readonly IceListener[],
    owns: boolean,
    announced: readonly (string | undefined)[],
    detached?: DetachedEndpointOptions,
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.certificate = options.certificate ?? generateCertificate();
    this.iceListeners = listeners;
    this.ownsListeners = owns;
    this.announced = announced;
    this.preferredRole = options.preferredDtlsRole ?? 'server';
    this.dtlsHandshakeTimeout = options.dtlsHandshakeTimeout ?? 30_000;
    this.sctpOptions = {
      enabled: options.enableSctp ?? false,
      OS: options.numSctpStreams?.OS ?? 1024,
      MIS: options.numSctpStreams?.MIS ?? 1024,
      maxMessageSize: options.maxSctpMessageSize ?? 262144,
    };
    this.ice = new IceLiteServer({
      usernameFragment: options.iceParameters?.usernameFragment,
      password: options.iceParameters?.password,
      consentTimeout: options.iceConsentTimeout,
      logger: this.logger,
    });
    this.external = detached ? new ExternalIceTransport(this.ice) : undefined;
    this.fixedCandidates = detached?.candidates;
    this.ice.onPacket = (buf, tuple) => this.onPacket(buf, tuple);
    this.ice.on('statechange', (state) => this.onIceState(state));
    this.ice.on('selectedtuplechange', (tuple) => this.emit('iceselectedtuplechange', tuple));
    this.ice.on('usernamefragmentchange', (old) => {
      for (const listener of this.iceListeners) listener.renameServer(this.ice, old);
    });
    for (const listener of listeners) listener.addServer(this.ice);
  }

  /** Opens dedicated sockets from listenInfos, or attaches to shared listeners. */
  static async create(options: WebRtcEndpointOptions): Promise<WebRtcEndpoint> {
    if (options.listeners && options.listeners.length > 0) {
      return new WebRtcEndpoint(options, options.listeners, false, options.announcedAddresses ?? []);
    }
    const infos = options.listenInfos ?? [{ protocol: 'udp', ip: '127.0.0.1' }];
    if (infos.length === 0) throw new TypeError('no listenInfos');
    const opened: IceListener[] = [];
    try {
      for (const info of infos) {
        const listenOptions = {
          address: info.ip,
          port: info.port,
          portRange: info.portRange,
          logger: options.logger,
        };
        opened.push(
          info.protocol === 'tcp'
            ? await TcpIceListener.listen(listenOptions)
            : await UdpIceListener.listen({
                ...listenOptions,
                reuseAddr: info.reuseAddr,
                recvBufferSize: info.recvBufferSize,
                sendBufferSize: info.sendBufferSize,
              }),
        );
      }
    } catch (error) {
      for (const listener of opened) listener.close();
      throw error;
    }
    return new WebRtcEndpoint(
      options,
      opened,
      true,
      infos.map((i) => i.announcedAddress),
    );
  }

  /**
   * An endpoint without sockets: the owner of the sockets feeds every datagram (or RFC 4571
   * frame) to receive() and it answers through the given reply function. This is how an SFU
   * engine that binds its own sockets (or routes a shared port itself) plugs the media plane in.
   */
  static createDetached(options: DetachedEndpointOptions = {}): WebRtcEndpoint {
    return new WebRtcEndpoint(options, [], false, [], options);
  }

  /** Detached endpoints only: one datagram from the socket owner. */
  receive(data: Buffer, tuple: ExternalTupleInfo, reply: ReplyFunction): void {
    this.external?.receive(data, tuple, reply);
  }

  /** Detached endpoints only: the socket owner lost a tuple (e.g. a TCP connection closed). */
  closeTuple(tuple: ExternalTupleInfo): void {
    this.external?.closeTuple(tuple);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get iceParameters(): IceParameters & { iceLite: true } {
    return { usernameFragment: this.ice.usernameFragment, password: this.ice.password, iceLite: true };
  }

  get iceState(): IceState {
    return this.ice.state;
  }

  get iceSelectedTuple(): IceTuple | undefined {
    return this.ice.selectedTuple;
  }

  get dtlsState(): DtlsState {
    return this.dtls?.state ?? 'new';
  }

  /** The negotiated SRTP profile once DTLS connected. */
  get srtpProfile(): string | undefined {
    return this.dtls?.negotiatedSrtpProfile;
  }

  /** Our SCTP parameters (mediasoup's sctpParameters), whether or not SCTP is running yet. */
  get sctpParameters(): SctpParameters {
    return {
      port: SCTP_PORT,
      OS: this.sctpOptions.OS,
      MIS: this.sctpOptions.MIS,
      maxMessageSize: this.sctpOptions.maxMessageSize,
    };
  }

  /** The SCTP association, once SCTP is enabled and the DTLS role known. */
  get sctp(): SctpAssociation | undefined {
    return this.sctpAssociation;
  }

  /** Data channels over the SCTP association (undefined while SCTP is not enabled). */
  get dataChannels(): DataChannelManager | undefined {
    return this.dataChannelManager;
  }

  get sctpState(): SctpState | undefined {
    return this.sctpAssociation?.state;
  }

  /**
   * Opens a data channel (in-band with DCEP, or `negotiated: true` with an agreed id). Enables
   * SCTP if needed; the channel opens once DTLS and SCTP are up.
   */
  createDataChannel(label: string, init?: DataChannelInit): DataChannel {
    if (this.isClosed) throw new Error('WebRtcEndpoint closed');
    this.sctpOptions.enabled = true;
    this.maybeStartSctp();
    if (!this.dataChannelManager)
      throw new Error('the DTLS role is not known yet: connect() or answer() first');
    return this.dataChannelManager.createDataChannel(label, init);
  }

  /** Per-section results of the last answer(). */
  get sections(): readonly NegotiatedSection[] {
    return this.negotiatedSections;
  }

  /** UDP candidates first (higher priority), then ICE-TCP passive ones. */
  get iceCandidates(): IceCandidate[] {
    if (this.fixedCandidates) return this.fixedCandidates.map((c) => ({ ...c }));
    return this.iceListeners.map((listener, index) => {
      const address = this.announced[index] ?? listener.address;
      const udp = listener.protocol === 'udp';
      const candidate: IceCandidate = {
        foundation: udp ? 'udpcandidate' : 'tcpcandidate',
        priority: hostPriority((udp ? 65535 : 32767) - index),
        address,
        ip: address,
        protocol: listener.protocol,
        port: listener.port,
        type: 'host',
      };
      if (!udp) candidate.tcpType = 'passive';
      return candidate;
    });
  }

  /** Our fingerprints, sha-256 last (mediasoup-client uses the last one). */
  get dtlsParameters(): DtlsParameters {
    const all = certificateFingerprints(this.certificate.der);
    const sha256 = all.filter((f) => f.algorithm === 'sha-256');
    return { role: 'auto', fingerprints: [...all.filter((f) => f.algorithm !== 'sha-256'), ...sha256] };
  }

  /**
   * mediasoup's connect(): the peer's DTLS parameters. Its role decides ours (client → we are
   * the server; 'auto' → our preference).
   */
  connect(remote: DtlsParameters): void {
    if (this.isClosed) throw new Error('WebRtcEndpoint closed');
    if (this.dtls) throw new Error('already connected');
    this.remoteFingerprints = [...remote.fingerprints];
    const role =
      remote.role === 'client' ? 'server' : remote.role === 'server' ? 'client' : this.preferredRole;
    this.startDtls(role, remote.fingerprints);
  }

  /**
   * Answers an SDP offer (as a browser's createOffer() makes it): fixes the DTLS roles and the
   * peer's fingerprint and ICE ufrag, and returns the answer SDP. Throws SdpNegotiationError on
   * an offer we cannot answer. A later offer renegotiates media sections over the same DTLS
   * association; if it carries new ICE credentials (pc.restartIce()) ours are renewed too.
   */
  answer(offerSdp: string, options: AnswerOptions & { dtlsRole?: 'client' | 'server' } = {}): string {
    if (this.isClosed) throw new Error('WebRtcEndpoint closed');
    const offer = parseOffer(offerSdp);
    const remote = readRemoteTransport(offer);
    if (this.dtls) {
      // A re-offer keeps the DTLS association; new peer ICE credentials mean an ICE restart.
      const same =
        remote.fingerprints.length === this.remoteFingerprints.length &&
        remote.fingerprints.every((f, i) => f.value === this.remoteFingerprints[i]!.value);
      if (!same) throw new SdpNegotiationError('the DTLS fingerprint changed: DTLS restart is not supported');
      if (remote.usernameFragment !== this.remoteUsernameFragment) this.ice.restart();
    }
    const sha256 = certificateFingerprints(this.certificate.der).find((f) => f.algorithm === 'sha-256')!;
    const result = buildAnswer(
      offer,
      {
        usernameFragment: this.ice.usernameFragment,
        password: this.ice.password,
        fingerprint: { algorithm: 'sha-256', value: sha256.value },
        preferredDtlsRole: this.dtls?.role ?? options.dtlsRole ?? this.preferredRole,
        candidates: this.iceCandidates.map((c, index) => ({
          foundation: c.foundation,
          component: 1,
          transport: c.protocol,
          priority: c.priority,
          address: c.address,
          port: c.port,
          type: 'host',
          relatedAddress: undefined,
          relatedPort: undefined,
          tcpType: c.tcpType,
          extensions: [
            ['generation', '0'],
            ['network-id', String(index + 1)],
          ],
        })),
      },
      {
        ...options,
        sctp: { port: SCTP_PORT, maxMessageSize: this.sctpOptions.maxMessageSize },
      },
    );
    if (this.dtls && result.dtlsRole !== this.dtls.role) {
      throw new SdpNegotiationError('the offer asks to swap DTLS roles mid-session');
    }
    this.negotiatedSections = result.sections;
    const dataSection = result.sections.find((s) => s.accepted && s.sctp);
    if (dataSection?.sctp) {
      this.sctpOptions.enabled = true;
      this.remoteSctp = {
        port: dataSection.sctp.remotePort,
        maxMessageSize: dataSection.sctp.remoteMaxMessageSize,
      };
    }
    this.remoteUsernameFragment = remote.usernameFragment;
    this.ice.setRemoteUsernameFragment(remote.usernameFragment);
    if (!this.dtls) {
      this.remoteFingerprints = remote.fingerprints.map((f) => ({
        algorithm: f.algorithm as FingerprintAlgorithm,
        value: f.value,
      }));
      this.startDtls(result.dtlsRole, this.remoteFingerprints);
    } else {
      this.maybeStartSctp();
    }
    return result.sdp;
  }

  /** New ICE credentials (mediasoup's restartIce()): fresh ones, or those given. */
  restartIce(parameters?: IceParameters): IceParameters & { iceLite: true } {
    this.ice.restart(parameters);
    return this.iceParameters;
  }

  /** Protects and sends an RTP packet on the selected tuple. False when not possible yet or it failed. */
  sendRtp(packet: Buffer): boolean {
    const tuple = this.ice.selectedTuple;
    if (!this.srtp || !tuple) return false;
    const out = this.srtp.protectRtp(packet);
    if (typeof out === 'number') return false;
    tuple.send(out);
    this.stats.rtpSent++;
    this.stats.bytesSent += out.length;
    return true;
  }

  /** Protects and sends an RTCP compound packet on the selected tuple. */
  sendRtcp(packet: Buffer): boolean {
    const tuple = this.ice.selectedTuple;
    if (!this.srtp || !tuple) return false;
    const out = this.srtp.protectRtcp(packet);
    if (typeof out === 'number') return false;
    tuple.send(out);
    this.stats.rtcpSent++;
    this.stats.bytesSent += out.length;
    return true;
  }

  /** Sends DTLS application data (an SCTP packet). False before DTLS connected. */
  sendApplicationData(data: Uint8Array): boolean {
    if (this.dtls?.state !== 'connected') return false;
    this.dtls.send(data);
    return true;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    // ABORT while DTLS can still carry it, so the peer's channels close at once.
    this.sctpAssociation?.abort('endpoint closed');
    this.dtls?.close();
    for (const listener of this.iceListeners) {
      listener.removeServer(this.ice);
      if (this.ownsListeners) listener.close();
    }
    this.ice.close();
    this.external?.close();
    this.srtp = undefined;
    this.onRtp = () => {};
    this.onRtcp = () => {};
    this.onApplicationData = () => {};
    this.emit('close');
    this.removeAllListeners();
  }

  private startDtls(role: 'client' | 'server', fingerprints: DtlsFingerprint[]): void {
    const dtls = new DtlsSession({
      role,
      certificate: this.certificate,
      remoteFingerprints: fingerprints,
      // ICE already proved the peer answers on this tuple: a cookie round trip adds nothing.
      cookieExchange: false,
      handshakeTimeoutMs: this.dtlsHandshakeTimeout,
      send: (datagram) => {
        const tuple = this.ice.selectedTuple;
        if (!tuple) return;
        tuple.send(datagram);
        this.stats.bytesSent += datagram.length;
      },
      logger: this.logger,
    });
    this.dtls = dtls;
    dtls.on('statechange', (state) => {
      if (state === 'closed' || state === 'failed') this.sctpAssociation?.close();
      this.emit('dtlsstatechange', state);
    });
    dtls.on('data', (data) => {
      if (this.sctpAssociation) this.sctpAssociation.handlePacket(data);
      else this.onApplicationData(data);
    });
    dtls.on('error', (error) => this.logger.debug({ err: error }, 'endpoint: DTLS error'));
    dtls.on('connected', (connection) => {
      // Either side may send INIT (RFC 8841 §9.3); a simultaneous one is an INIT collision.
      this.sctpAssociation?.connect();
      if (!connection.srtpProfile) {
        this.logger.warn('endpoint: DTLS connected without an SRTP profile');
        return;
      }
      const keys = dtls.srtpKeyingMaterial();
      const srtp = srtpSessionFromDtls(keys);
      if (!srtp) {
        this.logger.warn({ profile: keys.profile }, 'endpoint: SRTP profile unknown to the SRTP module');
        return;
      }
      this.srtp = srtp;
      this.emit('connected', connection);
    });
    this.maybeStartSctp();
    if (role === 'server' || this.ice.selectedTuple) dtls.start();
  }

  /** Creates the SCTP association and data channels once SCTP is wanted and the DTLS role known. */
  private maybeStartSctp(): void {
    if (this.sctpAssociation || !this.sctpOptions.enabled || !this.dtls) return;
    const remoteMax = this.remoteSctp.maxMessageSize;
    const sctp = new SctpAssociation({
      send: (packet) => this.sendApplicationData(packet),
      localPort: SCTP_PORT,
      remotePort: this.remoteSctp.port,
      outboundStreams: this.sctpOptions.OS,
      inboundStreams: this.sctpOptions.MIS,
      // One limit both ways: ours, lowered to the peer's when it declared a smaller one.
      maxMessageSize:
        remoteMax > 0
          ? Math.min(remoteMax, this.sctpOptions.maxMessageSize)
          : this.sctpOptions.maxMessageSize,
      logger: this.logger,
    });
    this.sctpAssociation = sctp;
    this.dataChannelManager = new DataChannelManager(sctp, { dtlsRole: this.dtls.role, logger: this.logger });
    this.dataChannelManager.on('datachannel', (channel) => this.emit('datachannel', channel));
    sctp.on('statechange', (state) => this.emit('sctpstatechange', state));
    if (this.dtls.state === 'connected') sctp.connect();
  }

  private onIceState(state: IceState): void {
    // The DTLS client speaks first, once there is a path to speak on.
    if ((state === 'connected' || state === 'completed') && this.dtls?.state === 'new') this.dtls.start();
    this.emit('icestatechange', state);
  }

  private onPacket(buf: Buffer, _tuple: IceTuple): void {
    this.stats.bytesReceived += buf.length;
    switch (classifyPacket(buf)) {
      case PacketKind.Rtp: {
        if (!this.srtp) {
          this.stats.droppedBeforeKeys++;
          return;
        }
        const packet = this.srtp.unprotectRtp(buf);
        if (typeof packet === 'number') {
          this.stats.srtpErrors++;
          return;
        }
        this.stats.rtpReceived++;
        this.onRtp(packet);
        return;
      }
      case PacketKind.Rtcp: {
        if (!this.srtp) {
          this.stats.droppedBeforeKeys++;
          return;
        }
        const packet = this.srtp.unprotectRtcp(buf);
        if (typeof packet === 'number') {
          this.stats.srtpErrors++;
          return;
        }
        this.stats.rtcpReceived++;
        this.onRtcp(packet);
        return;
      }
      case PacketKind.Dtls:
        this.dtls?.handleDatagram(buf);
        return;
      default:
        this.stats.unknownPackets++;
    }
  }
}
