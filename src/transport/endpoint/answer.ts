/**
 * Builds an ICE-lite SDP answer to a browser offer: one BUNDLE group over one 5-tuple,
 * rtcp-mux, our credentials, fingerprint and host candidates, and for each audio/video
 * section the first offered codec we accept (VP8, opus by default), and the data channel
 * section (`m=application … UDP/DTLS/SCTP webrtc-datachannel`, RFC 8841) unless told not to.
 * Unsupported sections are rejected with port 0.
 */
import {
  type Candidate,
  type Direction,
  findAttribute,
  findAttributes,
  formatCandidate,
  formatFmtp,
  formatRtcpFb,
  formatRtpmap,
  isDirection,
  parseFingerprint,
  parseFmtp,
  parseGroup,
  parseRtcpFb,
  parseRtpmap,
  parseSdp,
  parseSetup,
  parseUintAttribute,
  type Rtpmap,
  type SdpAttribute,
  type SdpMediaSection,
  SdpParseError,
  type SessionDescription,
  serializeSdp,
} from '../../wire/sdp/index.js';

export interface AcceptedCodec {
  kind: 'audio' | 'video';
  /** Encoding name, compared case-insensitively: VP8, opus… */
  name: string;
  clockRate: number;
  channels?: number;
}

export const DEFAULT_CODECS: readonly AcceptedCodec[] = [
  { kind: 'video', name: 'VP8', clockRate: 90000 },
  { kind: 'audio', name: 'opus', clockRate: 48000, channels: 2 },
];

/** RTCP feedback we can honour by forwarding: NACK, PLI, FIR. */
const ACCEPTED_FEEDBACK: ReadonlySet<string> = new Set(['nack', 'nack pli', 'ccm fir']);

/** A stream we will send in a section (loopback or SFU consumer): declared with a=ssrc and a=msid. */
export interface SendStream {
  ssrc: number;
  cname: string;
  streamId: string;
  trackId: string;
}

export interface LocalTransportDescription {
  usernameFragment: string;
  password: string;
  /** e.g. { algorithm: 'sha-256', value: 'AB:CD:…' } */
  fingerprint: { algorithm: string; value: string };
  /**
   * The DTLS role we take when the offer leaves it to us (a=setup:actpass); a definite
   * a=setup in the offer decides otherwise. 'server' answers passive, 'client' active.
   */
  preferredDtlsRole: 'client' | 'server';
  candidates: Candidate[];
}

export interface NegotiatedSection {
  mid: string;
  kind: string;
  accepted: boolean;
  /** The codec chosen for this section, when accepted. */
  codec: Rtpmap | undefined;
  /** Our direction in the answer. */
  direction: Direction;
  /** SSRCs the offer declared for what the peer sends. */
  remoteSsrcs: number[];
  sendStream: SendStream | undefined;
  /** For an accepted data channel section: the peer's SCTP port and max-message-size. */
  sctp: { remotePort: number; remoteMaxMessageSize: number } | undefined;
}

/** Our side of an SCTP (data channel) section. */
export interface LocalSctpDescription {
  port: number;
  maxMessageSize: number;
}

export interface RemoteTransportDescription {
  usernameFragment: string | undefined;
  password: string | undefined;
  fingerprints: { algorithm: string; value: string }[];
  /** The offer's a=setup (actpass when absent, per RFC 8842). */
  setup: 'active' | 'passive' | 'actpass' | 'holdconn';
}

export interface AnswerResult {
  sdp: string;
  /** Our DTLS role as the answer states it. */
  dtlsRole: 'client' | 'server';
  remote: RemoteTransportDescription;
  sections: NegotiatedSection[];
}

export interface AnswerOptions {
  codecs?: readonly AcceptedCodec[];
  /** Streams to send, per mid: that section answers sendrecv/sendonly and declares the SSRC. */
  sendStreams?: ReadonlyMap<string, SendStream>;
  /** The session id for o= (default: random). */
  sessionId?: string;
  /** Accept a data channel section with these SCTP parameters; rejected when absent. */
  sctp?: LocalSctpDescription;
}

