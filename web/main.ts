import {
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

const params = new URLSearchParams(location.search);
roomInput.value = params.get('room') ?? '';
nameInput.value = params.get('name') ?? localStorage.getItem('tureen.name') ?? '';
relayInput.checked = params.get('relay') === '1';

let room: Room | null = null;
let localStream: MediaStream | null = null;
const tiles = new Map<string, Tile>();
let localTile: Tile | null = null;
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

function addRemoteTile(participant: Participant): void {
  if (tiles.has(participant.peerId)) return;
  const tile = createTile({
    id: participant.peerId,
    name: participant.displayName,
    stream: participant.stream,
    local: false,
  });
  tile.setState(participant.connectionState);
  tile.setVideoOff(true);
  tiles.set(participant.peerId, tile);
  grid.append(tile.element);
  updateGridSize();
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
  tiles.get(peerId)?.element.remove();
  tiles.delete(peerId);
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
  joined.on('connectionStateChanged', ({ participant, state }) =>
    tiles.get(participant.peerId)?.setState(state),
  );
  joined.on('track', ({ participant, track }) => {
    track.addEventListener('mute', () => showRemoteState(participant));
    track.addEventListener('unmute', () => showRemoteState(participant));
    showRemoteState(participant);
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
  room = null;
  localTile = null;
  for (const peerId of [...tiles.keys()]) removeTile(peerId);
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
leaveButton.addEventListener('click', () => {
  const leaving = room;
  leaving?.leave().finally(() => exitCall(''));
});
