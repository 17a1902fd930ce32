import {
  type ChatMessage,
  type ConnectionStats,
  loopbackCandidatesOnly,
  type Participant,
  Room,
  type RoomOptions,
} from '../src/client/index.js';
import { createTile, type Tile } from './tiles.js';

/** What tests (and curious developers) can read from `window.tureen`. */
interface TureenPageHook {
  readonly room: Room | null;
  stats(): Promise<ConnectionStats[]>;
  participants(): { peerId: string; displayName: string; connectionState: string }[];
  /** Chat messages shown on the page, oldest first (ours included). */
  readonly chat: readonly ChatMessage[];
}

declare global {
  interface Window {
    tureen: TureenPageHook;
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const lobby = $<HTMLElement>('lobby');
const call = $<HTMLElement>('call');
const grid = $<HTMLDivElement>('grid');
const form = $<HTMLFormElement>('join-form');
const roomInput = $<HTMLInputElement>('room-input');
const nameInput = $<HTMLInputElement>('name-input');
const relayInput = $<HTMLInputElement>('relay-input');
const joinButton = $<HTMLButtonElement>('join-button');
const errorBox = $<HTMLParagraphElement>('error');
const preview = $<HTMLVideoElement>('preview');
const previewNote = $<HTMLParagraphElement>('preview-note');
const roomLabel = $<HTMLSpanElement>('room-label');
const micButton = $<HTMLButtonElement>('mic-button');
const cameraButton = $<HTMLButtonElement>('camera-button');
const leaveButton = $<HTMLButtonElement>('leave-button');
const inviteButton = $<HTMLButtonElement>('invite-button');
const screenButton = $<HTMLButtonElement>('screen-button');
const chatButton = $<HTMLButtonElement>('chat-button');
const chatUnread = $<HTMLSpanElement>('chat-unread');
const chatPanel = $<HTMLElement>('chat');
const chatClose = $<HTMLButtonElement>('chat-close');
const chatLog = $<HTMLOListElement>('chat-log');
const chatForm = $<HTMLFormElement>('chat-form');
const chatInput = $<HTMLInputElement>('chat-input');
const cameraSelect = $<HTMLSelectElement>('camera-select');
const micSelect = $<HTMLSelectElement>('mic-select');

const params = new URLSearchParams(location.search);
roomInput.value = params.get('room') ?? '';
nameInput.value = params.get('name') ?? localStorage.getItem('tureen.name') ?? '';
relayInput.checked = params.get('relay') === '1';

let room: Room | null = null;
let localStream: MediaStream | null = null;
const tiles = new Map<string, Tile>();
/** Screen-share tiles by peer id ('local' for ours). */
const screenTiles = new Map<string, Tile>();
let localTile: Tile | null = null;
const chatMessages: ChatMessage[] = [];
let unread = 0;
/** Remote tiles' rendered heights (device pixels), for picking simulcast layers by size. */
const tileHeights = new Map<string, number>();
const sizeTimers = new Map<string, ReturnType<typeof setTimeout>>();
/** Layer requests wait until a tile has kept its size this long (resizes come in bursts). */
const SIZE_DEBOUNCE_MS = 300;
const sizeObserver = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const peerId = (entry.target as HTMLElement).dataset.peerId;
    if (!peerId || !tiles.has(peerId)) continue;
    tileHeights.set(peerId, Math.round(entry.contentRect.height * devicePixelRatio));
    clearTimeout(sizeTimers.get(peerId));
    sizeTimers.set(
      peerId,
      setTimeout(() => {
        sizeTimers.delete(peerId);
        applyTileSize(peerId);
      }, SIZE_DEBOUNCE_MS),
    );
  }
});
const previewReady = startPreview();

window.tureen = {
  get room() {
    return room;
  },
  stats: () => room?.getStats() ?? Promise.resolve([]),
  participants: () =>
    [...(room?.participants.values() ?? [])].map((p) => ({
      peerId: p.peerId,
      displayName: p.displayName,
      connectionState: p.connectionState,
    })),
  chat: chatMessages,
};

