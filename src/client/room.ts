import type { IceServer, JoinResponseData, Permissions, RoomMode } from '../signaling/protocol.js';
import type { CandidateFilter } from './candidates.js';
import { Emitter } from './emitter.js';
import { P2PMesh } from './p2p-mesh.js';
import { type MediaSource, SfuSession } from './sfu-session.js';
import {
  SignalingClient,
  type SignalingClientOptions,
  type SignalingNotificationEvent,
  type SignalingState,
} from './signaling-client.js';
import { type ConnectionQuality, type ConnectionStats, sampleConnectionStats } from './stats.js';

export interface RoomOptions {
  /** Shown to the others; default: the token's name claim. */
  displayName?: string;
  /** Tracks to send from the start (as `publish` right after connecting; ignored if the token may not publish). */
  stream?: MediaStream;
  /** Only relayed candidates (`iceTransportPolicy: 'relay'`): all media goes through TURN. */
  relayOnly?: boolean;
  /** Replaces the ICE servers the join response offers. */
  iceServers?: RTCIceServer[];
  /** Reach TURN only this way (e.g. 'tcp' where a firewall drops UDP). Default: every way offered. */
  turnTransport?: TurnTransport;
  /** Which ICE candidates may be used, local and remote; e.g. `loopbackCandidatesOnly` in tests. */
  candidateFilter?: CandidateFilter;
  /** How often the 'stats' event fires. Default 1000 ms; 0 turns it off. */
  statsIntervalMs?: number;
  /** SFU rooms: send camera video in three simulcast layers. Default true. */
  simulcast?: boolean;
  /** Restart ICE when a connection has stayed `disconnected` this long. Default 3000 ms. */
  disconnectedRestartMs?: number;
  /** Restart ICE when a negotiated connection has not connected after this long. Default 8000 ms. */
  connectTimeoutMs?: number;
  /**
   * Receive everyone's media as they join (default true). With false nobody is received until
   * `subscribe(peerId)`; see `subscribe` for what that means in SFU and P2P rooms.
   */
  autoSubscribe?: boolean;
  signaling?: SignalingClientOptions;
}

export type MediaKind = 'audio' | 'video';
export type ParticipantConnectionState = RTCPeerConnectionState;

/** Longest chat message `sendChat` takes, in UTF-16 code units. */
export const MAX_CHAT_LENGTH = 4000;

export interface ChatMessage {
  /** Who wrote it (our own peer id for messages we sent). */
  peerId: string;
  displayName: string;
  text: string;
  /** When the sender sent it (ms since the epoch, the sender's clock). */
  timestamp: number;
  /** True for our own messages (sendChat emits them too). */
  local: boolean;
}

export interface Participant {
  readonly peerId: string;
  readonly displayName: string;
  /** The participant's camera and microphone; tracks are added as they arrive. */
  readonly stream: MediaStream;
  /** The participant's screen share: one video track while sharing, empty otherwise. */
  readonly screenStream: MediaStream;
  connectionState: ParticipantConnectionState;
  /** What the participant says it muted (a muted track still sends silence or black). */
  muted: Record<MediaKind, boolean>;
  /** The latest stats sample, refreshed every `statsIntervalMs`. */
  stats: ConnectionStats | undefined;
  /** From the latest sample's loss and RTT; 'good' until measured. */
  quality: ConnectionQuality;
}

/** A remote track and what it carries (P2P: decided by the stream the sender put it in). */
interface RemoteTrack {
  track: MediaStreamTrack;
  streamId: string | undefined;
  /** Known for SFU consumers (appData.source); P2P tracks are matched against the screen stream id. */
  source: MediaSource | undefined;
}

/** Audio at or above this RMS level (about -34 dBFS) over a stats interval counts as speech (P2P). */
const SPEECH_RMS = 0.02;
/** P2P: someone must be this many times louder than a speaker who still speaks to take over. */
const SPEAKER_SWITCH_RATIO = 1.5;

export type RoomCloseReason = 'left' | 'signaling-lost';

