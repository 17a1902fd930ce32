import type { SessionDescription, SignalData } from '../signaling/protocol.js';
import { type CandidateFilter, parseCandidate } from './candidates.js';

/** What a link needs from the room: where to send signals and whom to tell about media. */
export interface PeerLinkOptions {
  peerId: string;
  /** The polite side yields when both offer at once (perfect negotiation). */
  polite: boolean;
  /**
   * The side that makes the first offer. The other holds its tracks back until that offer
   * arrives and answers with them, so joining never starts with colliding offers.
   */
  initiator: boolean;
  configuration: RTCConfiguration;
  candidateFilter: CandidateFilter | undefined;
  /** Restart ICE when the connection has been `disconnected` this long. */
  disconnectedRestartMs: number;
  /** Restart ICE when a negotiated connection has not connected after this long. */
  connectTimeoutMs: number;
  sendSignal(signal: Pick<SignalData, 'description' | 'candidate'>): Promise<void>;
  /** What the remote says about its own state on the control channel. */
  onControl(message: ControlMessage): void;
  /** A remote track, with the id of the stream the sender put it in (tells camera from screen). */
  onTrack(track: MediaStreamTrack, streamId: string | undefined): void;
  /** A message on the chat channel (a string of at most MAX_CHAT_BYTES). */
  onChat(data: string): void;
  onStateChange(state: RTCPeerConnectionState): void;
}

/**
 * Peer-to-peer state that needs no server: what the sender muted, which of its streams is a
 * screen share (null: none), and whether it wants our media at all ('subscribe').
 */
export type ControlMessage =
  | { type: 'mute'; audio: boolean; video: boolean }
  | { type: 'screen'; streamId: string | null }
  | { type: 'subscribe'; subscribed: boolean };

/** Longest chat message (JSON) a link sends or accepts. */
export const MAX_CHAT_BYTES = 64 * 1024;
/** Chat messages kept while the chat channel is not open yet; older ones are dropped. */
const MAX_QUEUED_CHAT = 100;

function parseControl(data: unknown): ControlMessage | undefined {
  if (typeof data !== 'string' || data.length > 1024) return undefined;
  try {
    const message = JSON.parse(data) as Record<string, unknown> | null;
    if (
      message?.type === 'mute' &&
      typeof message.audio === 'boolean' &&
      typeof message.video === 'boolean'
    ) {
      return { type: 'mute', audio: message.audio, video: message.video };
    }
    if (
      message?.type === 'screen' &&
      (message.streamId === null || (typeof message.streamId === 'string' && message.streamId.length <= 256))
    ) {
      return { type: 'screen', streamId: message.streamId };
    }
    if (message?.type === 'subscribe' && typeof message.subscribed === 'boolean') {
      return { type: 'subscribe', subscribed: message.subscribed };
    }
  } catch {
    // Not ours; ignore.
  }
  return undefined;
}

/** At most this many ICE restarts in a row without reaching `connected`; then we wait for the peer. */
const MAX_CONSECUTIVE_ICE_RESTARTS = 5;
/** A non-initiator that hears no offer this long offers by itself. */
const INITIAL_OFFER_WAIT_MS = 4000;

/**
 * One RTCPeerConnection to one remote peer, negotiated with the "perfect negotiation" pattern
 * (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example): both sides may offer at any
 * time; on a collision the impolite side ignores the remote offer and the polite side rolls
 * back its own. Signals are handled one at a time, in arrival order.
 *
 * Collisions are still avoided where we can: Chromium sometimes stops gathering candidates on
 * the side that rolled back, so the first offer has a single owner (`initiator`), and a link
 * that negotiated but never connects restarts ICE.
 */
