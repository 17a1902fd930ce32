// Rooms and the peers in them. A Room is a set of peers that may signal each other; later
// features (the SFU) hang their own state and methods on it through `methods` and `appData`.
import type { MethodRegistry } from './methods.js';
import type { PeerInfo, Permissions, RoomMode } from './protocol.js';
import type { RoomModeSetting } from './tokens.js';

/** What a peer needs from whatever carries its messages (a WebSocket today). */
export interface PeerTransport {
  /** Sends one already-serialised message; dropped if the transport is closing. */
  sendText(text: string): void;
}

export class Peer {
  /** The socket carrying this peer, or null while it is in its reconnect grace period. */
  transport: PeerTransport | null = null;
  graceTimer: NodeJS.Timeout | null = null;
  /** Per-peer state of other features (e.g. SFU transports), cleared with the peer. */
  readonly appData: Record<string, unknown> = {};

  constructor(
    readonly id: string,
    readonly sessionId: string,
    /** The token's `sub`: who this is, stable across sessions. */
    readonly identity: string,
    public displayName: string,
    readonly room: Room,
    readonly permissions: Permissions,
  ) {}

  info(): PeerInfo {
    return { peerId: this.id, displayName: this.displayName };
  }

  notify(method: string, data: unknown): void {
    this.transport?.sendText(notificationText(method, data));
  }
}

export class Room {
  readonly peers = new Map<string, Peer>();
  mode: RoomMode = 'p2p';
  /** Methods only this room understands (e.g. SFU requests), consulted before the server's. */
  methods: MethodRegistry | null = null;
  /** Per-room state of other features (e.g. an SFU router). */
  readonly appData: Record<string, unknown> = {};
  /** The mode the creating peer's token asked for, if any (read by `roomCreated` listeners). */
  requestedMode: RoomModeSetting | undefined = undefined;

  constructor(readonly id: string) {}

  /** The peers other than `self`, as the join response lists them. */
  peerInfos(self: Peer | null): PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const peer of this.peers.values()) if (peer !== self) out.push(peer.info());
    return out;
  }

  /** Sends one notification to every peer but `except`, serialising it once. */
  broadcast(method: string, data: unknown, except: Peer | null = null): void {
    let text: string | undefined;
    for (const peer of this.peers.values()) {
      if (peer === except || peer.transport === null) continue;
      text ??= notificationText(method, data);
      peer.transport.sendText(text);
    }
  }
}

export function notificationText(method: string, data: unknown): string {
  return JSON.stringify({ type: 'notification', method, data });
}

/** All rooms and all peers by session id; rooms exist exactly while they hold a peer. */
export class RoomRegistry {
  readonly rooms = new Map<string, Room>();
  readonly peersBySession = new Map<string, Peer>();
  peerCount = 0;

  constructor(
    private readonly onRoomCreated: (room: Room) => void,
    private readonly onRoomClosed: (room: Room) => void,
  ) {}

  getOrCreate(roomId: string, requestedMode?: RoomModeSetting): Room {
    let room = this.rooms.get(roomId);
    if (room === undefined) {
      room = new Room(roomId);
      room.requestedMode = requestedMode;
      this.rooms.set(roomId, room);
      try {
        this.onRoomCreated(room);
      } catch (err) {
        // A room its feature could not set up must not linger empty.
        this.rooms.delete(roomId);
        throw err;
      }
    }
    return room;
  }

  add(peer: Peer): void {
    peer.room.peers.set(peer.id, peer);
    this.peersBySession.set(peer.sessionId, peer);
    this.peerCount++;
  }

  /** Removes the peer; closes its room if it was the last one. Returns false if already gone. */
  remove(peer: Peer): boolean {
    if (!peer.room.peers.delete(peer.id)) return false;
    this.peersBySession.delete(peer.sessionId);
    this.peerCount--;
    if (peer.graceTimer !== null) {
      clearTimeout(peer.graceTimer);
      peer.graceTimer = null;
    }
    if (peer.room.peers.size === 0 && this.rooms.get(peer.room.id) === peer.room) {
      this.rooms.delete(peer.room.id);
      this.onRoomClosed(peer.room);
    }
    return true;
  }
}