/** RFC 8841 §6: without a=max-message-size the peer takes 64 KiB; 0 means no limit. */
const DEFAULT_REMOTE_MAX_MESSAGE_SIZE = 65536;

function isDataChannelSection(media: SdpMediaSection): boolean {
  return (
    media.kind === 'application' &&
    (media.protocol === 'UDP/DTLS/SCTP' || media.protocol === 'TCP/DTLS/SCTP') &&
    media.formats.includes('webrtc-datachannel')
  );
}

export class SdpNegotiationError extends Error {
  override name = 'SdpNegotiationError';
}

const REVERSE: Record<Direction, Direction> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

function offeredDirection(media: SdpMediaSection, session: SessionDescription): Direction {
  for (const a of media.attributes) if (isDirection(a.name)) return a.name;
  for (const a of session.attributes) if (isDirection(a.name)) return a.name;
  return 'sendrecv';
}

function pickCodec(media: SdpMediaSection, codecs: readonly AcceptedCodec[]): Rtpmap | undefined {
  const rtpmaps = findAttributes(media.attributes, 'rtpmap')
    .map(parseRtpmap)
    .filter((r): r is Rtpmap => r !== undefined);
  for (const format of media.formats) {
    const rtpmap = rtpmaps.find((r) => String(r.payloadType) === format);
    if (!rtpmap) continue;
    const ok = codecs.some(
      (c) =>
        c.kind === media.kind &&
        c.name.toLowerCase() === rtpmap.encodingName.toLowerCase() &&
        c.clockRate === rtpmap.clockRate &&
        (c.channels === undefined || (rtpmap.channels ?? 1) === c.channels),
    );
    if (ok) return rtpmap;
  }
  return undefined;
}

function remoteSsrcsOf(media: SdpMediaSection): number[] {
  const out: number[] = [];
  for (const value of findAttributes(media.attributes, 'ssrc')) {
    const space = value.indexOf(' ');
    const ssrc = Number(value.slice(0, space < 0 ? undefined : space));
    if (Number.isInteger(ssrc) && ssrc >= 0 && ssrc <= 0xffffffff && !out.includes(ssrc)) out.push(ssrc);
  }
  return out;
}

/** Reads what the offer says about the transport: credentials, fingerprints, setup role. */
export function readRemoteTransport(offer: SessionDescription): RemoteTransportDescription {
  const first = offer.media.find((m) => m.port !== 0) ?? offer.media[0];
  const attr = (name: string): string | undefined =>
    (first && findAttribute(first.attributes, name)) ?? findAttribute(offer.attributes, name);
  const fingerprintTexts = [
    ...(first ? findAttributes(first.attributes, 'fingerprint') : []),
    ...findAttributes(offer.attributes, 'fingerprint'),
  ];
  const fingerprints = fingerprintTexts
    .map(parseFingerprint)
    .filter((f): f is { algorithm: string; value: string } => f !== undefined);
  return {
    usernameFragment: attr('ice-ufrag'),
    password: attr('ice-pwd'),
    fingerprints,
    setup: parseSetup(attr('setup')) ?? 'actpass',
  };
}

/**
 * Our DTLS role for an offer: the opposite of a definite a=setup, otherwise the preference.
 * Throws SdpNegotiationError on holdconn.
 */
export function dtlsRoleForOffer(
  setup: RemoteTransportDescription['setup'],
  preferred: 'client' | 'server',
): 'client' | 'server' {
  if (setup === 'active') return 'server';
  if (setup === 'passive') return 'client';
  if (setup === 'holdconn') throw new SdpNegotiationError('offer has a=setup:holdconn');
  return preferred;
}

/** Parses an offer, throwing SdpNegotiationError when it is not SDP. */
export function parseOffer(offerSdp: string): SessionDescription {
  const offer = parseSdp(offerSdp);
  if (offer instanceof SdpParseError) throw new SdpNegotiationError(`bad offer: ${offer.reason}`);
  return offer;
}

