// The client SDK's stats arithmetic: loss between samples, connection quality, and the
// simulcast layer a rendered height asks for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ConnectionStats,
  connectionQuality,
  layerForHeight,
  statsFromReports,
} from '../../src/client/index.js';

const states = {
  connectionState: 'connected' as RTCPeerConnectionState,
  signalingState: 'stable' as RTCSignalingState,
  iceConnectionState: 'connected' as RTCIceConnectionState,
};

/** A stats report as getStats() gives one: a map of records by id. */
function report(packetsReceived: number, packetsLost: number, rttSeconds: number): RTCStatsReport {
  const records = [
    { id: 'T1', type: 'transport', timestamp: 0, selectedCandidatePairId: 'CP1' },
    { id: 'CP1', type: 'candidate-pair', timestamp: 0, state: 'succeeded', currentRoundTripTime: rttSeconds },
    {
      id: 'IA',
      type: 'inbound-rtp',
      timestamp: 0,
      kind: 'audio',
      packetsReceived,
      packetsLost,
      bytesReceived: 0,
    },
    {
      id: 'IV',
      type: 'inbound-rtp',
      timestamp: 0,
      kind: 'video',
      packetsReceived,
      packetsLost,
      bytesReceived: 0,
    },
  ];
  return new Map(records.map((r) => [r.id, r])) as unknown as RTCStatsReport;
}

test('lossPercent counts the packets lost since the previous sample among those expected', () => {
  const first = statsFromReports('p', 'p2p', [report(1000, 10, 0.02)], states, undefined);
  assert.equal(first.lossPercent, 0, 'no interval yet');
  assert.equal(first.packetsLost, 20);
  assert.equal(first.rttMs, 20);
  // One second later: 2 × 95 received and 2 × 5 lost → 5 %.
  const earlier: ConnectionStats = { ...first, timestamp: first.timestamp - 1000 };
  const second = statsFromReports('p', 'p2p', [report(1095, 15, 0.02)], states, earlier);
  assert.equal(second.lossPercent, 5);
  assert.equal(second.quality, 'fair');
  // Duplicates make packetsLost go down: never negative loss.
  const third = statsFromReports('p', 'p2p', [report(1200, 12, 0.02)], states, {
    ...second,
    timestamp: second.timestamp - 1000,
  });
  assert.equal(third.lossPercent, 0);
  assert.equal(third.quality, 'good');
});

test('connectionQuality: good, fair and poor from loss and RTT', () => {
  assert.equal(connectionQuality(0, 20), 'good');
  assert.equal(connectionQuality(0, undefined), 'good');
  assert.equal(connectionQuality(2, 20), 'fair');
  assert.equal(connectionQuality(0, 250), 'fair');
  assert.equal(connectionQuality(8, 20), 'poor');
  assert.equal(connectionQuality(1, 400), 'poor');
});

test('layerForHeight picks the lowest simulcast layer about as tall as the picture', () => {
  // Three layers of a 360-row camera: 90, 180 and 360 rows.
  assert.equal(layerForHeight(3, 360, 90), 0);
  assert.equal(layerForHeight(3, 360, 110), 0);
  assert.equal(layerForHeight(3, 360, 120), 1);
  assert.equal(layerForHeight(3, 360, 225), 1);
  assert.equal(layerForHeight(3, 360, 300), 2);
  assert.equal(layerForHeight(3, 360, 2000), 2);
  assert.equal(layerForHeight(1, 360, 10), 0);
});
