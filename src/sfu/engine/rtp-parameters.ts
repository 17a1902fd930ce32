/** RTP and SCTP parameter and capability types, shaped as mediasoup 3.14 names them. */

export type MediaKind = 'audio' | 'video';

export type RtpCodecParametersParameters = Record<string, string | number>;

export interface RtcpFeedback {
  type: string;
  parameter?: string;
}

export interface RtpCodecCapability {
  kind: MediaKind;
  mimeType: string;
  preferredPayloadType?: number;
  clockRate: number;
  channels?: number;
  parameters?: RtpCodecParametersParameters;
  rtcpFeedback?: RtcpFeedback[];
}

export type RtpHeaderExtensionDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export type RtpHeaderExtensionUri =
  | 'urn:ietf:params:rtp-hdrext:sdes:mid'
  | 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id'
  | 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id'
  | 'http://tools.ietf.org/html/draft-ietf-avtext-framemarking-07'
  | 'urn:ietf:params:rtp-hdrext:framemarking'
  | 'urn:ietf:params:rtp-hdrext:ssrc-audio-level'
  | 'urn:3gpp:video-orientation'
  | 'urn:ietf:params:rtp-hdrext:toffset'
  | 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01'
  | 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time'
  | 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time'
  | 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay'
  | (string & {});

export interface RtpHeaderExtension {
  kind: MediaKind;
  uri: RtpHeaderExtensionUri;
  preferredId: number;
  preferredEncrypt?: boolean;
  direction?: RtpHeaderExtensionDirection;
}

export interface RtpCapabilities {
  codecs?: RtpCodecCapability[];
  headerExtensions?: RtpHeaderExtension[];
}

export interface RtpCodecParameters {
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  parameters?: RtpCodecParametersParameters;
  rtcpFeedback?: RtcpFeedback[];
}

export interface RtpHeaderExtensionParameters {
  uri: RtpHeaderExtensionUri;
  id: number;
  encrypt?: boolean;
  parameters?: RtpCodecParametersParameters;
}

export interface RtpEncodingParameters {
  ssrc?: number;
  rid?: string;
  codecPayloadType?: number;
  rtx?: { ssrc: number };
  dtx?: boolean;
  scalabilityMode?: string;
  scaleResolutionDownBy?: number;
  maxBitrate?: number;
}

export interface RtcpParameters {
  cname?: string;
  reducedSize?: boolean;
  mux?: boolean;
}

export interface RtpParameters {
  mid?: string;
  codecs: RtpCodecParameters[];
  headerExtensions?: RtpHeaderExtensionParameters[];
  encodings?: RtpEncodingParameters[];
  rtcp?: RtcpParameters;
}

/** How a Producer's payload types and SSRCs map onto the router's. */
export interface RtpMapping {
  codecs: { payloadType: number; mappedPayloadType: number }[];
  encodings: { ssrc?: number; rid?: string; scalabilityMode?: string; mappedSsrc: number }[];
}

export interface NumSctpStreams {
  OS: number;
  MIS: number;
}

export interface SctpCapabilities {
  numStreams: NumSctpStreams;
}

export interface SctpParameters {
  port: number;
  OS: number;
  MIS: number;
  maxMessageSize: number;
}

export interface SctpStreamParameters {
  streamId: number;
  ordered?: boolean;
  maxPacketLifeTime?: number;
  maxRetransmits?: number;
}

export type SrtpCryptoSuite =
  | 'AEAD_AES_256_GCM'
  | 'AEAD_AES_128_GCM'
  | 'AES_CM_128_HMAC_SHA1_80'
  | 'AES_CM_128_HMAC_SHA1_32';

export interface SrtpParameters {
  cryptoSuite: SrtpCryptoSuite;
  keyBase64: string;
}