function flashLabel(button: HTMLButtonElement, text: string): void {
  const original = button.textContent;
  button.textContent = text;
  setTimeout(() => {
    button.textContent = original;
  }, 1500);
}

function showError(message: string): void {
  errorBox.textContent = message;
  errorBox.hidden = message === '';
}

async function startPreview(): Promise<void> {
  try {
    localStream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: { ideal: 640 }, height: { ideal: 360 } },
    });
    preview.srcObject = localStream;
    previewNote.hidden = true;
    await fillDeviceSelects();
  } catch (err) {
    previewNote.textContent = `No camera or microphone (${(err as Error).name}); you can still join to watch.`;
  }
}

async function fetchToken(roomName: string, displayName: string): Promise<string> {
  const given = params.get('token');
  if (given) return given;
  const query = new URLSearchParams({ room: roomName, name: displayName });
  const res = await fetch(`/api/dev-token?${query}`);
  if (!res.ok) throw new Error(`no dev token (${res.status}); open this page with ?token=`);
  const body = (await res.json()) as { token: string };
  return body.token;
}

function signalingUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

/** The camera and microphone selects, from enumerateDevices (labels once permission is given). */
async function fillDeviceSelects(): Promise<void> {
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  const selects = [
    { select: cameraSelect, kind: 'videoinput', track: localStream?.getVideoTracks()[0], label: 'Camera' },
    { select: micSelect, kind: 'audioinput', track: localStream?.getAudioTracks()[0], label: 'Microphone' },
  ];
  for (const { select, kind, track, label } of selects) {
    const current = track?.getSettings().deviceId;
    const options = devices
      .filter((d) => d.kind === kind && d.deviceId !== '')
      .map((d, i) => {
        const option = new Option(d.label || `${label} ${i + 1}`, d.deviceId);
        option.selected = d.deviceId === current;
        return option;
      });
    select.replaceChildren(...options);
    select.disabled = options.length === 0 || !track;
  }
}

/** Sends the chosen device's new track in place of the old one (no renegotiation). */
async function switchDevice(kind: 'audio' | 'video', deviceId: string): Promise<void> {
  if (!localStream) return;
  const old = localStream.getTracks().find((t) => t.kind === kind);
  if (old?.getSettings().deviceId === deviceId && old.readyState === 'live' && !room) return;
  const constraints: MediaStreamConstraints =
    kind === 'video'
      ? { video: { deviceId: { exact: deviceId }, width: { ideal: 640 }, height: { ideal: 360 } } }
      : { audio: { deviceId: { exact: deviceId } } };
  let fresh: MediaStreamTrack | undefined;
  try {
    fresh = (await navigator.mediaDevices.getUserMedia(constraints)).getTracks()[0];
  } catch (err) {
    showError(`Could not switch ${kind === 'video' ? 'camera' : 'microphone'}: ${(err as Error).message}`);
    return;
  }
  if (!fresh) return;
  if (room) room.replaceTrack(fresh);
  else {
    if (old) localStream.removeTrack(old);
    localStream.addTrack(fresh);
  }
  old?.stop();
  updateControls();
}

function addRemoteTile(participant: Participant): void {
  if (tiles.has(participant.peerId)) return;
  const tile = createTile({
    id: participant.peerId,
    name: participant.displayName,
    stream: participant.stream,
    local: false,
    onToggleReceive: () => {
      const id = participant.peerId;
      if (!room) return;
      (room.isSubscribed(id) ? room.unsubscribe(id) : room.subscribe(id)).catch((err: Error) =>
        showError(`Could not change what you receive: ${err.message}`),
      );
    },
  });
  tile.setState(participant.connectionState);
  tile.setSubscribed(room?.isSubscribed(participant.peerId) ?? true);
  tile.setVideoOff(true);
  tile.setSpeaking(room?.activeSpeaker === participant.peerId);
  tiles.set(participant.peerId, tile);
  grid.append(tile.element);
  sizeObserver.observe(tile.element);
  updateGridSize();
}

