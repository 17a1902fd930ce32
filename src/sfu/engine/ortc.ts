/**
 * RTP capability negotiation: router capabilities from `mediaCodecs`, validation of what
 * applications and clients send, Producer → router payload-type/SSRC mapping, and the RTP
 * parameters of Consumers. Pure functions: the controlling process uses them for synchronous
 * answers (`router.canConsume`) and argument errors, the worker for its bookkeeping.
 */
import { randomInt } from 'node:crypto';
import { UnsupportedError } from './errors.js';
import { isSameProfile, profileLevelIdForAnswer } from './h264-profile-level-id.js';
import type {
  MediaKind,
  NumSctpStreams,
  RtcpFeedback,
  RtcpParameters,
  RtpCapabilities,
  RtpCodecCapability,
  RtpCodecParameters,
  RtpEncodingParameters,
  RtpHeaderExtension,
  RtpHeaderExtensionParameters,
  RtpMapping,
  RtpParameters,
  SctpStreamParameters,
} from './rtp-parameters.js';
import { parseScalabilityMode } from './scalability-mode.js';
import { supportedRtpCapabilities } from './supported-rtp-capabilities.js';

const DYNAMIC_PAYLOAD_TYPES = [
  100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120,
  121, 122, 123, 124, 125, 126, 127, 96, 97, 98, 99,
];
const MIME_TYPE = /^(audio|video)\/(.+)/i;
const URI_TRANSPORT_CC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const URI_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
const URI_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';

export function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