export class PeerLink {
  readonly peerId: string;
  readonly pc: RTCPeerConnection;
  readonly #options: PeerLinkOptions;
  readonly #senders = new Map<MediaStreamTrack, RTCRtpSender>();
  #localStream: MediaStream | null = null;
  #screenStream: MediaStream | null = null;
  #screenSender: RTCRtpSender | null = null;
  /** Negotiated (id 0) on both ends, so opening it needs no in-band handshake. */
  #control: RTCDataChannel | null = null;
  /** The latest message of each type, sent again whenever the channel (re)opens. */
  readonly #controlState = new Map<ControlMessage['type'], ControlMessage>();
  /** Negotiated (id 1): chat messages, ordered and reliable. */
  #chat: RTCDataChannel | null = null;
  readonly #chatQueue: string[] = [];
  /** True until the initial offer has been seen (non-initiator only). */
  #waitingForFirstOffer: boolean;
  #firstOfferTimer: ReturnType<typeof setTimeout> | null = null;
  #makingOffer = false;
  #ignoreOffer = false;
  #isSettingRemoteAnswerPending = false;
  #signalChain: Promise<void> = Promise.resolve();
  #disconnectedTimer: ReturnType<typeof setTimeout> | null = null;
  #connectTimer: ReturnType<typeof setTimeout> | null = null;
  /** Restarts since the link last reached `connected` (bounded by MAX_CONSECUTIVE_ICE_RESTARTS). */
  #consecutiveIceRestarts = 0;
  #iceRestarts = 0;
  #closed = false;
  /** The remote wants our media (its 'subscribe' control message); false: our senders are inactive. */
  #remoteSubscribed = true;

