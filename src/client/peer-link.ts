import type { SessionDescription, SignalData } from '../signaling/protocol.js';
import { type CandidateFilter, parseCandidate } from './candidates.js';

/** What a link needs from the room: where to send signals and whom to tell about media. */
export interface PeerLinkOptions {
  peerId: string;
  /** The polite side yields when both offer at once (perfect negotiation). */
  polite: boolean;
  configuration: RTCConfiguration;
  candidateFilter: CandidateFilter | undefined;
  /** Restart ICE when the connection has been `disconnected` this long. */
  disconnectedRestartMs: number;
  sendSignal(signal: Pick<SignalData, 'description' | 'candidate'>): Promise<void>;
  onTrack(track: MediaStreamTrack): void;
  onStateChange(state: RTCPeerConnectionState): void;
}

/** At most this many ICE restarts in a row without reaching `connected`; then we wait for the peer. */
const MAX_CONSECUTIVE_ICE_RESTARTS = 5;

/**
 * One RTCPeerConnection to one remote peer, negotiated with the "perfect negotiation" pattern
 * (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example): both sides may offer at any
 * time; on a collision the impolite side ignores the remote offer and the polite side rolls
 * back its own. Signals are handled one at a time, in arrival order.
 */
export class PeerLink {
  readonly peerId: string;
  readonly pc: RTCPeerConnection;
  readonly #options: PeerLinkOptions;
  readonly #senders = new Map<MediaStreamTrack, RTCRtpSender>();
  #makingOffer = false;
  #ignoreOffer = false;
  #isSettingRemoteAnswerPending = false;
  #signalChain: Promise<void> = Promise.resolve();
  #disconnectedTimer: ReturnType<typeof setTimeout> | null = null;
  #iceRestarts = 0;
  #closed = false;

  constructor(options: PeerLinkOptions) {
    this.peerId = options.peerId;
    this.#options = options;
    this.pc = new RTCPeerConnection(options.configuration);
    this.pc.onnegotiationneeded = () => void this.#negotiate();
    this.pc.onicecandidate = ({ candidate }) => this.#onLocalCandidate(candidate);
    this.pc.ontrack = ({ track }) => options.onTrack(track);
    this.pc.onconnectionstatechange = () => this.#onConnectionState();
  }

  get polite(): boolean {
    return this.#options.polite;
  }

  /** Sends these tracks to the peer; tracks already sent are left alone. */
  addTracks(stream: MediaStream): void {
    for (const track of stream.getTracks()) {
      if (this.#senders.has(track)) continue;
      this.#senders.set(track, this.pc.addTrack(track, stream));
    }
  }

  /** Stops sending tracks that are not in `keep`. */
  removeTracksExcept(keep: ReadonlySet<MediaStreamTrack>): void {
    for (const [track, sender] of this.#senders) {
      if (keep.has(track)) continue;
      this.pc.removeTrack(sender);
      this.#senders.delete(track);
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
    if (this.#iceRestarts >= MAX_CONSECUTIVE_ICE_RESTARTS) return;
    this.#iceRestarts++;
    this.pc.restartIce();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearDisconnectedTimer();
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }

  async #negotiate(): Promise<void> {
    try {
      this.#makingOffer = true;
      await this.pc.setLocalDescription();
      await this.#sendDescription();
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
        await this.pc.setLocalDescription();
        await this.#sendDescription();
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

  #onConnectionState(): void {
    const state = this.pc.connectionState;
    this.#options.onStateChange(state);
    if (state === 'connected') {
      this.#iceRestarts = 0;
      this.#clearDisconnectedTimer();
    } else if (state === 'failed') {
      this.#clearDisconnectedTimer();
      this.restartIce();
    } else if (state === 'disconnected' && !this.#disconnectedTimer) {
      // `disconnected` often heals by itself (a lost consent check); give it a moment.
      this.#disconnectedTimer = setTimeout(() => {
        this.#disconnectedTimer = null;
        if (this.pc.connectionState === 'disconnected') this.restartIce();
      }, this.#options.disconnectedRestartMs);
    }
  }

  #clearDisconnectedTimer(): void {
    if (this.#disconnectedTimer) clearTimeout(this.#disconnectedTimer);
    this.#disconnectedTimer = null;
  }
}