/** A random SSRC that leaves room for consecutive ones after it. */
export function generateSsrc(): number {
  return randomInt(100_000_000, 999_999_999);
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

export function isRtxCodec(codec: { mimeType: string }): boolean {
  return /.+\/rtx$/i.test(codec.mimeType);
}

function validateParameters(parameters: Record<string, unknown>, what: string): void {
  for (const key of Object.keys(parameters)) {
    let value = parameters[key];
    if (value === undefined) {
      parameters[key] = '';
      value = '';
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new TypeError(`invalid ${what} parameter [key:${key}, value:${String(value)}]`);
    }
    if (key === 'apt' && typeof value !== 'number') throw new TypeError('invalid codec apt parameter');
  }
}

function validateRtcpFeedback(fb: RtcpFeedback): void {
  if (!isObject(fb)) throw new TypeError('fb is not an object');
  if (!fb.type || typeof fb.type !== 'string') throw new TypeError('missing fb.type');
  if (!fb.parameter || typeof fb.parameter !== 'string') fb.parameter = '';
}

function validateCodecCommon(codec: RtpCodecCapability | RtpCodecParameters): MediaKind {
  if (!codec.mimeType || typeof codec.mimeType !== 'string') throw new TypeError('missing codec.mimeType');
  const match = MIME_TYPE.exec(codec.mimeType);
  if (!match) throw new TypeError('invalid codec.mimeType');
  const kind = match[1]!.toLowerCase() as MediaKind;
  if (typeof codec.clockRate !== 'number') throw new TypeError('missing codec.clockRate');
  if (kind === 'audio') {
    if (typeof codec.channels !== 'number') codec.channels = 1;
  } else {
    delete codec.channels;
  }
  if (!isObject(codec.parameters)) codec.parameters = {};
  validateParameters(codec.parameters as Record<string, unknown>, 'codec');
  if (!Array.isArray(codec.rtcpFeedback)) codec.rtcpFeedback = [];
  for (const fb of codec.rtcpFeedback) validateRtcpFeedback(fb);
  return kind;
}

/** Validates and normalises (in place) a codec capability. */
export function validateRtpCodecCapability(codec: RtpCodecCapability): void {
  if (!isObject(codec)) throw new TypeError('codec is not an object');
  codec.kind = validateCodecCommon(codec);
  if (codec.preferredPayloadType !== undefined && typeof codec.preferredPayloadType !== 'number') {
    throw new TypeError('invalid codec.preferredPayloadType');
  }
}

function validateRtpHeaderExtension(ext: RtpHeaderExtension): void {
  if (!isObject(ext)) throw new TypeError('ext is not an object');
  if (ext.kind !== 'audio' && ext.kind !== 'video') throw new TypeError('invalid ext.kind');
  if (!ext.uri || typeof ext.uri !== 'string') throw new TypeError('missing ext.uri');
  if (typeof ext.preferredId !== 'number') throw new TypeError('missing ext.preferredId');
  if (ext.preferredEncrypt !== undefined && typeof ext.preferredEncrypt !== 'boolean') {
    throw new TypeError('invalid ext.preferredEncrypt');
  }
  if (!ext.preferredEncrypt) ext.preferredEncrypt = false;
  if (ext.direction !== undefined && typeof ext.direction !== 'string')
    throw new TypeError('invalid ext.direction');
  if (!ext.direction) ext.direction = 'sendrecv';
}

/** Validates and normalises (in place) RTP capabilities, e.g. a client's device capabilities. */
export function validateRtpCapabilities(caps: RtpCapabilities): void {
  if (!isObject(caps)) throw new TypeError('caps is not an object');
  if (caps.codecs !== undefined && !Array.isArray(caps.codecs))
    throw new TypeError('caps.codecs is not an array');
  caps.codecs ??= [];
  for (const codec of caps.codecs) validateRtpCodecCapability(codec);
  if (caps.headerExtensions !== undefined && !Array.isArray(caps.headerExtensions)) {
    throw new TypeError('caps.headerExtensions is not an array');
  }
  caps.headerExtensions ??= [];
  for (const ext of caps.headerExtensions) validateRtpHeaderExtension(ext);
}

function validateRtpCodecParameters(codec: RtpCodecParameters): void {
  if (!isObject(codec)) throw new TypeError('codec is not an object');
  if (typeof codec.payloadType !== 'number') throw new TypeError('missing codec.payloadType');
  validateCodecCommon(codec);
}

function validateRtpHeaderExtensionParameters(ext: RtpHeaderExtensionParameters): void {
  if (!isObject(ext)) throw new TypeError('ext is not an object');
  if (!ext.uri || typeof ext.uri !== 'string') throw new TypeError('missing ext.uri');
  if (typeof ext.id !== 'number') throw new TypeError('missing ext.id');
  if (ext.encrypt !== undefined && typeof ext.encrypt !== 'boolean')
    throw new TypeError('invalid ext.encrypt');
  if (!ext.encrypt) ext.encrypt = false;
  if (!isObject(ext.parameters)) ext.parameters = {};
  validateParameters(ext.parameters as Record<string, unknown>, 'header extension');
}

function validateRtpEncodingParameters(encoding: RtpEncodingParameters): void {
  if (!isObject(encoding)) throw new TypeError('encoding is not an object');
  if (encoding.ssrc !== undefined && typeof encoding.ssrc !== 'number')
    throw new TypeError('invalid encoding.ssrc');
  if (encoding.rid !== undefined && typeof encoding.rid !== 'string')
    throw new TypeError('invalid encoding.rid');
  if (encoding.rtx !== undefined) {
    if (!isObject(encoding.rtx)) throw new TypeError('invalid encoding.rtx');
    if (typeof encoding.rtx!.ssrc !== 'number') throw new TypeError('missing encoding.rtx.ssrc');
  }
  if (encoding.dtx !== undefined && typeof encoding.dtx !== 'boolean')
    throw new TypeError('invalid encoding.dtx');
  if (encoding.scalabilityMode !== undefined && typeof encoding.scalabilityMode !== 'string') {
    throw new TypeError('invalid encoding.scalabilityMode');
  }
}

function validateRtcpParameters(rtcp: RtcpParameters): void {
  if (!isObject(rtcp)) throw new TypeError('rtcp is not an object');
  if (rtcp.cname !== undefined && typeof rtcp.cname !== 'string') throw new TypeError('invalid rtcp.cname');
  if (rtcp.reducedSize !== undefined && typeof rtcp.reducedSize !== 'boolean') {
    throw new TypeError('invalid rtcp.reducedSize');
  }
  rtcp.reducedSize ??= true;
}

/** Validates and normalises (in place) RTP parameters sent by an application or client. */
export function validateRtpParameters(params: RtpParameters): void {
  if (!isObject(params)) throw new TypeError('params is not an object');
  if (params.mid !== undefined && typeof params.mid !== 'string')
    throw new TypeError('params.mid is not a string');
  if (!Array.isArray(params.codecs)) throw new TypeError('missing params.codecs');
  for (const codec of params.codecs) validateRtpCodecParameters(codec);
  if (params.headerExtensions !== undefined && !Array.isArray(params.headerExtensions)) {
    throw new TypeError('params.headerExtensions is not an array');
  }
  params.headerExtensions ??= [];
  for (const ext of params.headerExtensions) validateRtpHeaderExtensionParameters(ext);
  if (params.encodings !== undefined && !Array.isArray(params.encodings)) {
    throw new TypeError('params.encodings is not an array');
  }
  params.encodings ??= [];
  for (const encoding of params.encodings) validateRtpEncodingParameters(encoding);
  if (params.rtcp !== undefined && !isObject(params.rtcp))
    throw new TypeError('params.rtcp is not an object');
  params.rtcp ??= {};
  validateRtcpParameters(params.rtcp);
}

/** Validates and normalises (in place) SCTP stream parameters: `ordered` defaults to reliable-ordered. */
export function validateSctpStreamParameters(params: SctpStreamParameters): void {
  if (!isObject(params)) throw new TypeError('params is not an object');
  if (typeof params.streamId !== 'number') throw new TypeError('missing params.streamId');
  let orderedGiven = false;
  if (params.ordered !== undefined) {
    if (typeof params.ordered !== 'boolean') throw new TypeError('invalid params.ordered');
    orderedGiven = true;
  } else {
    params.ordered = true;
  }
  if (params.maxPacketLifeTime !== undefined && typeof params.maxPacketLifeTime !== 'number') {
    throw new TypeError('invalid params.maxPacketLifeTime');
  }
  if (params.maxRetransmits !== undefined && typeof params.maxRetransmits !== 'number') {
    throw new TypeError('invalid params.maxRetransmits');
  }
  if (params.maxPacketLifeTime !== undefined && params.maxRetransmits !== undefined) {
    throw new TypeError('cannot provide both maxPacketLifeTime and maxRetransmits');
  }
  const partiallyReliable = params.maxPacketLifeTime !== undefined || params.maxRetransmits !== undefined;
  if (orderedGiven && params.ordered && partiallyReliable) {
    throw new TypeError('cannot be ordered with maxPacketLifeTime or maxRetransmits');
  }
  if (!orderedGiven && partiallyReliable) params.ordered = false;
}

export function validateNumSctpStreams(numStreams: NumSctpStreams): void {
  if (!isObject(numStreams)) throw new TypeError('numSctpStreams is not an object');
  if (typeof numStreams.OS !== 'number' || typeof numStreams.MIS !== 'number') {
    throw new TypeError('missing numSctpStreams.OS or numSctpStreams.MIS');
  }
}

interface MatchOptions {
  strict?: boolean;
  modify?: boolean;
}

type AnyCodec = RtpCodecCapability | RtpCodecParameters;

function matchCodecs(
  a: AnyCodec,
  b: AnyCodec,
  { strict = false, modify = false }: MatchOptions = {},
): boolean {
  const aMimeType = a.mimeType.toLowerCase();
  if (aMimeType !== b.mimeType.toLowerCase()) return false;
  if (a.clockRate !== b.clockRate) return false;
  if (a.channels !== b.channels) return false;
  const ap = a.parameters ?? {};
  const bp = b.parameters ?? {};
  switch (aMimeType) {
    case 'audio/multiopus':
      if (ap.num_streams !== bp.num_streams || ap.coupled_streams !== bp.coupled_streams) return false;
      break;
    case 'video/h264':
    case 'video/h264-svc':
      if (strict) {
        if ((ap['packetization-mode'] || 0) !== (bp['packetization-mode'] || 0)) return false;
        if (!isSameProfile(ap, bp)) return false;
        let selected: string | undefined;
        try {
          selected = profileLevelIdForAnswer(ap, bp);
        } catch {
          return false;
        }
        if (modify && a.parameters) {
          if (selected) a.parameters['profile-level-id'] = selected;
          else delete a.parameters['profile-level-id'];
        }
      }
      break;
    case 'video/vp9':
      if (strict && (ap['profile-id'] || 0) !== (bp['profile-id'] || 0)) return false;
      break;
  }
  return true;
}

/** The router's RTP capabilities for the given media codecs: payload types allocated, RTX added for video. */
export function generateRouterRtpCapabilities(mediaCodecs: RtpCodecCapability[] = []): RtpCapabilities {
  if (!Array.isArray(mediaCodecs)) throw new TypeError('mediaCodecs must be an Array');
  const supported = clone(supportedRtpCapabilities);
  validateRtpCapabilities(supported);
  const dynamicPayloadTypes = [...DYNAMIC_PAYLOAD_TYPES];
  const codecs: RtpCodecCapability[] = [];
  for (const input of mediaCodecs) {
    const mediaCodec = clone(input);
    validateRtpCodecCapability(mediaCodec);
    const matched = supported.codecs!.find((c) => matchCodecs(mediaCodec, c, { strict: false }));
    if (!matched) throw new UnsupportedError(`media codec not supported [mimeType:${mediaCodec.mimeType}]`);
    const codec = clone(matched);
    if (typeof mediaCodec.preferredPayloadType === 'number') {
      codec.preferredPayloadType = mediaCodec.preferredPayloadType;
      const idx = dynamicPayloadTypes.indexOf(codec.preferredPayloadType);
      if (idx > -1) dynamicPayloadTypes.splice(idx, 1);
    } else if (typeof codec.preferredPayloadType !== 'number') {
      const pt = dynamicPayloadTypes.shift();
      if (pt === undefined) throw new Error('cannot allocate more dynamic codec payload types');
      codec.preferredPayloadType = pt;
    }
    if (codecs.some((c) => c.preferredPayloadType === codec.preferredPayloadType)) {
      throw new TypeError('duplicated codec.preferredPayloadType');
    }
    codec.parameters = { ...codec.parameters, ...mediaCodec.parameters };
    codecs.push(codec);
    if (codec.kind === 'video') {
      const pt = dynamicPayloadTypes.shift();
      if (pt === undefined) throw new Error('cannot allocate more dynamic codec payload types');
      codecs.push({
        kind: codec.kind,
        mimeType: `${codec.kind}/rtx`,
        preferredPayloadType: pt,
        clockRate: codec.clockRate,
        parameters: { apt: codec.preferredPayloadType! },
        rtcpFeedback: [],
      });
    }
  }
  return { codecs, headerExtensions: supported.headerExtensions };
}

/** Maps a Producer's codecs onto the router's payload types and gives each encoding a router-side SSRC. */
export function getProducerRtpParametersMapping(params: RtpParameters, caps: RtpCapabilities): RtpMapping {
  const mapping: RtpMapping = { codecs: [], encodings: [] };
  const codecToCapCodec = new Map<RtpCodecParameters, RtpCodecCapability>();
  for (const codec of params.codecs) {
    if (isRtxCodec(codec)) continue;
    const matched = caps.codecs!.find((c) => matchCodecs(codec, c, { strict: true, modify: true }));
    if (!matched) {
      throw new UnsupportedError(
        `unsupported codec [mimeType:${codec.mimeType}, payloadType:${codec.payloadType}]`,
      );
    }
    codecToCapCodec.set(codec, matched);
  }
  for (const codec of params.codecs) {
    if (!isRtxCodec(codec)) continue;
    const associated = params.codecs.find((c) => c.payloadType === codec.parameters?.apt);
    if (!associated) throw new TypeError(`missing media codec found for RTX PT ${codec.payloadType}`);
    const capMediaCodec = codecToCapCodec.get(associated)!;
    const capRtx = caps.codecs!.find(
      (c) => isRtxCodec(c) && c.parameters?.apt === capMediaCodec.preferredPayloadType,
    );
    if (!capRtx)
      throw new UnsupportedError(
        `no RTX codec for capability codec PT ${capMediaCodec.preferredPayloadType}`,
      );
    codecToCapCodec.set(codec, capRtx);
  }
  for (const [codec, capCodec] of codecToCapCodec) {
    mapping.codecs.push({
      payloadType: codec.payloadType,
      mappedPayloadType: capCodec.preferredPayloadType!,
    });
  }
  let mappedSsrc = generateSsrc();
  for (const encoding of params.encodings ?? []) {
    const mapped: RtpMapping['encodings'][number] = { mappedSsrc: mappedSsrc++ };
    if (encoding.rid) mapped.rid = encoding.rid;
    if (encoding.ssrc) mapped.ssrc = encoding.ssrc;
    if (encoding.scalabilityMode) mapped.scalabilityMode = encoding.scalabilityMode;
    mapping.encodings.push(mapped);
  }
  return mapping;
}

/** What Consumers of a Producer may receive: router payload types and extension ids, router-side SSRCs. */
export function getConsumableRtpParameters(
  kind: MediaKind,
  params: RtpParameters,
  caps: RtpCapabilities,
  mapping: RtpMapping,
): RtpParameters {
  const consumable: RtpParameters = { codecs: [], headerExtensions: [], encodings: [], rtcp: {} };
  for (const codec of params.codecs) {
    if (isRtxCodec(codec)) continue;
    const pt = mapping.codecs.find((e) => e.payloadType === codec.payloadType)!.mappedPayloadType;
    const capCodec = caps.codecs!.find((c) => c.preferredPayloadType === pt)!;
    const consumableCodec: RtpCodecParameters = {
      mimeType: capCodec.mimeType,
      payloadType: capCodec.preferredPayloadType!,
      clockRate: capCodec.clockRate,
      channels: capCodec.channels,
      // Keep the Producer's codec parameters: they describe the stream actually sent.
      parameters: codec.parameters,
      rtcpFeedback: capCodec.rtcpFeedback,
    };
    if (consumableCodec.channels === undefined) delete consumableCodec.channels;
    consumable.codecs.push(consumableCodec);
    const capRtx = caps.codecs!.find(
      (c) => isRtxCodec(c) && c.parameters?.apt === consumableCodec.payloadType,
    );
    if (capRtx) {
      consumable.codecs.push({
        mimeType: capRtx.mimeType,
        payloadType: capRtx.preferredPayloadType!,
        clockRate: capRtx.clockRate,
        parameters: capRtx.parameters,
        rtcpFeedback: capRtx.rtcpFeedback,
      });
    }
  }
  for (const capExt of caps.headerExtensions!) {
    if (capExt.kind !== kind || (capExt.direction !== 'sendrecv' && capExt.direction !== 'sendonly'))
      continue;
    consumable.headerExtensions!.push({
      uri: capExt.uri,
      id: capExt.preferredId,
      encrypt: capExt.preferredEncrypt,
      parameters: {},
    });
  }
  const encodings = clone(params.encodings) ?? [];
  encodings.forEach((encoding, i) => {
    delete encoding.rid;
    delete encoding.rtx;
    delete encoding.codecPayloadType;
    encoding.ssrc = mapping.encodings[i]!.mappedSsrc;
    consumable.encodings!.push(encoding);
  });
  consumable.rtcp = { cname: params.rtcp?.cname, reducedSize: true };
  return clone(consumable);
}

/** Whether a remote endpoint with `caps` can receive a Producer with these consumable parameters. */
export function canConsume(consumable: RtpParameters, caps: RtpCapabilities): boolean {
  validateRtpCapabilities(caps);
  const matching = consumable.codecs.filter((codec) =>
    caps.codecs!.some((c) => matchCodecs(c, codec, { strict: true })),
  );
  return matching.length > 0 && !isRtxCodec(matching[0]!);
}

export interface ConsumerRtpParametersOptions {
  consumableRtpParameters: RtpParameters;
  remoteRtpCapabilities: RtpCapabilities;
  pipe?: boolean;
  enableRtx?: boolean;
}

/** A Consumer's RTP parameters: the remote side's codecs, one outbound stream (or all of them for pipes). */
export function getConsumerRtpParameters({
  consumableRtpParameters,
  remoteRtpCapabilities,
  pipe,
  enableRtx,
}: ConsumerRtpParametersOptions): RtpParameters {
  const consumer: RtpParameters = {
    codecs: [],
    headerExtensions: [],
    encodings: [],
    rtcp: clone(consumableRtpParameters.rtcp),
  };
  for (const capCodec of remoteRtpCapabilities.codecs ?? []) validateRtpCodecCapability(capCodec);
  let rtxSupported = false;
  for (const codec of clone(consumableRtpParameters.codecs)) {
    if (!enableRtx && isRtxCodec(codec)) continue;
    const matched = remoteRtpCapabilities.codecs!.find((c) => matchCodecs(c, codec, { strict: true }));
    if (!matched) continue;
    codec.rtcpFeedback = (matched.rtcpFeedback ?? []).filter(
      (fb) => enableRtx || fb.type !== 'nack' || fb.parameter,
    );
    consumer.codecs.push(codec);
  }
  for (let idx = consumer.codecs.length - 1; idx >= 0; --idx) {
    const codec = consumer.codecs[idx]!;
    if (!isRtxCodec(codec)) continue;
    if (consumer.codecs.some((c) => c.payloadType === codec.parameters?.apt)) rtxSupported = true;
    else consumer.codecs.splice(idx, 1);
  }
  if (consumer.codecs.length === 0 || isRtxCodec(consumer.codecs[0]!)) {
    throw new UnsupportedError('no compatible media codecs');
  }
  consumer.headerExtensions = clone(consumableRtpParameters.headerExtensions ?? []).filter((ext) =>
    (remoteRtpCapabilities.headerExtensions ?? []).some((c) => c.preferredId === ext.id && c.uri === ext.uri),
  );
  // Bandwidth feedback: transport-cc if negotiated, else REMB with abs-send-time, else none.
  const uris = new Set(consumer.headerExtensions.map((e) => e.uri));
  const dropFeedback = uris.has(URI_TRANSPORT_CC)
    ? ['goog-remb']
    : uris.has(URI_ABS_SEND_TIME)
      ? ['transport-cc']
      : ['transport-cc', 'goog-remb'];
  for (const codec of consumer.codecs) {
    codec.rtcpFeedback = (codec.rtcpFeedback ?? []).filter((fb) => !dropFeedback.includes(fb.type));
  }
  const consumableEncodings = consumableRtpParameters.encodings ?? [];
  if (!pipe) {
    const encoding: RtpEncodingParameters = { ssrc: generateSsrc() };
    if (rtxSupported) encoding.rtx = { ssrc: encoding.ssrc! + 1 };
    let scalabilityMode = consumableEncodings.find((e) => e.scalabilityMode)?.scalabilityMode;
    // A simulcast Producer is consumed as one stream whose spatial layers are the encodings.
    if (consumableEncodings.length > 1) {
      const { temporalLayers } = parseScalabilityMode(scalabilityMode);
      scalabilityMode = `L${consumableEncodings.length}T${temporalLayers}`;
    }
    if (scalabilityMode) encoding.scalabilityMode = scalabilityMode;
    const maxBitrate = consumableEncodings.reduce(
      (max, e) => (e.maxBitrate && e.maxBitrate > max ? e.maxBitrate : max),
      0,
    );
    if (maxBitrate) encoding.maxBitrate = maxBitrate;
    consumer.encodings!.push(encoding);
  } else {
    const baseSsrc = generateSsrc();
    const baseRtxSsrc = generateSsrc();
    clone(consumableEncodings).forEach((encoding, i) => {
      encoding.ssrc = baseSsrc + i;
      if (rtxSupported) encoding.rtx = { ssrc: baseRtxSsrc + i };
      else delete encoding.rtx;
      consumer.encodings!.push(encoding);
    });
  }
  return consumer;
}

/** RTP parameters of a Consumer on a PipeTransport: every encoding, no MID or BWE extensions. */
export function getPipeConsumerRtpParameters({
  consumableRtpParameters,
  enableRtx,
}: {
  consumableRtpParameters: RtpParameters;
  enableRtx?: boolean;
}): RtpParameters {
  const consumer: RtpParameters = {
    codecs: [],
    headerExtensions: [],
    encodings: [],
    rtcp: clone(consumableRtpParameters.rtcp),
  };
  for (const codec of clone(consumableRtpParameters.codecs)) {
    if (!enableRtx && isRtxCodec(codec)) continue;
    codec.rtcpFeedback = (codec.rtcpFeedback ?? []).filter(
      (fb) =>
        (fb.type === 'nack' && fb.parameter === 'pli') ||
        (fb.type === 'ccm' && fb.parameter === 'fir') ||
        (enableRtx && fb.type === 'nack' && !fb.parameter),
    );
    consumer.codecs.push(codec);
  }
  consumer.headerExtensions = clone(consumableRtpParameters.headerExtensions ?? []).filter(
    (ext) => ext.uri !== URI_MID && ext.uri !== URI_ABS_SEND_TIME && ext.uri !== URI_TRANSPORT_CC,
  );
  const baseSsrc = generateSsrc();
  const baseRtxSsrc = generateSsrc();
  clone(consumableRtpParameters.encodings ?? []).forEach((encoding, i) => {
    encoding.ssrc = baseSsrc + i;
    if (enableRtx) encoding.rtx = { ssrc: baseRtxSsrc + i };
    else delete encoding.rtx;
    consumer.encodings!.push(encoding);
  });
  return consumer;
}
