/** Connection figures sampled from `RTCPeerConnection.getStats()`, with bitrates from byte deltas. */
export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

export interface SelectedCandidatePair {
  state: string;
  localCandidateType: CandidateType | undefined;
  localAddress: string | undefined;
  localProtocol: string | undefined;
  /** For relay candidates: how we reach the TURN server (udp, tcp, tls). */
  relayProtocol: string | undefined;
  remoteCandidateType: CandidateType | undefined;
  remoteAddress: string | undefined;
  /** Milliseconds; undefined until the first STUN round trip on the pair. */
  currentRoundTripTimeMs: number | undefined;
}

/** How a connection is doing, from packet loss and round-trip time. */
export type ConnectionQuality = 'good' | 'fair' | 'poor';

/** Poor from 8 % loss or 400 ms RTT, fair from 2 % or 200 ms; good below both. */
export function connectionQuality(lossPercent: number, rttMs: number | undefined): ConnectionQuality {
  const rtt = rttMs ?? 0;
  if (lossPercent >= 8 || rtt >= 400) return 'poor';
  if (lossPercent >= 2 || rtt >= 200) return 'fair';
  return 'good';
}

export interface ConnectionStats {
  peerId: string;
  /** How this participant's media reaches us: a direct connection or through the SFU. */
  mode: 'p2p' | 'sfu';
  /** Milliseconds, the stats report's clock. */
  timestamp: number;
  connectionState: RTCPeerConnectionState;
  signalingState: RTCSignalingState;
  iceConnectionState: RTCIceConnectionState;
  selectedPair: SelectedCandidatePair | undefined;
  /** Media (RTP payload and headers) bits per second since the previous sample. */
  inboundBitrate: number;
  outboundBitrate: number;
  bytesReceived: number;
  bytesSent: number;
  /** Inbound RTP packets received and lost so far, all streams together. */
  packetsReceived: number;
  packetsLost: number;
  /** Inbound packets lost since the previous sample, in percent of those expected. */
  lossPercent: number;
  /** The selected candidate pair's current round-trip time, ms (undefined before the first). */
  rttMs: number | undefined;
  /** From `lossPercent` and `rttMs` (see connectionQuality). */
  quality: ConnectionQuality;
  /** The current ICE username fragment: it changes with every ICE restart. */
  iceLocalUsernameFragment: string | undefined;
  /** ICE restarts on this connection so far (filled in by the room). */
  iceRestarts: number;
  video: { framesDecoded: number; framesPerSecond: number; frameWidth: number; frameHeight: number };
  audio: {
    totalAudioEnergy: number;
    audioLevel: number;
    totalSamplesReceived: number;
    /** Energy of our own microphone as captured (the 'media-source' record; P2P samples only). */
    sourceTotalAudioEnergy: number;
  };
}

/** Byte deltas over less time than this are noise (a sample taken right after another). */
const MIN_BITRATE_WINDOW_S = 0.25;

type StatsRecord = Record<string, unknown> & { id: string; type: string; timestamp: number };

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function transportOf(records: Map<string, StatsRecord>): StatsRecord | undefined {
  for (const record of records.values()) if (record.type === 'transport') return record;
  return undefined;
}

function selectedPairOf(records: Map<string, StatsRecord>): StatsRecord | undefined {
  for (const record of records.values()) {
    if (record.type !== 'transport') continue;
    const pairId = str(record.selectedCandidatePairId);
    if (pairId && records.has(pairId)) return records.get(pairId);
  }
  // Firefox has no selectedCandidatePairId; it flags the pair instead.
  for (const record of records.values()) {
    if (record.type === 'candidate-pair' && (record.selected === true || record.nominated === true)) {
      if (record.state === 'succeeded') return record;
    }
  }
  return undefined;
}

function describePair(records: Map<string, StatsRecord>, pair: StatsRecord): SelectedCandidatePair {
  const local = records.get(str(pair.localCandidateId) ?? '');
  const remote = records.get(str(pair.remoteCandidateId) ?? '');
  const rttSeconds = pair.currentRoundTripTime;
  return {
    state: str(pair.state) ?? 'unknown',
    localCandidateType: str(local?.candidateType) as CandidateType | undefined,
    localAddress: str(local?.address) ?? str(local?.ip),
    localProtocol: str(local?.protocol),
    relayProtocol: str(local?.relayProtocol),
    remoteCandidateType: str(remote?.candidateType) as CandidateType | undefined,
    remoteAddress: str(remote?.address) ?? str(remote?.ip),
    currentRoundTripTimeMs: typeof rttSeconds === 'number' ? rttSeconds * 1000 : undefined,
  };
}

