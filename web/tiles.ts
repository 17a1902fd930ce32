import type { ConnectionStats } from '../src/client/index.js';

/** Bits per second, human-sized. */
export function formatBitrate(bps: number): string {
  if (bps >= 1_000_000) return `${(bps / 1_000_000).toFixed(1)} Mb/s`;
  if (bps >= 1_000) return `${Math.round(bps / 1_000)} kb/s`;
  return `${Math.round(bps)} b/s`;
}

/** Loss in percent: one decimal below 10 %. */
export function formatLoss(percent: number): string {
  return percent < 10 ? `${percent.toFixed(1)} %` : `${Math.round(percent)} %`;
}

export interface Tile {
  readonly element: HTMLElement;
  readonly video: HTMLVideoElement;
  setStats(stats: ConnectionStats | undefined): void;
  setState(state: string): void;
  /** No picture to show (camera off or no video track): the initial stands in. */
  setVideoOff(off: boolean): void;
  setMicOff(off: boolean): void;
  /** The participant is the active speaker. */
  setSpeaking(speaking: boolean): void;
  /** Whether this participant's media is received (the tile's receive button). */
  setSubscribed(subscribed: boolean): void;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text = '',
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text) node.textContent = text;
  return node;
}

export interface TileOptions {
  /** `data-peer-id`: the participant's peer id, 'local', or '<peer id>:screen' for a screen share. */
  id: string;
  name: string;
  stream: MediaStream;
  local: boolean;
  /** A screen share: shown whole (not cropped), never mirrored, no connection readout. */
  screen?: boolean;
  /** Remote camera tiles: the receive button was pressed (stop or start receiving this peer). */
  onToggleReceive?: () => void;
}

/** A video tile with a name and, for remote peers, a live connection readout. */
export function createTile(opts: TileOptions): Tile {
  const element = el(
    'figure',
    ['tile', opts.local ? 'local' : '', opts.screen ? 'screen' : ''].join(' ').trim(),
  );
  element.dataset.peerId = opts.id;
  const video = el('video', 'tile-video');
  video.autoplay = true;
  video.playsInline = true;
  // Our own audio must never play back to us.
  video.muted = opts.local;
  video.srcObject = opts.stream;

  const avatar = el('div', 'avatar', (opts.name.trim()[0] ?? '?').toUpperCase());
  avatar.setAttribute('aria-hidden', 'true');
  const caption = el('figcaption', 'tile-caption');
  const name = el('span', 'tile-name', opts.local ? `${opts.name} (you)` : opts.name);
  const micOff = el('span', 'badge mic-off', 'mic off');
  micOff.hidden = true;
  name.append(micOff);
  caption.append(name);
  const info = el('span', 'tile-info');
  const mode = el('span', 'badge mode', '');
  mode.hidden = true;
  const type = el('span', 'badge', '…');
  const quality = el('span', 'quality');
  quality.hidden = true;
  const rtt = el('span', 'metric rtt');
  const loss = el('span', 'metric loss');
  const rate = el('span', 'metric rate');
  const receive = el('button', 'tile-receive', 'receiving');
  receive.type = 'button';
  receive.setAttribute('aria-pressed', 'true');
  receive.title = "Stop receiving this person's audio and video";
  const onToggleReceive = opts.onToggleReceive;
  if (onToggleReceive) receive.addEventListener('click', () => onToggleReceive());
  if (!opts.local && !opts.screen) {
    info.append(quality, mode, type, rtt, loss, rate);
    if (onToggleReceive) info.append(receive);
    caption.append(info);
  }
  element.append(video, avatar, caption);

  return {
    element,
    video,
    setVideoOff(off) {
      element.classList.toggle('video-off', off);
    },
    setMicOff(off) {
      micOff.hidden = !off;
    },
    setSpeaking(speaking) {
      element.classList.toggle('speaking', speaking);
    },
    setSubscribed(subscribed) {
      element.classList.toggle('unsubscribed', !subscribed);
      receive.setAttribute('aria-pressed', String(subscribed));
      receive.textContent = subscribed ? 'receiving' : 'paused';
      receive.title = subscribed
        ? "Stop receiving this person's audio and video"
        : "Receive this person's audio and video";
    },
    setState(state) {
      element.dataset.state = state;
      if (state !== 'connected') type.textContent = state;
    },
    setStats(stats) {
      // How the media arrives: straight from the peer (P2P) or through the server (SFU).
      mode.hidden = stats === undefined;
      mode.textContent = stats?.mode === 'sfu' ? 'SFU' : 'P2P';
      element.dataset.mode = stats?.mode ?? '';
      const pair = stats?.selectedPair;
      const candidateType = pair?.localCandidateType;
      type.textContent = candidateType ?? stats?.connectionState ?? '…';
      type.dataset.type = candidateType ?? '';
      element.dataset.candidateType = candidateType ?? '';
      rtt.textContent = stats?.rttMs !== undefined ? `${Math.round(stats.rttMs)} ms` : '';
      loss.textContent = stats ? `${formatLoss(stats.lossPercent)} loss` : '';
      // Good, fair or poor from loss and RTT: a coloured dot with the word for screen readers.
      quality.hidden = stats === undefined;
      quality.dataset.quality = stats?.quality ?? '';
      quality.title = stats ? `connection ${stats.quality}` : '';
      quality.setAttribute('aria-label', quality.title);
      element.dataset.quality = stats?.quality ?? '';
      rate.textContent = stats
        ? `↓ ${formatBitrate(stats.inboundBitrate)} ↑ ${formatBitrate(stats.outboundBitrate)}`
        : '';
    },
  };
}