export function buildAnswer(
  offerSdp: string | SessionDescription,
  local: LocalTransportDescription,
  options: AnswerOptions = {},
): AnswerResult {
  const offer = typeof offerSdp === 'string' ? parseOffer(offerSdp) : offerSdp;
  const remote = readRemoteTransport(offer);
  if (!remote.usernameFragment || !remote.password)
    throw new SdpNegotiationError('offer lacks ICE credentials');
  if (remote.fingerprints.length === 0) throw new SdpNegotiationError('offer lacks a DTLS fingerprint');
  const dtlsRole = dtlsRoleForOffer(remote.setup, local.preferredDtlsRole);
  const codecs = options.codecs ?? DEFAULT_CODECS;
  const offeredBundle = findAttributes(offer.attributes, 'group')
    .map(parseGroup)
    .find((g) => g?.semantics === 'BUNDLE');
  const sessionId = options.sessionId ?? String(Math.floor(Math.random() * 2 ** 52));
  const candidates = local.candidates;
  const defaultPort = candidates[0]?.port ?? 9;
  const answer: SessionDescription = {
    lines: [
      { type: 'v', value: '0' },
      { type: 'o', value: `tureen ${sessionId} 1 IN IP4 127.0.0.1` },
      { type: 's', value: '-' },
      { type: 't', value: '0 0' },
    ],
    attributes: [{ name: 'ice-lite', value: undefined }],
    media: [],
  };
  const sections: NegotiatedSection[] = [];
  const bundled: string[] = [];
  offer.media.forEach((media, index) => {
    const mid = findAttribute(media.attributes, 'mid') ?? String(index);
    const isRtp = (media.kind === 'audio' || media.kind === 'video') && media.protocol.includes('RTP/');
    const codec = isRtp && media.port !== 0 ? pickCodec(media, codecs) : undefined;
    // One SCTP association per DTLS association: only the first data channel section.
    const dataChannel =
      options.sctp !== undefined &&
      media.port !== 0 &&
      isDataChannelSection(media) &&
      !sections.some((s) => s.accepted && s.sctp);
    // One DTLS association over one 5-tuple: without an offered BUNDLE group only the first
    // acceptable section can share it; the rest are rejected.
    const inBundle = offeredBundle ? offeredBundle.mids.includes(mid) : bundled.length === 0;
    const accepted = (codec !== undefined || dataChannel) && inBundle;
    const offered = offeredDirection(media, offer);
    const sendStream = accepted ? options.sendStreams?.get(mid) : undefined;
    let direction: Direction = REVERSE[offered];
    // We send only where asked to; otherwise we only receive.
    if (!sendStream)
      direction = direction === 'sendrecv' ? 'recvonly' : direction === 'sendonly' ? 'inactive' : direction;
    sections.push({
      mid,
      kind: media.kind,
      accepted,
      codec,
      direction,
      remoteSsrcs: remoteSsrcsOf(media),
      sendStream: direction === 'sendrecv' || direction === 'sendonly' ? sendStream : undefined,
      sctp:
        accepted && dataChannel
          ? {
              remotePort: parseUintAttribute(findAttribute(media.attributes, 'sctp-port')) ?? 5000,
              remoteMaxMessageSize:
                parseUintAttribute(findAttribute(media.attributes, 'max-message-size')) ??
                DEFAULT_REMOTE_MAX_MESSAGE_SIZE,
            }
          : undefined,
    });
    if (!accepted) {
      answer.media.push({
        kind: media.kind,
        port: 0,
        portCount: undefined,
        protocol: media.protocol,
        formats: media.formats.slice(0, 1),
        lines: [{ type: 'c', value: 'IN IP4 0.0.0.0' }],
        attributes: [{ name: 'mid', value: mid }],
      });
      return;
    }
    bundled.push(mid);
    if (!codec) {
      answer.media.push(dataChannelAnswer(media, mid, local, dtlsRole, options.sctp!, defaultPort));
      return;
    }
    const pt = codec.payloadType;
    const attributes: SdpAttribute[] = [
      { name: 'mid', value: mid },
      { name: 'ice-ufrag', value: local.usernameFragment },
      { name: 'ice-pwd', value: local.password },
      { name: 'fingerprint', value: `${local.fingerprint.algorithm} ${local.fingerprint.value}` },
      { name: 'setup', value: dtlsRole === 'server' ? 'passive' : 'active' },
      { name: direction, value: undefined },
      { name: 'rtcp-mux', value: undefined },
    ];
    if (findAttribute(media.attributes, 'rtcp-rsize') !== undefined) {
      attributes.push({ name: 'rtcp-rsize', value: undefined });
    }
    attributes.push({ name: 'rtpmap', value: formatRtpmap(codec) });
    for (const text of findAttributes(media.attributes, 'rtcp-fb')) {
      const fb = parseRtcpFb(text);
      if (!fb || fb.payloadType !== pt) continue;
      const name = fb.subtype === undefined ? fb.type : `${fb.type} ${fb.subtype}`;
      if (ACCEPTED_FEEDBACK.has(name)) attributes.push({ name: 'rtcp-fb', value: formatRtcpFb(fb) });
    }
    for (const text of findAttributes(media.attributes, 'fmtp')) {
      const fmtp = parseFmtp(text);
      if (fmtp?.payloadType === pt) attributes.push({ name: 'fmtp', value: formatFmtp(fmtp) });
    }
    const stream = sections[sections.length - 1]!.sendStream;
    if (stream) {
      attributes.push({ name: 'msid', value: `${stream.streamId} ${stream.trackId}` });
      attributes.push({ name: 'ssrc', value: `${stream.ssrc} cname:${stream.cname}` });
      attributes.push({ name: 'ssrc', value: `${stream.ssrc} msid:${stream.streamId} ${stream.trackId}` });
    }
    for (const candidate of candidates)
      attributes.push({ name: 'candidate', value: formatCandidate(candidate) });
    attributes.push({ name: 'end-of-candidates', value: undefined });
    answer.media.push({
      kind: media.kind,
      port: defaultPort,
      portCount: undefined,
      protocol: media.protocol,
      formats: [String(pt)],
      lines: [{ type: 'c', value: 'IN IP4 127.0.0.1' }],
      attributes,
    });
  });
  if (bundled.length === 0) throw new SdpNegotiationError('no acceptable media section in the offer');
  if (offeredBundle) answer.attributes.unshift({ name: 'group', value: `BUNDLE ${bundled.join(' ')}` });
  answer.attributes.push({ name: 'msid-semantic', value: ' WMS *' });
  return { sdp: serializeSdp(answer), dtlsRole, remote, sections };
}

function dataChannelAnswer(
  media: SdpMediaSection,
  mid: string,
  local: LocalTransportDescription,
  dtlsRole: 'client' | 'server',
  sctp: LocalSctpDescription,
  port: number,
): SdpMediaSection {
  const attributes: SdpAttribute[] = [
    { name: 'mid', value: mid },
    { name: 'ice-ufrag', value: local.usernameFragment },
    { name: 'ice-pwd', value: local.password },
    { name: 'fingerprint', value: `${local.fingerprint.algorithm} ${local.fingerprint.value}` },
    { name: 'setup', value: dtlsRole === 'server' ? 'passive' : 'active' },
    { name: 'sctp-port', value: String(sctp.port) },
    { name: 'max-message-size', value: String(sctp.maxMessageSize) },
  ];
  for (const candidate of local.candidates)
    attributes.push({ name: 'candidate', value: formatCandidate(candidate) });
  attributes.push({ name: 'end-of-candidates', value: undefined });
  return {
    kind: media.kind,
    port,
    portCount: undefined,
    protocol: media.protocol,
    formats: ['webrtc-datachannel'],
    lines: [{ type: 'c', value: 'IN IP4 127.0.0.1' }],
    attributes,
  };
}
