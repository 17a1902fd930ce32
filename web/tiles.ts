import type { ConnectionStats } from '../src/client/index.js';

/** Bits per second, human-sized. */
export function formatBitrate(bps: number): string {
  if (bps >= 1_000_000) return `${(bps / 1_000_000).toFixed(1)} Mb/s`;
  if (bps >= 1_000) return `${Math.round(bps / 1_000)} kb/s`;
  return `${Math.round(bps)} b/s`;
}

export interface Tile {
  readonly element: HTMLElement;
  readonly video: HTMLVideoElement;
  setStats(stats: ConnectionStats | undefined): void;
  setState(state: string): void;
  /** No picture to show (camera off or no video track): the initial stands in. */
  setVideoOff(off: boolean): void;
  setMicOff(off: boolean): void;
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

/** A video tile with a name and, for remote peers, a live connection readout. */
export function createTile(opts: { id: string; name: string; stream: MediaStream; local: boolean }): Tile {
  const element = el('figure', opts.local ? 'tile local' : 'tile');
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
  const rtt = el('span', 'metric');
  const rate = el('span', 'metric');
  if (!opts.local) {
    info.append(mode, type, rtt, rate);
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
      rtt.textContent =
        pair?.currentRoundTripTimeMs !== undefined ? `${Math.round(pair.currentRoundTripTimeMs)} ms` : '';
      rate.textContent = stats
        ? `↓ ${formatBitrate(stats.inboundBitrate)} ↑ ${formatBitrate(stats.outboundBitrate)}`
        : '';
    },
  };
}