/** SFU rooms: receive the simulcast layer that fits the tile's size. */
function applyTileSize(peerId: string): void {
  const height = tileHeights.get(peerId);
  if (height === undefined || height === 0 || !room) return;
  room.setPreferredVideoSize(peerId, height).catch(() => {});
}

/** A tile of its own for a screen share (ours: 'local'), or none when it stops. */
function showScreenTile(key: string, name: string, stream: MediaStream | null, local: boolean): void {
  const existing = screenTiles.get(key);
  const sharing = stream !== null && stream.getVideoTracks().length > 0;
  if (!sharing) {
    existing?.element.remove();
    screenTiles.delete(key);
    updateGridSize();
    return;
  }
  if (existing) return;
  const tile = createTile({ id: `${key}:screen`, name: `${name}: screen`, stream, local, screen: true });
  screenTiles.set(key, tile);
  grid.prepend(tile.element);
  tile.video.play().catch(() => {});
  updateGridSize();
}

function showSpeaker(peerId: string | null): void {
  const localId = room?.localPeerId;
  localTile?.setSpeaking(peerId !== null && peerId === localId);
  for (const [id, tile] of tiles) tile.setSpeaking(id === peerId);
}

function addChatMessage(message: ChatMessage): void {
  chatMessages.push(message);
  const item = document.createElement('li');
  item.className = message.local ? 'chat-message local' : 'chat-message';
  item.dataset.peerId = message.peerId;
  const head = document.createElement('div');
  head.className = 'chat-meta';
  const who = document.createElement('span');
  who.className = 'chat-name';
  who.textContent = message.local ? 'You' : message.displayName;
  const time = document.createElement('time');
  time.dateTime = new Date(message.timestamp).toISOString();
  time.textContent = new Date(message.timestamp).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
  });
  head.append(who, time);
  const text = document.createElement('p');
  text.className = 'chat-text';
  text.textContent = message.text;
  item.append(head, text);
  // Follow the conversation, unless the reader has scrolled up to read older messages.
  const atBottom = chatLog.scrollHeight - chatLog.scrollTop - chatLog.clientHeight < 40;
  chatLog.append(item);
  if (atBottom || message.local) chatLog.scrollTop = chatLog.scrollHeight;
  if (!message.local && chatPanel.hidden) {
    unread++;
    chatUnread.textContent = String(unread);
    chatUnread.hidden = false;
  }
}

function setChatOpen(open: boolean): void {
  chatPanel.hidden = !open;
  chatButton.setAttribute('aria-pressed', String(open));
  call.classList.toggle('chat-open', open);
  if (open) {
    unread = 0;
    chatUnread.textContent = '';
    chatUnread.hidden = true;
    chatInput.focus({ preventScroll: true });
  }
}

/** Picture or initial, mic badge: from the remote's tracks and what it says it muted. */
function showRemoteState(participant: Participant): void {
  const tile = tiles.get(participant.peerId);
  if (!tile) return;
  // A remote track is muted while its sender sends nothing (e.g. after unpublishing).
  const sending = participant.stream.getVideoTracks().some((t) => t.readyState === 'live' && !t.muted);
  tile.setVideoOff(participant.muted.video || !sending);
  tile.setMicOff(participant.muted.audio);
}

function removeTile(peerId: string): void {
  const tile = tiles.get(peerId);
  if (tile) sizeObserver.unobserve(tile.element);
  tile?.element.remove();
  tiles.delete(peerId);
  clearTimeout(sizeTimers.get(peerId));
  tileHeights.delete(peerId);
  screenTiles.get(peerId)?.element.remove();
  screenTiles.delete(peerId);
  updateGridSize();
}