  constructor(options: PeerLinkOptions) {
    this.peerId = options.peerId;
    this.#options = options;
    this.pc = new RTCPeerConnection(options.configuration);
    this.pc.onnegotiationneeded = () => void this.#negotiate();
    this.pc.onicecandidate = ({ candidate }) => this.#onLocalCandidate(candidate);
    this.pc.ontrack = ({ track, streams }) => options.onTrack(track, streams[0]?.id);
    this.pc.onconnectionstatechange = () => this.#onConnectionState();
    // Senders added meanwhile have their encodings once negotiated.
    this.pc.addEventListener('signalingstatechange', () => {
      if (this.pc.signalingState === 'stable' && !this.#remoteSubscribed) this.#applySending();
    });
    // The non-initiator adds nothing (tracks, control channel) until the first offer arrives.
    this.#waitingForFirstOffer = !options.initiator;
    if (this.#waitingForFirstOffer) {
      this.#firstOfferTimer = setTimeout(() => this.#stopWaiting(), INITIAL_OFFER_WAIT_MS);
    } else {
      this.#openControl();
    }
  }

  /** Tells the peer our state; sent now if the control channel is open, else when it opens. */
  sendControl(message: ControlMessage): void {
    this.#controlState.set(message.type, message);
    if (this.#control?.readyState === 'open') this.#control.send(JSON.stringify(message));
  }

  /** Sends a chat message (JSON text) now, or when the chat channel opens. */
  sendChat(data: string): void {
    if (data.length > MAX_CHAT_BYTES) throw new RangeError('chat message too long');
    if (this.#chat?.readyState === 'open') {
      this.#chat.send(data);
      return;
    }
    this.#chatQueue.push(data);
    if (this.#chatQueue.length > MAX_QUEUED_CHAT) this.#chatQueue.shift();
  }

  /** Sends this screen-share stream's video as a track of its own (null: stop sharing). */
  setScreenStream(stream: MediaStream | null): void {
    this.#screenStream = stream;
    if (!this.#waitingForFirstOffer) this.#syncScreen();
  }

  /** ICE restarts this link has made, for whatever reason. */
  get iceRestarts(): number {
    return this.#iceRestarts;
  }

  /** Sends this stream's tracks (replacing what was sent before); null sends nothing. */
  setLocalStream(stream: MediaStream | null): void {
    this.#localStream = stream;
    if (this.#waitingForFirstOffer) return;
    this.#syncSenders();
    // An initiator with nothing to send still offers, to receive the other side's media.
    if (this.#options.initiator && this.pc.getTransceivers().length === 0) {
      this.pc.addTransceiver('audio', { direction: 'recvonly' });
      this.pc.addTransceiver('video', { direction: 'recvonly' });
    }
  }

  /** Queues a signal from the remote peer. */
  handleSignal(signal: Pick<SignalData, 'description' | 'candidate'>): void {
    this.#signalChain = this.#signalChain
      .then(() => this.#applySignal(signal))
      .catch((err) => {
        if (!this.#closed) console.warn(`tureen: signal from ${this.peerId} failed`, err);
      });
  }

  /** Restarts ICE: new credentials, new candidates, a new offer. */
  restartIce(): void {
    if (this.#closed) return;
    if (this.#consecutiveIceRestarts >= MAX_CONSECUTIVE_ICE_RESTARTS) return;
    this.#consecutiveIceRestarts++;
    this.#iceRestarts++;
    this.pc.restartIce();
    this.#armConnectTimer();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of [this.#firstOfferTimer, this.#disconnectedTimer, this.#connectTimer]) {
      if (timer) clearTimeout(timer);
    }
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    for (const channel of [this.#control, this.#chat]) {
      if (!channel) continue;
      channel.onopen = null;
      channel.onmessage = null;
    }
    this.pc.close();
  }

  #syncSenders(): void {
    const tracks = this.#localStream?.getTracks() ?? [];
    const keep = new Set(tracks);
    const freed: RTCRtpSender[] = [];
    for (const [track, sender] of this.#senders) {
      if (keep.has(track)) continue;
      freed.push(sender);
      this.#senders.delete(track);
    }
    for (const track of tracks) {
      if (this.#senders.has(track)) continue;
      // A new track of a kind we were sending (another camera or microphone) takes the old
      // sender's place: replaceTrack needs no renegotiation.
      const reuse = freed.findIndex((sender) => sender.track?.kind === track.kind);
      if (reuse >= 0) {
        const [sender] = freed.splice(reuse, 1);
        this.#senders.set(track, sender!);
        sender!.replaceTrack(track).catch((err) => {
          if (!this.#closed) console.warn(`tureen: replaceTrack to ${this.peerId} failed`, err);
        });
        continue;
      }
      // addTrack reuses a transceiver of the same kind that the remote offer created.
      this.#senders.set(track, this.pc.addTrack(track, this.#localStream!));
    }
    for (const sender of freed) this.pc.removeTrack(sender);
  }

  /**
   * Turns every sender's encodings on or off as the remote asked: inactive encodings send no
   * RTP (the tracks stay attached, so resuming needs no renegotiation).
   */
  #applySending(): void {
    const active = this.#remoteSubscribed;
    const senders = [...this.#senders.values(), ...(this.#screenSender ? [this.#screenSender] : [])];
    for (const sender of senders) {
      const parameters = sender.getParameters();
      if (parameters.encodings.length === 0 || parameters.encodings.every((e) => e.active === active))
        continue;
      for (const encoding of parameters.encodings) encoding.active = active;
      sender.setParameters(parameters).catch((err) => {
        if (!this.#closed) console.warn(`tureen: pausing media to ${this.peerId} failed`, err);
      });
    }
  }

  #syncScreen(): void {
    const track = this.#screenStream?.getVideoTracks()[0] ?? null;
    if (this.#screenSender && track) {
      if (this.#screenSender.track !== track) void this.#screenSender.replaceTrack(track).catch(() => {});
      return;
    }
    if (this.#screenSender) {
      this.pc.removeTrack(this.#screenSender);
      this.#screenSender = null;
    }
    if (track) this.#screenSender = this.pc.addTrack(track, this.#screenStream!);
  }

  #stopWaiting(): void {
    if (!this.#waitingForFirstOffer || this.#closed) return;
    this.#waitingForFirstOffer = false;
    if (this.#firstOfferTimer) clearTimeout(this.#firstOfferTimer);
    this.#firstOfferTimer = null;
    this.#openControl();
    this.#syncSenders();
    this.#syncScreen();
  }

  #openControl(): void {
    const channel = this.pc.createDataChannel('tureen-control', { negotiated: true, id: 0 });
    channel.onopen = () => {
      for (const message of this.#controlState.values()) channel.send(JSON.stringify(message));
    };
    channel.onmessage = ({ data }) => {
      const message = parseControl(data);
      if (message?.type === 'subscribe') {
        this.#remoteSubscribed = message.subscribed;
        this.#applySending();
      } else if (message) {
        this.#options.onControl(message);
      }
    };
    this.#control = channel;
    const chat = this.pc.createDataChannel('tureen-chat', { negotiated: true, id: 1 });
    chat.onopen = () => {
      for (const data of this.#chatQueue.splice(0)) chat.send(data);
    };
    chat.onmessage = ({ data }) => {
      if (typeof data === 'string' && data.length <= MAX_CHAT_BYTES) this.#options.onChat(data);
    };
    this.#chat = chat;
  }

  async #negotiate(): Promise<void> {
    try {
      this.#makingOffer = true;
      await this.pc.setLocalDescription();
      await this.#sendDescription();
      this.#armConnectTimer();
    } catch (err) {
      if (!this.#closed) console.warn(`tureen: offer to ${this.peerId} failed`, err);
    } finally {
      this.#makingOffer = false;
    }
  }

  async #sendDescription(): Promise<void> {
    const local = this.pc.localDescription;
    if (!local || this.#closed) return;
    await this.#options.sendSignal({
      description: { type: local.type, sdp: local.sdp } as SessionDescription,
    });
  }

  async #applySignal({
    description,
    candidate,
  }: Pick<SignalData, 'description' | 'candidate'>): Promise<void> {
    if (this.#closed) return;
    if (description) {
      // An answer we are about to apply is not a collision, even though we are not stable yet.
      const readyForOffer =
        !this.#makingOffer && (this.pc.signalingState === 'stable' || this.#isSettingRemoteAnswerPending);
      const offerCollision = description.type === 'offer' && !readyForOffer;
      this.#ignoreOffer = !this.#options.polite && offerCollision;
      if (this.#ignoreOffer) return;
      this.#isSettingRemoteAnswerPending = description.type === 'answer';
      try {
        await this.pc.setRemoteDescription(description as RTCSessionDescriptionInit);
      } finally {
        this.#isSettingRemoteAnswerPending = false;
      }
      if (description.type === 'offer') {
        // Our tracks join the answer: no second round of negotiation.
        this.#stopWaiting();
        await this.pc.setLocalDescription();
        await this.#sendDescription();
        this.#armConnectTimer();
      }
      return;
    }
    if (candidate === undefined) return;
    if (!candidate?.candidate) {
      // End-of-candidates is only a hint; a browser that rejects it here loses nothing.
      await this.pc.addIceCandidate().catch(() => {});
      return;
    }
    if (this.#rejects(candidate.candidate)) return;
    try {
      await this.pc.addIceCandidate(candidate as RTCIceCandidateInit);
    } catch (err) {
      // Candidates of an offer we ignored cannot be applied; that is expected.
      if (!this.#ignoreOffer) throw err;
    }
  }

  #rejects(candidateLine: string): boolean {
    const filter = this.#options.candidateFilter;
    if (!filter) return false;
    const info = parseCandidate(candidateLine);
    return !info || !filter(info);
  }

  #onLocalCandidate(candidate: RTCIceCandidate | null): void {
    if (candidate?.candidate && this.#rejects(candidate.candidate)) return;
    const init = candidate ? (candidate.toJSON() as RTCIceCandidateInit) : null;
    this.#options.sendSignal({ candidate: init }).catch((err) => {
      if (!this.#closed) console.warn(`tureen: candidate to ${this.peerId} not sent`, err);
    });
  }

  /** After a negotiation: if the link has not connected in time, restart ICE. */
  #armConnectTimer(): void {
    if (this.#closed || this.pc.connectionState === 'connected') return;
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = null;
      const state = this.pc.connectionState;
      if (state === 'new' || state === 'connecting') this.restartIce();
    }, this.#options.connectTimeoutMs);
  }

  #onConnectionState(): void {
    const state = this.pc.connectionState;
    this.#options.onStateChange(state);
    if (state === 'connected') {
      this.#consecutiveIceRestarts = 0;
      this.#clearTimer('disconnected');
      this.#clearTimer('connect');
    } else if (state === 'failed' || (state === 'disconnected' && !this.#disconnectedTimer)) {
      this.#scheduleRestart(state);
    }
  }

  /**
   * `disconnected` often heals by itself (a lost consent check), so it gets a moment first.
   * Both ends see the breakage; the polite one waits longer, so usually only one restart offer
   * is made and the other end simply answers it.
   */
  #scheduleRestart(state: 'failed' | 'disconnected'): void {
    this.#clearTimer('disconnected');
    const base = state === 'failed' ? 0 : this.#options.disconnectedRestartMs;
    const delay = base + (this.#options.polite ? this.#options.disconnectedRestartMs : 0);
    if (delay === 0) {
      this.restartIce();
      return;
    }
    this.#disconnectedTimer = setTimeout(() => {
      this.#disconnectedTimer = null;
      const now = this.pc.connectionState;
      if (now === 'disconnected' || now === 'failed') this.restartIce();
    }, delay);
  }

  #clearTimer(which: 'disconnected' | 'connect'): void {
    if (which === 'disconnected') {
      if (this.#disconnectedTimer) clearTimeout(this.#disconnectedTimer);
      this.#disconnectedTimer = null;
    } else {
      if (this.#connectTimer) clearTimeout(this.#connectTimer);
      this.#connectTimer = null;
    }
  }
}
