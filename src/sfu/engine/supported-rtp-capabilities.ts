import type { RtcpFeedback, RtpCapabilities } from './rtp-parameters.js';

const AUDIO_FEEDBACK: RtcpFeedback[] = [{ type: 'nack' }, { type: 'transport-cc' }];
const VIDEO_FEEDBACK: RtcpFeedback[] = [
  { type: 'nack' },
  { type: 'nack', parameter: 'pli' },
  { type: 'ccm', parameter: 'fir' },
  { type: 'goog-remb' },
  { type: 'transport-cc' },
];

function video(mimeType: string, parameters?: Record<string, number>) {
  return {
    kind: 'video' as const,
    mimeType,
    clockRate: 90000,
    ...(parameters ? { parameters } : {}),
    rtcpFeedback: VIDEO_FEEDBACK,
  };
}

/**
 * Everything the SFU can route, as mediasoup 3.14 lists it. Routers pick from here with
 * `mediaCodecs`; header extension ids are the ones mediasoup prefers (and clients expect).
 */
export const supportedRtpCapabilities: RtpCapabilities = {
  codecs: [
    { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, rtcpFeedback: AUDIO_FEEDBACK },
    ...[
      [4, '0,1,2,3', 2, 2],
      [6, '0,4,1,2,3,5', 4, 2],
      [8, '0,6,1,2,3,4,5,7', 5, 3],
    ].map(([channels, mapping, streams, coupled]) => ({
      kind: 'audio' as const,
      mimeType: 'audio/multiopus',
      clockRate: 48000,
      channels: channels as number,
      parameters: {
        channel_mapping: mapping as string,
        num_streams: streams as number,
        coupled_streams: coupled as number,
      },
      rtcpFeedback: AUDIO_FEEDBACK,
    })),
    {
      kind: 'audio',
      mimeType: 'audio/PCMU',
      preferredPayloadType: 0,
      clockRate: 8000,
      rtcpFeedback: [{ type: 'transport-cc' }],
    },
    {
      kind: 'audio',
      mimeType: 'audio/PCMA',
      preferredPayloadType: 8,
      clockRate: 8000,
      rtcpFeedback: [{ type: 'transport-cc' }],
    },
    ...[32000, 16000].map((clockRate) => ({
      kind: 'audio' as const,
      mimeType: 'audio/ISAC',
      clockRate,
      rtcpFeedback: [{ type: 'transport-cc' }],
    })),
    {
      kind: 'audio',
      mimeType: 'audio/G722',
      preferredPayloadType: 9,
      clockRate: 8000,
      rtcpFeedback: [{ type: 'transport-cc' }],
    },
    { kind: 'audio', mimeType: 'audio/iLBC', clockRate: 8000, rtcpFeedback: [{ type: 'transport-cc' }] },
    ...[24000, 16000, 12000, 8000].map((clockRate) => ({
      kind: 'audio' as const,
      mimeType: 'audio/SILK',
      clockRate,
      rtcpFeedback: [{ type: 'transport-cc' }],
    })),
    ...[32000, 16000, 8000].map((clockRate) => ({
      kind: 'audio' as const,
      mimeType: 'audio/CN',
      preferredPayloadType: 13,
      clockRate,
    })),
    ...[48000, 32000, 16000, 8000].map((clockRate) => ({
      kind: 'audio' as const,
      mimeType: 'audio/telephone-event',
      clockRate,
    })),
    video('video/VP8'),
    video('video/VP9'),
    video('video/H264', { 'level-asymmetry-allowed': 1 }),
    video('video/H264-SVC', { 'level-asymmetry-allowed': 1 }),
    video('video/H265', { 'level-asymmetry-allowed': 1 }),
    video('video/AV1'),
  ],
  headerExtensions: [
    ['audio', 'urn:ietf:params:rtp-hdrext:sdes:mid', 1, 'sendrecv'],
    ['video', 'urn:ietf:params:rtp-hdrext:sdes:mid', 1, 'sendrecv'],
    ['video', 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', 2, 'recvonly'],
    ['video', 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id', 3, 'recvonly'],
    ['audio', 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', 4, 'sendrecv'],
    ['video', 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', 4, 'sendrecv'],
    // Audio transport-wide-cc is receive-only: the SFU does not send audio BWE feedback streams.
    ['audio', 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', 5, 'recvonly'],
    ['video', 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', 5, 'sendrecv'],
    ['video', 'http://tools.ietf.org/html/draft-ietf-avtext-framemarking-07', 6, 'sendrecv'],
    ['video', 'urn:ietf:params:rtp-hdrext:framemarking', 7, 'sendrecv'],
    ['audio', 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', 10, 'sendrecv'],
    ['video', 'urn:3gpp:video-orientation', 11, 'sendrecv'],
    ['video', 'urn:ietf:params:rtp-hdrext:toffset', 12, 'sendrecv'],
    ['audio', 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time', 13, 'sendrecv'],
    ['video', 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time', 13, 'sendrecv'],
  ].map(([kind, uri, preferredId, direction]) => ({
    kind: kind as 'audio' | 'video',
    uri: uri as string,
    preferredId: preferredId as number,
    preferredEncrypt: false,
    direction: direction as 'sendrecv' | 'recvonly',
  })),
};