function updateGridSize(): void {
  grid.dataset.count = String(grid.childElementCount);
}

function updateControls(): void {
  const audioMuted = room?.isMuted('audio') ?? false;
  const videoMuted = room?.isMuted('video') ?? false;
  micButton.textContent = audioMuted ? 'Unmute mic' : 'Mute mic';
  micButton.setAttribute('aria-pressed', String(audioMuted));
  cameraButton.textContent = videoMuted ? 'Start camera' : 'Stop camera';
  cameraButton.setAttribute('aria-pressed', String(videoMuted));
  const sharing = room?.screenStream != null;
  screenButton.textContent = sharing ? 'Stop sharing' : 'Share screen';
  screenButton.setAttribute('aria-pressed', String(sharing));
  screenButton.disabled = !room?.permissions.publish || !navigator.mediaDevices?.getDisplayMedia;
  localTile?.setVideoOff(videoMuted || !localStream?.getVideoTracks().length);
  localTile?.setMicOff(audioMuted);
}

async function join(): Promise<void> {
  const roomName = roomInput.value.trim();
  const displayName = nameInput.value.trim();
  if (!roomName || !displayName) return;
  localStorage.setItem('tureen.name', displayName);
  showError('');
  joinButton.disabled = true;
  await previewReady;
  try {
    const token = await fetchToken(roomName, displayName);
    const options: RoomOptions = { displayName, relayOnly: relayInput.checked };
    // ?turn=tcp (or udp, tls): reach TURN only that way, e.g. behind a firewall that drops UDP.
    const turn = params.get('turn');
    if (turn === 'udp' || turn === 'tcp' || turn === 'tls') options.turnTransport = turn;
    if (localStream) options.stream = localStream;
    // Test-only: keep ICE on loopback when the machine has other interfaces.
    if (params.get('iceFilter') === 'loopback') options.candidateFilter = loopbackCandidatesOnly;
    // ?autoSubscribe=0: receive nobody until their tile's receive button (room.subscribe).
    if (params.get('autoSubscribe') === '0') options.autoSubscribe = false;
    room = await Room.connect(signalingUrl(), token, options);
  } catch (err) {
    showError(`Could not join: ${(err as Error).message}`);
    joinButton.disabled = false;
    return;
  }
  enterCall(room, displayName);
}

function enterCall(joined: Room, displayName: string): void {
  history.replaceState(
    null,
    '',
    `?${new URLSearchParams({ ...Object.fromEntries(params), room: joined.roomId })}`,
  );
  lobby.hidden = true;
  call.hidden = false;
  roomLabel.hidden = false;
  roomLabel.textContent = joined.roomId + (joined.relayOnly ? ' · relay only' : '');
  inviteButton.hidden = false;

  if (localStream) {
    localTile = createTile({ id: 'local', name: displayName, stream: localStream, local: true });
    localTile.setVideoOff(localStream.getVideoTracks().length === 0);
    grid.append(localTile.element);
  }
  for (const participant of joined.participants.values()) addRemoteTile(participant);
  updateGridSize();
  updateControls();

  joined.on('participantJoined', addRemoteTile);
  joined.on('participantLeft', (p) => removeTile(p.peerId));
  joined.on('participantMuteChanged', showRemoteState);
  joined.on('screenShareChanged', (p) =>
    showScreenTile(
      p.peerId,
      p.displayName,
      p.screenStream.getVideoTracks().length ? p.screenStream : null,
      false,
    ),
  );
  joined.on('activeSpeaker', ({ peerId }) => showSpeaker(peerId));
  joined.on('subscriptionChanged', ({ peerId, subscribed }) => tiles.get(peerId)?.setSubscribed(subscribed));
  joined.on('chat', addChatMessage);
  joined.on('connectionQuality', ({ participant, quality }) => {
    const tile = tiles.get(participant.peerId);
    if (tile) tile.element.dataset.quality = quality;
  });
  joined.on('connectionStateChanged', ({ participant, state }) =>
    tiles.get(participant.peerId)?.setState(state),
  );
  joined.on('track', ({ participant, track }) => {
    track.addEventListener('mute', () => showRemoteState(participant));
    track.addEventListener('unmute', () => showRemoteState(participant));
    showRemoteState(participant);
    // A new consumer (SFU) starts at the top layer: ask again for what fits the tile.
    if (track.kind === 'video') applyTileSize(participant.peerId);
    // Autoplay may have paused on an empty stream; a new track is a new chance.
    tiles
      .get(participant.peerId)
      ?.video.play()
      .catch(() => {});
  });
  joined.on('stats', (samples) => {
    for (const sample of samples) tiles.get(sample.peerId)?.setStats(sample);
  });
  joined.on('signalingStateChanged', (state) => {
    roomLabel.dataset.state = state;
    if (state === 'reconnecting') roomLabel.textContent = `${joined.roomId} · reconnecting…`;
    else if (state === 'open')
      roomLabel.textContent = joined.roomId + (joined.relayOnly ? ' · relay only' : '');
  });
  joined.on('closed', ({ reason }) =>
    exitCall(reason === 'signaling-lost' ? 'Lost the connection to the server.' : ''),
  );
}