export interface RoomEvents {
  participantJoined: Participant;
  participantLeft: Participant;
  track: { participant: Participant; track: MediaStreamTrack };
  connectionStateChanged: { participant: Participant; state: ParticipantConnectionState };
  /** The participant muted or unmuted its audio or video (`participant.muted` has the state). */
  participantMuteChanged: Participant;
  /** One sample per participant with a connection. */
  stats: ConnectionStats[];
  signalingStateChanged: SignalingState;
  /** An `auto` room switched between P2P (two peers) and the SFU (three or more). */
  modeChanged: RoomMode;
  /**
   * Who speaks now (possibly our own peer id): in SFU rooms the server's dominant speaker, in
   * P2P rooms the loudest remote audio over the last stats interval.
   */
  activeSpeaker: { peerId: string };
  /** The participant started or stopped sharing a screen (`participant.screenStream`). */
  screenShareChanged: Participant;
  /** A chat message, from someone else or (`local`) from us. */
  chat: ChatMessage;
  /** The participant's connection quality changed (from loss and RTT). */
  connectionQuality: { participant: Participant; quality: ConnectionQuality };
  /** SFU rooms: the simulcast layers the server now forwards of `peerId`'s video (null: none). */
  layersChanged: { peerId: string; spatialLayer: number | null; temporalLayer: number | null };
  /** `subscribe` or `unsubscribe` changed whether `peerId`'s media is received. */
  subscriptionChanged: { peerId: string; subscribed: boolean };
  /** Something failed in the background (e.g. an SFU request); the room carries on. */
  error: unknown;
  closed: { reason: RoomCloseReason };
}

export type TurnTransport = 'udp' | 'tcp' | 'tls';

/** How a TURN URL reaches its server; undefined for STUN URLs. */
export function turnTransportOf(url: string): TurnTransport | undefined {
  if (url.startsWith('turns:')) return 'tls';
  if (!url.startsWith('turn:')) return undefined;
  return /[?&]transport=tcp\b/i.test(url) ? 'tcp' : 'udp';
}

function toRtcIceServers(servers: IceServer[], turnTransport: TurnTransport | undefined): RTCIceServer[] {
  return servers
    .map((s) => ({
      urls: s.urls.filter((url) => {
        const transport = turnTransportOf(url);
        return transport === undefined || turnTransport === undefined || transport === turnTransport;
      }),
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.credential !== undefined ? { credential: s.credential } : {}),
    }))
    .filter((s) => s.urls.length > 0);
}

/**
 * A joined room: a peer-to-peer mesh (`mode` 'p2p') or a session with the SFU ('sfu'), behind
 * the same API and events.
 * Whoever was already in when `connect` resolved is in `participants`; events report what
 * changes after that.
 *
 * ```ts
 * const room = await Room.connect('wss://host/ws', token, { stream });
 * room.on('track', ({ participant }) => (video.srcObject = participant.stream));
 * ```
 */
export class Room extends Emitter<RoomEvents> {
  readonly roomId: string;
  #mode: RoomMode;
  readonly permissions: Permissions;
  readonly relayOnly: boolean;
  readonly #signaling: SignalingClient;
  readonly #token: string;
  readonly #options: RoomOptions;
  readonly #configuration: RTCConfiguration;
  readonly #participants = new Map<string, Participant>();
  readonly #muted: Record<MediaKind, boolean> = { audio: false, video: false };
  /** Explicit `subscribe`/`unsubscribe` choices; other peers follow `autoSubscribe`. */
  readonly #subscriptions = new Map<string, boolean>();
  #localPeerId: string;
  #sessionId: string;
  #mesh: P2PMesh | null = null;
  #sfu: SfuSession | null = null;
  #localStream: MediaStream | null = null;
  #screenStream: MediaStream | null = null;
  /** Each participant's live remote tracks, in arrival order. */
  readonly #remoteTracks = new Map<string, RemoteTrack[]>();
  /** P2P: the stream id each participant says its screen share is in. */
  readonly #screenStreamIds = new Map<string, string | null>();
  #activeSpeaker: string | null = null;
  #statsTimer: ReturnType<typeof setInterval> | null = null;
  #sampling = false;
  #closed = false;

  /** Opens the signaling socket, joins the room the token names, and starts connecting to its peers. */
  static async connect(url: string, token: string, options: RoomOptions = {}): Promise<Room> {
    const signaling = new SignalingClient(url, options.signaling);
    // Notifications can arrive right behind the join response (in one read, in Node): keep them.
    const early: SignalingNotificationEvent[] = [];
    const stopBuffering = signaling.on('notification', (n) => early.push(n));
    await signaling.connect();
    try {
      const joined = await signaling.request('join', {
        token,
        ...(options.displayName ? { displayName: options.displayName } : {}),
      });
      if (joined.mode !== 'p2p' && joined.mode !== 'sfu') {
        await signaling.request('leave', {}).catch(() => {});
        throw new Error(`room mode '${joined.mode}' is not supported yet`);
      }
      stopBuffering();
      const room = new Room(signaling, token, joined, options);
      for (const notification of early) room.#onNotification(notification);
      return room;
    } catch (err) {
      signaling.close();
      throw err;
    }
  }

