/**
 * A small, total SDP (RFC 8866) parser and serializer.
 *
 * Lines are kept in order as generic records so that anything we do not interpret survives a
 * parse/serialize round trip; typed readers for the attributes WebRTC uses live in
 * attributes.ts. parseSdp never throws: malformed input yields an SdpParseError.
 */

/** A parse failure. Not an Error subclass: no stack capture on hostile input. */
export class SdpParseError {
  constructor(readonly reason: string) {}
}

/** `a=name:value` (value is the text after the first colon) or the flag `a=name` (value undefined). */
export interface SdpAttribute {
  name: string;
  value: string | undefined;
}

/** A line other than `a=` / `m=`: its one-letter type and its text after `=`. */
export interface SdpLine {
  type: string;
  value: string;
}

export interface SdpMediaSection {
  /** audio, video, application… */
  kind: string;
  port: number;
  /** The `/<number of ports>` suffix, if any. */
  portCount: number | undefined;
  /** UDP/TLS/RTP/SAVPF, UDP/DTLS/SCTP… */
  protocol: string;
  /** Payload types for RTP, `webrtc-datachannel` for SCTP. */
  formats: string[];
  /** c=, b=, i=, k= lines of this section, in order. */
  lines: SdpLine[];
  attributes: SdpAttribute[];
}

export interface SessionDescription {
  /** Session-level lines other than `a=` (v=, o=, s=, t=, c=, b=…), in order. */
  lines: SdpLine[];
  attributes: SdpAttribute[];
  media: SdpMediaSection[];
}

/** Bounds that keep a hostile description from costing unbounded memory or time. */
export const SDP_LIMITS = {
  maxLength: 256 * 1024,
  maxLines: 8192,
  maxMediaSections: 512,
} as const;

function parseAttribute(text: string): SdpAttribute {
  const colon = text.indexOf(':');
  return colon < 0
    ? { name: text, value: undefined }
    : { name: text.slice(0, colon), value: text.slice(colon + 1) };
}

function parseMediaLine(text: string): SdpMediaSection | SdpParseError {
  const parts = text.split(' ');
  if (parts.length < 3) return new SdpParseError('m= line needs media, port and protocol');
  const [kind, portText, protocol] = parts as [string, string, string];
  const slash = portText.indexOf('/');
  const port = Number(slash < 0 ? portText : portText.slice(0, slash));
  const portCount = slash < 0 ? undefined : Number(portText.slice(slash + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) return new SdpParseError('m= line has a bad port');
  if (portCount !== undefined && (!Number.isInteger(portCount) || portCount < 1)) {
    return new SdpParseError('m= line has a bad port count');
  }
  if (kind.length === 0 || protocol.length === 0) return new SdpParseError('m= line has an empty field');
  return {
    kind,
    port,
    portCount,
    protocol,
    formats: parts.slice(3).filter((f) => f.length > 0),
    lines: [],
    attributes: [],
  };
}

/** Parses an SDP blob (CRLF or LF line endings). Never throws. */
export function parseSdp(text: string): SessionDescription | SdpParseError {
  if (typeof text !== 'string') return new SdpParseError('not a string');
  if (text.length > SDP_LIMITS.maxLength) return new SdpParseError('description too long');
  const rawLines = text.split('\n');
  if (rawLines.length > SDP_LIMITS.maxLines) return new SdpParseError('too many lines');
  const session: SessionDescription = { lines: [], attributes: [], media: [] };
  let current: SdpMediaSection | undefined;
  for (let i = 0; i < rawLines.length; i++) {
    let line = rawLines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.length === 0) continue;
    if (line.length < 2 || line[1] !== '=') return new SdpParseError(`line ${i + 1} is not <type>=<value>`);
    const type = line[0]!;
    const value = line.slice(2);
    if (type === 'm') {
      if (session.media.length >= SDP_LIMITS.maxMediaSections)
        return new SdpParseError('too many m= sections');
      const media = parseMediaLine(value);
      if (media instanceof SdpParseError) return media;
      session.media.push(media);
      current = media;
    } else if (type === 'a') {
      (current ? current.attributes : session.attributes).push(parseAttribute(value));
    } else {
      (current ? current.lines : session.lines).push({ type, value });
    }
  }
  if (session.lines.length === 0 || session.lines[0]!.type !== 'v') {
    return new SdpParseError('description does not start with v=');
  }
  return session;
}

function attributeLine(attribute: SdpAttribute): string {
  return attribute.value === undefined ? `a=${attribute.name}` : `a=${attribute.name}:${attribute.value}`;
}

/** Serializes with CRLF line endings (RFC 8866 §5), session lines first, then each m= section. */
export function serializeSdp(session: SessionDescription): string {
  const out: string[] = [];
  for (const line of session.lines) out.push(`${line.type}=${line.value}`);
  for (const attribute of session.attributes) out.push(attributeLine(attribute));
  for (const media of session.media) {
    const port = media.portCount === undefined ? `${media.port}` : `${media.port}/${media.portCount}`;
    out.push(`m=${[media.kind, port, media.protocol, ...media.formats].join(' ')}`);
    for (const line of media.lines) out.push(`${line.type}=${line.value}`);
    for (const attribute of media.attributes) out.push(attributeLine(attribute));
  }
  return `${out.join('\r\n')}\r\n`;
}

/** The value of the first attribute with this name: a string, '' for a flag, undefined if absent. */
export function findAttribute(attributes: readonly SdpAttribute[], name: string): string | undefined {
  for (const attribute of attributes) if (attribute.name === name) return attribute.value ?? '';
  return undefined;
}

/** Values of every attribute with this name ('' for flags), in order. */
export function findAttributes(attributes: readonly SdpAttribute[], name: string): string[] {
  const out: string[] = [];
  for (const attribute of attributes) if (attribute.name === name) out.push(attribute.value ?? '');
  return out;
}

export function hasAttribute(attributes: readonly SdpAttribute[], name: string): boolean {
  return attributes.some((a) => a.name === name);
}

/** A media-level attribute, falling back to the session level (ice-ufrag, fingerprint, setup…). */
export function mediaOrSessionAttribute(
  session: SessionDescription,
  media: SdpMediaSection,
  name: string,
): string | undefined {
  return findAttribute(media.attributes, name) ?? findAttribute(session.attributes, name);
}