function exitCall(message: string): void {
  const leaving = room;
  room = null;
  localTile = null;
  leaving?.unpublishScreen();
  for (const peerId of [...tiles.keys()]) removeTile(peerId);
  for (const key of [...screenTiles.keys()]) showScreenTile(key, '', null, false);
  chatMessages.length = 0;
  chatLog.replaceChildren();
  setChatOpen(false);
  grid.replaceChildren();
  call.hidden = true;
  lobby.hidden = false;
  roomLabel.hidden = true;
  inviteButton.hidden = true;
  joinButton.disabled = false;
  showError(message);
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void join();
});
micButton.addEventListener('click', () => {
  room?.setMuted('audio', !room.isMuted('audio'));
  updateControls();
});
cameraButton.addEventListener('click', () => {
  room?.setMuted('video', !room.isMuted('video'));
  updateControls();
});
inviteButton.addEventListener('click', () => {
  const link = `${location.origin}${location.pathname}?${new URLSearchParams({ room: room?.roomId ?? roomInput.value })}`;
  navigator.clipboard.writeText(link).then(
    () => flashLabel(inviteButton, 'Link copied'),
    () => prompt('Invite link', link),
  );
});
screenButton.addEventListener('click', () => {
  const current = room;
  if (!current) return;
  if (current.screenStream) {
    current.unpublishScreen();
    showScreenTile('local', '', null, true);
    updateControls();
    return;
  }
  current.publishScreen().then(
    (screen) => {
      showScreenTile('local', 'You', screen, true);
      // Ended from the browser's own "stop sharing" control: the room stops sending by itself.
      screen.getVideoTracks()[0]?.addEventListener('ended', () => {
        showScreenTile('local', '', null, true);
        updateControls();
      });
      updateControls();
    },
    (err: Error) => {
      if (err.name !== 'NotAllowedError') showError(`Could not share the screen: ${err.message}`);
    },
  );
});
chatButton.addEventListener('click', () => setChatOpen(Boolean(chatPanel.hidden)));
chatClose.addEventListener('click', () => setChatOpen(false));
chatForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = chatInput.value.trim();
  if (!text || !room) return;
  room.sendChat(text);
  chatInput.value = '';
});
cameraSelect.addEventListener('change', () => void switchDevice('video', cameraSelect.value));
micSelect.addEventListener('change', () => void switchDevice('audio', micSelect.value));
navigator.mediaDevices?.addEventListener('devicechange', () => void fillDeviceSelects());
leaveButton.addEventListener('click', () => {
  const leaving = room;
  leaving?.leave().finally(() => exitCall(''));
});
