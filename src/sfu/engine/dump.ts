import { isRtxCodec } from './ortc.js';
import type { RtpParameters } from './rtp-parameters.js';

/** Canonical spelling of codec subtypes, as the worker prints them (mimeType case is free on input). */
const SUBTYPES = [
  'opus',
  'multiopus',
  'PCMU',
  'PCMA',
  'ISAC',
  'G722',
  'iLBC',
  'SILK',
  'CN',
  'telephone-event',
  'rtx',
  'ulpfec',
  'flexfec',
  'x-ulpfec',
  'red',
  'VP8',
  'VP9',
  'H264',
  'H264-SVC',
  'H265',
  'AV1',
];
const CANONICAL = new Map(SUBTYPES.map((s) => [s.toLowerCase(), s]));

export function canonicalMimeType(mimeType: string): string {
  const [type = '', subtype = ''] = mimeType.split('/');
  return `${type.toLowerCase()}/${CANONICAL.get(subtype.toLowerCase()) ?? subtype}`;
}

/** RTP parameters as the worker reports them: canonical mime types, codecPayloadType filled in, empty feedback parameters dropped. */
export function dumpRtpParameters(params: RtpParameters): RtpParameters {
  const out = structuredClone(params);
  const mediaCodec = out.codecs.find((c) => !isRtxCodec(c));
  for (const codec of out.codecs) {
    codec.mimeType = canonicalMimeType(codec.mimeType);
    codec.rtcpFeedback = (codec.rtcpFeedback ?? []).map((fb) => (fb.parameter ? fb : { type: fb.type }));
  }
  for (const encoding of out.encodings ?? []) {
    encoding.codecPayloadType ??= mediaCodec?.payloadType;
  }
  return out;
}

export function mapToKeyValues<K, V>(map: Map<K, Set<V> | V[]>): { key: K; values: V[] }[] {
  return [...map].map(([key, values]) => ({ key, values: [...values] }));
}