  private constructor(
    signaling: SignalingClient,
    token: string,
    joined: JoinResponseData,
    options: RoomOptions,
  ) {
    super();
    this.#signaling = signaling;
    this.#token = token;
    this.#options = options;
    this.roomId = joined.roomId;
    this.#mode = joined.mode;
    this.permissions = joined.permissions;
    this.relayOnly = options.relayOnly ?? false;
    this.#localPeerId = joined.peerId;
    this.#sessionId = joined.sessionId;
    this.#configuration = {
      iceServers: options.iceServers ?? toRtcIceServers(joined.iceServers, options.turnTransport),
      iceTransportPolicy: this.relayOnly ? 'relay' : 'all',
      bundlePolicy: 'max-bundle',
    };
    if (this.#mode === 'sfu') this.#sfu = this.#createSfuSession();
    else this.#mesh = this.#createMesh();

    signaling.on('notification', (n) => this.#onNotification(n));
    signaling.on('state', (state) => {
      this.emit('signalingStateChanged', state);
      if (state === 'closed') this.#close('signaling-lost');
    });
    signaling.resume = () => this.#resume();

    // A token without publish rights still joins, to watch.
    if (options.stream && this.permissions.publish) this.publish(options.stream);
    // We are the newcomer: we make the first offer to everyone already in.
    for (const peer of joined.peers) this.#addParticipant(peer.peerId, peer.displayName, true);
    const interval = options.statsIntervalMs ?? 1000;
    if (interval > 0) this.#statsTimer = setInterval(() => void this.#emitStats(), interval);
  }

  /** 'p2p' or 'sfu'; an `auto` room changes it as peers come and go ('modeChanged'). */
  get mode(): RoomMode {
    return this.#mode;
  }

  get localPeerId(): string {
    return this.#localPeerId;
  }

  get participants(): ReadonlyMap<string, Participant> {
    return this.#participants;
  }

  get localStream(): MediaStream | null {
    return this.#localStream;
  }

  /** Our screen share while sharing (publishScreen), else null. */
  get screenStream(): MediaStream | null {
    return this.#screenStream;
  }

  /** Who speaks now (see the 'activeSpeaker' event); null until someone has. */
  get activeSpeaker(): string | null {
    return this.#activeSpeaker;
  }

  /** P2P rooms: the mesh of peer connections; null in SFU rooms. */
  get p2p(): P2PMesh | null {
    return this.#mesh;
  }

  /** SFU rooms: the mediasoup-client session (device, transports); null in P2P rooms. */
  get sfu(): SfuSession | null {
    return this.#sfu;
  }

  get signalingState(): SignalingState {
    return this.#signaling.state;
  }

  /** Sends this stream's tracks to everyone, replacing what was published before. */
  publish(stream: MediaStream): void {
    if (this.#closed) throw new Error('room is closed');
    if (!this.permissions.publish) throw new Error('this token may not publish');
    this.#localStream = stream;
    for (const track of stream.getTracks()) track.enabled = !this.#muted[track.kind as MediaKind];
    this.#mesh?.setLocalStream(stream);
    this.#sfu?.setLocalStream(stream);
  }

  /**
   * Sends a new camera or microphone track in place of the one of its kind (e.g. another
   * device): RTCRtpSender.replaceTrack / producer.replaceTrack, no renegotiation. The new track
   * takes the old one's place in `localStream`; the caller owns both and stops the old one.
   */
  replaceTrack(track: MediaStreamTrack): void {
    if (this.#closed) throw new Error('room is closed');
    const stream = this.#localStream;
    if (!stream) throw new Error('nothing published');
    for (const old of stream.getTracks())
      if (old.kind === track.kind && old !== track) stream.removeTrack(old);
    if (!stream.getTracks().includes(track)) stream.addTrack(track);
    this.publish(stream);
  }

  /**
   * Shares a screen: `stream` or, by default, what getDisplayMedia offers. Others see it as a
   * participant's `screenStream` ('screenShareChanged'). Stops by itself when the user ends the
   * capture from the browser's own controls.
   */
  async publishScreen(stream?: MediaStream): Promise<MediaStream> {
    if (this.#closed) throw new Error('room is closed');
    if (!this.permissions.publish) throw new Error('this token may not publish');
    const screen = stream ?? (await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }));
    const track = screen.getVideoTracks()[0];
    if (!track) throw new Error('no video track to share');
    if (this.#screenStream && this.#screenStream !== screen) this.unpublishScreen();
    this.#screenStream = screen;
    track.addEventListener('ended', () => {
      if (this.#screenStream === screen) this.unpublishScreen();
    });
    this.#mesh?.setScreenStream(screen);
    void this.#sfu?.setScreenStream(screen);
    return screen;
  }

  /** Stops sharing the screen and stops its tracks. */
  unpublishScreen(): void {
    const screen = this.#screenStream;
    if (!screen) return;
    this.#screenStream = null;
    this.#mesh?.setScreenStream(null);
    void this.#sfu?.setScreenStream(null);
    for (const track of screen.getTracks()) track.stop();
  }

  /** Sends a chat message to everyone in the room (P2P: a data channel per link; SFU: a data producer). */
  sendChat(text: string): ChatMessage {
    if (this.#closed) throw new Error('room is closed');
    if (text.length === 0 || text.length > MAX_CHAT_LENGTH)
      throw new RangeError(`a chat message has 1 to ${MAX_CHAT_LENGTH} characters`);
    const message: ChatMessage = {
      peerId: this.#localPeerId,
      displayName: this.#options.displayName ?? this.#localPeerId,
      text,
      timestamp: Date.now(),
      local: true,
    };
    const data = JSON.stringify({ type: 'chat', text, ts: message.timestamp });
    this.#mesh?.broadcastChat(data);
    this.#sfu?.sendChat(data);
    this.emit('chat', message);
    return message;
  }

  /** Stops sending everything (the tracks themselves stay live; the caller owns them). */
  unpublish(): void {
    this.#localStream = null;
    this.#mesh?.setLocalStream(null);
    this.#sfu?.setLocalStream(null);
  }

  /** Muting disables the track: the others get silence or black frames, no renegotiation. */
  setMuted(kind: MediaKind, muted: boolean): void {
    this.#muted[kind] = muted;
    for (const track of this.#localStream?.getTracks() ?? []) {
      if (track.kind === kind) track.enabled = !muted;
    }
    this.#mesh?.broadcastControl({ type: 'mute', ...this.#muted });
    this.#sfu?.setMuted(kind, muted);
  }

  isMuted(kind: MediaKind): boolean {
    return this.#muted[kind];
  }

  /** A fresh stats sample for every connection (does not disturb the periodic bitrates). */
  async getStats(): Promise<ConnectionStats[]> {
    if (this.#sfu) return this.#sfu.getStats((peerId) => this.#participants.get(peerId)?.stats);
    if (!this.#mesh) return [];
    return Promise.all(
      [...this.#mesh.links.values()].map(async (link) => {
        const sample = await sampleConnectionStats(
          link.peerId,
          link.pc,
          this.#participants.get(link.peerId)?.stats,
        );
        sample.iceRestarts = link.iceRestarts;
        return sample;
      }),
    );
  }

  /** Tells the server we leave and closes every connection. */
  async leave(): Promise<void> {
    if (this.#closed) return;
    await this.#signaling.request('leave', {}, { timeoutMs: 2000 }).catch(() => {});
    this.#close('left');
  }

  /**
   * SFU rooms: the simulcast layer of `peerId`'s video to receive (0 = lowest). Does nothing in
   * P2P rooms, where each peer sends one layer.
   */
  async setPreferredLayers(peerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    await this.#sfu?.setPreferredLayers(peerId, spatialLayer, temporalLayer);
  }

  /**
   * SFU rooms: `peerId`'s video is shown `height` device pixels tall; receive the simulcast layer
   * that fits (asks the server only when that layer changes). Does nothing in P2P rooms.
   */
  async setPreferredVideoSize(peerId: string, height: number): Promise<void> {
    await this.#sfu?.setPreferredVideoSize(peerId, height);
  }

  /** Whether `peerId`'s media is received (its last `subscribe`/`unsubscribe`, else `autoSubscribe`). */
  isSubscribed(peerId: string): boolean {
    return this.#subscriptions.get(peerId) ?? this.#options.autoSubscribe ?? true;
  }

  /**
   * Receive `peerId`'s media. SFU rooms: its consumers are resumed on the server and here, so the
   * SFU forwards it again. P2P rooms: its tracks are enabled again and the remote is asked (on the
   * control channel) to send again. Remembered across mode switches and for peers not yet joined.
   */
  async subscribe(peerId: string): Promise<void> {
    await this.#setSubscribed(peerId, true);
  }

  /**
   * Stop receiving `peerId`'s media. SFU rooms: its consumers are paused on the server, so no
   * media of it flows from the SFU; its tracks stay in `participant.stream` but are disabled
   * (no frames). P2P rooms: its tracks are disabled and the remote is asked (on the control
   * channel) to set its senders' encodings inactive, so no RTP of it flows on the link.
   */
  async unsubscribe(peerId: string): Promise<void> {
    await this.#setSubscribed(peerId, false);
  }

  async #setSubscribed(peerId: string, subscribed: boolean): Promise<void> {
    const changed = this.isSubscribed(peerId) !== subscribed;
    this.#subscriptions.set(peerId, subscribed);
    if (!changed) return;
    for (const { track } of this.#remoteTracks.get(peerId) ?? []) track.enabled = subscribed;
    this.emit('subscriptionChanged', { peerId, subscribed });
    this.#mesh?.setSubscribed(peerId, subscribed);
    await this.#sfu?.setSubscribed(peerId, subscribed);
  }

  /** Restarts ICE on every connection (e.g. after the device changed networks). */
  restartIce(): void {
    this.#sfu?.restartIce();
    for (const link of this.#mesh?.links.values() ?? []) link.restartIce();
  }

  /** Drops the signaling socket as a network failure would (it reconnects and resumes). For tests. */
  simulateSignalingDrop(): void {
    this.#signaling.dropConnection();
  }

  #createMesh(): P2PMesh {
    return new P2PMesh({
      localPeerId: this.#localPeerId,
      configuration: this.#configuration,
      candidateFilter: this.#options.candidateFilter,
      disconnectedRestartMs: this.#options.disconnectedRestartMs ?? 3000,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? 8000,
      isSubscribed: (peerId) => this.isSubscribed(peerId),
      sendSignal: async (to, signal) => {
        await this.#signaling.request('signal', { to, ...signal });
      },
      onControl: (peerId, message) => {
        const participant = this.#participants.get(peerId);
        if (!participant) return;
        if (message.type === 'screen') {
          const previous = this.#screenStreamIds.get(peerId) ?? null;
          if (previous === message.streamId) return;
          this.#screenStreamIds.set(peerId, message.streamId);
          // The old share's tracks are done, even if the sender's renegotiation has not said so.
          if (previous !== null) this.#dropRemoteTracks(peerId, (r) => r.streamId === previous);
          this.#updateRemoteStreams(participant);
          return;
        }
        if (message.type !== 'mute') return;
        if (participant.muted.audio === message.audio && participant.muted.video === message.video) return;
        participant.muted = { audio: message.audio, video: message.video };
        this.emit('participantMuteChanged', participant);
      },
      onTrack: (peerId, track, streamId) => this.#onTrack(peerId, track, streamId, undefined),
      onChat: (peerId, data) => this.#onChat(peerId, data),
      onStateChange: (peerId, state) => {
        const participant = this.#participants.get(peerId);
        if (!participant) return;
        participant.connectionState = state;
        this.emit('connectionStateChanged', { participant, state });
      },
    });
  }

  #createSfuSession(): SfuSession {
    return new SfuSession({
      signaling: this.#signaling,
      permissions: this.permissions,
      iceServers: this.#configuration.iceServers ?? [],
      iceTransportPolicy: this.#configuration.iceTransportPolicy ?? 'all',
      ...(this.#options.simulcast !== undefined ? { simulcast: this.#options.simulcast } : {}),
      onTrack: (peerId, track, source) => this.#onTrack(peerId, track, undefined, source),
      onTrackEnded: (peerId, track) => {
        this.#dropRemoteTracks(peerId, (r) => r.track === track);
        const participant = this.#participants.get(peerId);
        if (participant) this.#updateRemoteStreams(participant);
      },
      onChat: (peerId, data) => this.#onChat(peerId, data),
      onLayersChanged: (peerId, spatialLayer, temporalLayer) =>
        this.emit('layersChanged', { peerId, spatialLayer, temporalLayer }),
      onRemotePaused: (peerId, kind, paused) => {
        const participant = this.#participants.get(peerId);
        if (!participant || participant.muted[kind] === paused) return;
        participant.muted = { ...participant.muted, [kind]: paused };
        this.emit('participantMuteChanged', participant);
      },
      isSubscribed: (peerId) => this.isSubscribed(peerId),
      onConnectionState: (state) => {
        // Every participant's media comes over the one receive transport.
        for (const participant of this.#participants.values()) {
          participant.connectionState = state;
          this.emit('connectionStateChanged', { participant, state });
        }
      },
      onActiveSpeaker: (peerId) => this.#setActiveSpeaker(peerId),
      onError: (err) => {
        console.warn('tureen: SFU session error', err);
        this.emit('error', err);
      },
    });
  }

  /** Drops the current media path (mesh or SFU session) and builds the other one. */
  #switchMode(mode: RoomMode, restart = false): void {
    if ((mode === this.#mode && !restart) || this.#closed) return;
    this.#mode = mode;
    this.#mesh?.close();
    this.#mesh = null;
    this.#sfu?.close();
    this.#sfu = null;
    this.#remoteTracks.clear();
    this.#screenStreamIds.clear();
    for (const participant of this.#participants.values()) {
      this.#updateRemoteStreams(participant);
      participant.connectionState = 'new';
    }
    if (mode === 'sfu') {
      this.#sfu = this.#createSfuSession();
      if (this.#localStream) void this.#sfu.setLocalStream(this.#localStream);
      if (this.#screenStream) void this.#sfu.setScreenStream(this.#screenStream);
      for (const kind of ['audio', 'video'] as const) if (this.#muted[kind]) this.#sfu.setMuted(kind, true);
    } else {
      this.#mesh = this.#createMesh();
      if (this.#localStream) this.#mesh.setLocalStream(this.#localStream);
      if (this.#screenStream) this.#mesh.setScreenStream(this.#screenStream);
      // Both ends switch at once: the larger peer id makes the offer.
      for (const peerId of this.#participants.keys()) this.#mesh.connect(peerId, this.#localPeerId > peerId);
      this.#mesh.broadcastControl({ type: 'mute', ...this.#muted });
    }
    if (!restart) this.emit('modeChanged', mode);
  }

  #onNotification(notification: SignalingNotificationEvent): void {
    if (this.#closed) return;
    if (notification.method === 'modeChanged') {
      this.#switchMode(notification.data.mode);
      return;
    }
    if (notification.method === 'sfuRestart' && this.#sfu) {
      // The server lost the room's worker: start over on its new router.
      this.#switchMode('sfu', true);
      return;
    }
    if (this.#sfu) {
      if (notification.method === 'peerJoined')
        this.#addParticipant(notification.data.peerId, notification.data.displayName, false);
      else if (notification.method === 'peerLeft') this.#removeParticipant(notification.data.peerId);
      else this.#sfu.handleNotification(notification);
      return;
    }
    switch (notification.method) {
      case 'peerJoined':
        this.#addParticipant(notification.data.peerId, notification.data.displayName, false);
        break;
      case 'peerLeft':
        this.#removeParticipant(notification.data.peerId);
        break;
      case 'signal': {
        const { from, description, candidate } = notification.data;
        // A signal can only come from someone in the room, even if peerJoined has not arrived.
        if (!this.#participants.has(from)) this.#addParticipant(from, from, false);
        this.#mesh?.handleSignal(from, { description, candidate });
        break;
      }
    }
  }

  #addParticipant(peerId: string, displayName: string, initiator: boolean): void {
    if (peerId === this.#localPeerId || this.#participants.has(peerId)) return;
    const participant: Participant = {
      peerId,
      displayName,
      stream: new MediaStream(),
      screenStream: new MediaStream(),
      connectionState: this.#sfu ? this.#sfu.connectionState : 'new',
      muted: { audio: false, video: false },
      stats: undefined,
      quality: 'good',
    };
    this.#participants.set(peerId, participant);
    this.emit('participantJoined', participant);
    this.#mesh?.connect(peerId, initiator);
  }

  #removeParticipant(peerId: string): void {
    const participant = this.#participants.get(peerId);
    this.#mesh?.disconnect(peerId);
    this.#sfu?.removePeer(peerId);
    this.#remoteTracks.delete(peerId);
    this.#screenStreamIds.delete(peerId);
    if (!participant) return;
    this.#participants.delete(peerId);
    this.#updateRemoteStreams(participant);
    this.emit('participantLeft', participant);
  }

  #onTrack(
    peerId: string,
    track: MediaStreamTrack,
    streamId: string | undefined,
    source: MediaSource | undefined,
  ): void {
    const participant = this.#participants.get(peerId);
    if (!participant) return;
    const list = this.#remoteTracks.get(peerId) ?? [];
    this.#remoteTracks.set(peerId, list);
    const known = list.find((r) => r.track === track);
    if (known) {
      // A transceiver reused for another stream (P2P): same track, new meaning. An event that
      // names no stream says nothing new.
      if (streamId !== undefined) known.streamId = streamId;
      list.splice(list.indexOf(known), 1);
      list.push(known);
    } else {
      list.push({ track, streamId, source });
      track.enabled = this.isSubscribed(peerId);
      track.addEventListener(
        'ended',
        () => {
          this.#dropRemoteTracks(peerId, (r) => r.track === track);
          if (this.#participants.get(peerId) === participant) this.#updateRemoteStreams(participant);
        },
        { once: true },
      );
    }
    this.#updateRemoteStreams(participant);
  }

  #dropRemoteTracks(peerId: string, which: (r: RemoteTrack) => boolean): void {
    const list = this.#remoteTracks.get(peerId);
    if (!list) return;
    this.#remoteTracks.set(
      peerId,
      list.filter((r) => !which(r)),
    );
  }

  /**
   * Puts the participant's tracks where they belong: the newest audio and camera video in
   * `stream` (a renegotiation that replaces a track supersedes the old one), the newest screen
   * video in `screenStream`. Emits 'track' for each track put in either, and
   * 'screenShareChanged' when the screen share came or went.
   */
  #updateRemoteStreams(participant: Participant): void {
    const list = this.#remoteTracks.get(participant.peerId) ?? [];
    const screenId = this.#screenStreamIds.get(participant.peerId) ?? null;
    const isScreen = (r: RemoteTrack) =>
      r.source !== undefined ? r.source === 'screen' : screenId !== null && r.streamId === screenId;
    const latest = (pick: (r: RemoteTrack) => boolean) => list.filter(pick).at(-1)?.track;
    const want = [
      latest((r) => r.track.kind === 'audio'),
      latest((r) => r.track.kind === 'video' && !isScreen(r)),
    ].filter((t) => t !== undefined);
    const screen = latest((r) => r.track.kind === 'video' && isScreen(r));
    const added: MediaStreamTrack[] = [];
    const sync = (stream: MediaStream, tracks: MediaStreamTrack[]): boolean => {
      let changed = false;
      for (const track of stream.getTracks()) {
        if (!tracks.includes(track)) {
          stream.removeTrack(track);
          changed = true;
        }
      }
      for (const track of tracks) {
        if (!stream.getTracks().includes(track)) {
          stream.addTrack(track);
          added.push(track);
          changed = true;
        }
      }
      return changed;
    };
    sync(participant.stream, want);
    const screenChanged = sync(participant.screenStream, screen ? [screen] : []);
    for (const track of added) this.emit('track', { participant, track });
    if (screenChanged) this.emit('screenShareChanged', participant);
  }

  #onChat(peerId: string, data: string): void {
    const participant = this.#participants.get(peerId);
    if (!participant) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    const { type, text, ts } = (parsed ?? {}) as Record<string, unknown>;
    if (type !== 'chat' || typeof text !== 'string' || text.length === 0 || text.length > MAX_CHAT_LENGTH)
      return;
    this.emit('chat', {
      peerId,
      displayName: participant.displayName,
      text,
      timestamp: typeof ts === 'number' && Number.isFinite(ts) ? ts : Date.now(),
      local: false,
    });
  }

  #setActiveSpeaker(peerId: string): void {
    if (this.#activeSpeaker === peerId) return;
    this.#activeSpeaker = peerId;
    this.emit('activeSpeaker', { peerId });
  }

  /**
   * P2P: the loudest audio over the last stats interval, remote or our own microphone, becomes
   * the speaker if loud enough. The current speaker keeps the floor while it still speaks and
   * nobody is clearly (SPEAKER_SWITCH_RATIO) louder, so equal voices do not flap.
   */
  #detectSpeaker(previous: Map<string, ConnectionStats | undefined>, samples: ConnectionStats[]): void {
    const levels = new Map<string, number>();
    const rmsOf = (energy: number, seconds: number) =>
      seconds > 0 && energy > 0 ? Math.sqrt(energy / seconds) : 0;
    for (const sample of samples) {
      const before = previous.get(sample.peerId);
      if (!before) continue;
      const seconds = (sample.timestamp - before.timestamp) / 1000;
      if (!this.#participants.get(sample.peerId)?.muted.audio) {
        levels.set(
          sample.peerId,
          rmsOf(sample.audio.totalAudioEnergy - before.audio.totalAudioEnergy, seconds),
        );
      }
      // Every link's report has our microphone's source record: take it from the first.
      if (
        !levels.has(this.#localPeerId) &&
        !this.#muted.audio &&
        this.#localStream?.getAudioTracks().length
      ) {
        const energy = sample.audio.sourceTotalAudioEnergy - before.audio.sourceTotalAudioEnergy;
        levels.set(this.#localPeerId, rmsOf(energy, seconds));
      }
    }
    let loudest: string | undefined;
    let loudestRms = SPEECH_RMS;
    for (const [peerId, rms] of levels) {
      if (rms >= loudestRms) {
        loudestRms = rms;
        loudest = peerId;
      }
    }
    if (loudest === undefined || loudest === this.#activeSpeaker) return;
    const current = this.#activeSpeaker === null ? 0 : (levels.get(this.#activeSpeaker) ?? 0);
    if (current >= SPEECH_RMS && loudestRms < current * SPEAKER_SWITCH_RATIO) return;
    this.#setActiveSpeaker(loudest);
  }

  /** After a signaling reconnect: re-join with our sessionId and reconcile the peer list. */
  async #resume(): Promise<void> {
    const joined = await this.#signaling.request(
      'join',
      {
        token: this.#token,
        sessionId: this.#sessionId,
        ...(this.#options.displayName ? { displayName: this.#options.displayName } : {}),
      },
      { immediate: true },
    );
    this.#sessionId = joined.sessionId;
    const isNewPeer = joined.peerId !== this.#localPeerId;
    if (isNewPeer) {
      // The grace period ran out: we are a new peer and every connection starts over.
      for (const peerId of [...this.#participants.keys()]) this.#removeParticipant(peerId);
      this.#localPeerId = joined.peerId;
      if (this.#sfu) {
        // The server closed the old peer's transports: start a new session.
        this.#sfu.close();
        this.#sfu = this.#createSfuSession();
        if (this.#localStream) void this.#sfu.setLocalStream(this.#localStream);
        if (this.#screenStream) void this.#sfu.setScreenStream(this.#screenStream);
        for (const kind of ['audio', 'video'] as const) if (this.#muted[kind]) this.#sfu.setMuted(kind, true);
      } else {
        this.#mesh?.close();
        this.#mesh = this.#createMesh();
        if (this.#localStream) this.#mesh.setLocalStream(this.#localStream);
        if (this.#screenStream) this.#mesh.setScreenStream(this.#screenStream);
        this.#mesh.broadcastControl({ type: 'mute', ...this.#muted });
      }
    } else {
      const present = new Set(joined.peers.map((p) => p.peerId));
      for (const peerId of [...this.#participants.keys()]) {
        if (!present.has(peerId)) this.#removeParticipant(peerId);
      }
      // Signals sent while the socket was down were lost; fresh candidates repair that.
      this.#mesh?.restartStalledLinks();
      // SFU notifications sent while it was down were lost too: have them announced again.
      this.#sfu?.resync();
    }
    // Peers that joined while we were away saw us in their join response and offer to us.
    for (const peer of joined.peers) this.#addParticipant(peer.peerId, peer.displayName, isNewPeer);
  }

  async #emitStats(): Promise<void> {
    if (this.#sampling || this.#closed) return;
    this.#sampling = true;
    try {
      const samples = await this.getStats();
      if (this.#closed) return;
      const previous = new Map<string, ConnectionStats | undefined>();
      for (const sample of samples) {
        const participant = this.#participants.get(sample.peerId);
        if (!participant) continue;
        previous.set(sample.peerId, participant.stats);
        participant.stats = sample;
      }
      this.emit('stats', samples);
      for (const sample of samples) {
        const participant = this.#participants.get(sample.peerId);
        // Quality needs a measured interval: the first sample has no loss figure yet.
        if (!participant || !previous.get(sample.peerId) || participant.quality === sample.quality) continue;
        participant.quality = sample.quality;
        this.emit('connectionQuality', { participant, quality: sample.quality });
      }
      if (this.#mesh) this.#detectSpeaker(previous, samples);
    } catch (err) {
      console.warn('tureen: stats sampling failed', err);
    } finally {
      this.#sampling = false;
    }
  }

  #close(reason: RoomCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#statsTimer = null;
    this.#mesh?.close();
    this.#sfu?.close();
    this.#signaling.close();
    for (const participant of this.#participants.values()) this.emit('participantLeft', participant);
    this.#participants.clear();
    this.emit('closed', { reason });
    this.removeAllListeners();
  }
}
