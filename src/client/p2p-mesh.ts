import type { SignalData } from '../signaling/protocol.js';
import type { CandidateFilter } from './candidates.js';
import { type ControlMessage, PeerLink } from './peer-link.js';

export type SignalPayload = Pick<SignalData, 'description' | 'candidate'>;

export interface P2PMeshOptions {
  localPeerId: string;
  configuration: RTCConfiguration;
  candidateFilter: CandidateFilter | undefined;
  disconnectedRestartMs: number;
  connectTimeoutMs: number;
  /** Whether we want `peerId`'s media; if not, the link asks it to stop sending. */
  isSubscribed(peerId: string): boolean;
  sendSignal(to: string, signal: SignalPayload): Promise<void>;
  onControl(peerId: string, message: ControlMessage): void;
  onTrack(peerId: string, track: MediaStreamTrack, streamId: string | undefined): void;
  onChat(peerId: string, data: string): void;
  onStateChange(peerId: string, state: RTCPeerConnectionState): void;
}

/** A full mesh: one PeerLink per remote peer, every local track sent on each. */
export class P2PMesh {
  readonly #options: P2PMeshOptions;
  readonly #links = new Map<string, PeerLink>();
  #localStream: MediaStream | null = null;
  #screenStream: MediaStream | null = null;
  readonly #control = new Map<ControlMessage['type'], ControlMessage>();

  constructor(options: P2PMeshOptions) {
    this.#options = options;
  }

  get links(): ReadonlyMap<string, PeerLink> {
    return this.#links;
  }

  /**
   * The link to `peerId`, created (with the local tracks) if there is none yet. `initiator`:
   * we make the first offer (we are the newcomer and `peerId` was already in the room).
   */
  connect(peerId: string, initiator = false): PeerLink {
    const existing = this.#links.get(peerId);
    if (existing) return existing;
    const options = this.#options;
    const link = new PeerLink({
      peerId,
      // Any rule both ends compute alike will do; comparing ids needs no extra messages.
      polite: options.localPeerId < peerId,
      initiator,
      configuration: options.configuration,
      candidateFilter: options.candidateFilter,
      disconnectedRestartMs: options.disconnectedRestartMs,
      connectTimeoutMs: options.connectTimeoutMs,
      sendSignal: (signal) => options.sendSignal(peerId, signal),
      onControl: (message) => options.onControl(peerId, message),
      onTrack: (track, streamId) => options.onTrack(peerId, track, streamId),
      onChat: (data) => options.onChat(peerId, data),
      onStateChange: (state) => options.onStateChange(peerId, state),
    });
    this.#links.set(peerId, link);
    link.setLocalStream(this.#localStream);
    link.setScreenStream(this.#screenStream);
    for (const message of this.#control.values()) link.sendControl(message);
    if (!options.isSubscribed(peerId)) link.sendControl({ type: 'subscribe', subscribed: false });
    return link;
  }

  disconnect(peerId: string): void {
    this.#links.get(peerId)?.close();
    this.#links.delete(peerId);
  }

  handleSignal(from: string, signal: SignalPayload): void {
    this.connect(from).handleSignal(signal);
  }

  /** Sends this stream's tracks on every link (and later links); tracks no longer in it stop. */
  setLocalStream(stream: MediaStream | null): void {
    this.#localStream = stream;
    for (const link of this.#links.values()) link.setLocalStream(stream);
  }

  /** Sends a screen share on every link (and later links) as a track of its own; null stops it. */
  setScreenStream(stream: MediaStream | null): void {
    this.#screenStream = stream;
    // Said before the track is added, so the others know the new stream is a screen.
    this.broadcastControl({ type: 'screen', streamId: stream?.id ?? null });
    for (const link of this.#links.values()) link.setScreenStream(stream);
  }

  /** Tells every peer (and later ones) our state, e.g. what we muted. */
  broadcastControl(message: ControlMessage): void {
    this.#control.set(message.type, message);
    for (const link of this.#links.values()) link.sendControl(message);
  }

  /** Asks `peerId` to stop (or resume) sending us its media. */
  setSubscribed(peerId: string, subscribed: boolean): void {
    this.#links.get(peerId)?.sendControl({ type: 'subscribe', subscribed });
  }

  /** Sends a chat message (JSON text) to every peer; links still connecting send it once open. */
  broadcastChat(data: string): void {
    for (const link of this.#links.values()) link.sendChat(data);
  }

  /** Restarts ICE on links that are not connected, e.g. after the signaling socket came back. */
  restartStalledLinks(): void {
    for (const link of this.#links.values()) {
      if (link.pc.connectionState !== 'connected') link.restartIce();
    }
  }

  close(): void {
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
  }
}