/** Samples one connection; pass the previous sample to get bitrates. */
export async function sampleConnectionStats(
  peerId: string,
  pc: RTCPeerConnection,
  previous: ConnectionStats | undefined,
): Promise<ConnectionStats> {
  const report = await pc.getStats();
  return statsFromReports(
    peerId,
    'p2p',
    [report],
    {
      connectionState: pc.connectionState,
      signalingState: pc.signalingState,
      iceConnectionState: pc.iceConnectionState,
    },
    previous,
  );
}

export interface ConnectionStates {
  connectionState: RTCPeerConnectionState;
  signalingState: RTCSignalingState;
  iceConnectionState: RTCIceConnectionState;
}

/**
 * One participant's sample from stats reports (a whole connection's, or the reports of the
 * SFU consumers carrying this participant's media); pass the previous sample to get bitrates.
 */
export function statsFromReports(
  peerId: string,
  mode: 'p2p' | 'sfu',
  reports: RTCStatsReport[],
  states: ConnectionStates,
  previous: ConnectionStats | undefined,
): ConnectionStats {
  const records = new Map<string, StatsRecord>();
  for (const report of reports) {
    report.forEach((record: StatsRecord) => {
      records.set(record.id, record);
    });
  }

  const stats: ConnectionStats = {
    peerId,
    mode,
    timestamp: Date.now(),
    connectionState: states.connectionState,
    signalingState: states.signalingState,
    iceConnectionState: states.iceConnectionState,
    selectedPair: undefined,
    inboundBitrate: 0,
    outboundBitrate: 0,
    bytesReceived: 0,
    bytesSent: 0,
    packetsReceived: 0,
    packetsLost: 0,
    lossPercent: 0,
    rttMs: undefined,
    quality: 'good',
    iceLocalUsernameFragment: undefined,
    iceRestarts: 0,
    video: { framesDecoded: 0, framesPerSecond: 0, frameWidth: 0, frameHeight: 0 },
    audio: { totalAudioEnergy: 0, audioLevel: 0, totalSamplesReceived: 0, sourceTotalAudioEnergy: 0 },
  };
  // One transport: the room bundles everything (bundlePolicy max-bundle).
  stats.iceLocalUsernameFragment = str(transportOf(records)?.iceLocalUsernameFragment);
  const pair = selectedPairOf(records);
  if (pair) stats.selectedPair = describePair(records, pair);
  stats.rttMs = stats.selectedPair?.currentRoundTripTimeMs;

  for (const record of records.values()) {
    if (record.type === 'inbound-rtp') {
      stats.bytesReceived += num(record.bytesReceived) + num(record.headerBytesReceived);
      stats.packetsReceived += num(record.packetsReceived);
      // Can be negative (duplicates); the total over all streams is what counts.
      stats.packetsLost += num(record.packetsLost);
      if (record.kind === 'video') {
        stats.video.framesDecoded += num(record.framesDecoded);
        stats.video.framesPerSecond += num(record.framesPerSecond);
        stats.video.frameWidth = Math.max(stats.video.frameWidth, num(record.frameWidth));
        stats.video.frameHeight = Math.max(stats.video.frameHeight, num(record.frameHeight));
      } else if (record.kind === 'audio') {
        stats.audio.totalAudioEnergy += num(record.totalAudioEnergy);
        stats.audio.audioLevel = Math.max(stats.audio.audioLevel, num(record.audioLevel));
        stats.audio.totalSamplesReceived += num(record.totalSamplesReceived);
      }
    } else if (record.type === 'media-source' && record.kind === 'audio') {
      stats.audio.sourceTotalAudioEnergy = Math.max(
        stats.audio.sourceTotalAudioEnergy,
        num(record.totalAudioEnergy),
      );
    } else if (record.type === 'outbound-rtp') {
      stats.bytesSent += num(record.bytesSent) + num(record.headerBytesSent);
    }
  }

  if (previous) {
    const seconds = (stats.timestamp - previous.timestamp) / 1000;
    if (seconds < MIN_BITRATE_WINDOW_S) {
      // Too short a window to mean anything: keep the previous figures.
      stats.inboundBitrate = previous.inboundBitrate;
      stats.outboundBitrate = previous.outboundBitrate;
      stats.lossPercent = previous.lossPercent;
    } else {
      // A renegotiation can replace RTP streams and make the totals shrink; clamp at zero.
      stats.inboundBitrate = Math.max(0, ((stats.bytesReceived - previous.bytesReceived) * 8) / seconds);
      stats.outboundBitrate = Math.max(0, ((stats.bytesSent - previous.bytesSent) * 8) / seconds);
      const lost = stats.packetsLost - previous.packetsLost;
      const expected = lost + stats.packetsReceived - previous.packetsReceived;
      stats.lossPercent = expected > 0 && lost > 0 ? Math.min(100, (100 * lost) / expected) : 0;
    }
  }
  stats.quality = connectionQuality(stats.lossPercent, stats.rttMs);
  return stats;
}
