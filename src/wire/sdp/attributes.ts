/**
 * Typed readers and writers for the SDP attributes WebRTC uses (RFC 8866, 8839, 8843, 8851,
 * 8853, 8841, 8122, 8285, 5576, 4585, 8830). Readers are total: malformed text gives undefined.
 */

const isUint = (text: string | undefined, max: number): boolean => {
  if (text === undefined || text.length === 0 || text.length > 10 || !/^[0-9]+$/.test(text)) return false;
  return Number(text) <= max;
};

const words = (text: string): string[] => text.split(' ').filter((w) => w.length > 0);

export interface Rtpmap {
  payloadType: number;
  encodingName: string;
  clockRate: number;
  channels: number | undefined;
}

/** `a=rtpmap:<pt> <name>/<clock>[/<channels>]` */
export function parseRtpmap(value: string): Rtpmap | undefined {
  const [pt, encoding, ...rest] = words(value);
  if (!isUint(pt, 127) || encoding === undefined || rest.length > 0) return undefined;
  const [encodingName, clock, channels, ...extra] = encoding.split('/');
  if (!encodingName || !isUint(clock, 0xffffffff) || extra.length > 0) return undefined;
  if (channels !== undefined && !isUint(channels, 255)) return undefined;
  return {
    payloadType: Number(pt),
    encodingName,
    clockRate: Number(clock),
    channels: channels === undefined ? undefined : Number(channels),
  };
}

export function formatRtpmap(r: Rtpmap): string {
  const channels = r.channels === undefined ? '' : `/${r.channels}`;
  return `${r.payloadType} ${r.encodingName}/${r.clockRate}${channels}`;
}

export interface Fmtp {
  payloadType: number;
  /** key=value pairs in order; a parameter without '=' has value ''. */
  parameters: [string, string][];
}

/** `a=fmtp:<pt> k=v;k=v` */
export function parseFmtp(value: string): Fmtp | undefined {
  const space = value.indexOf(' ');
  if (space < 0) return undefined;
  const pt = value.slice(0, space);
  if (!isUint(pt, 127)) return undefined;
  const parameters: [string, string][] = [];
  for (const part of value.slice(space + 1).split(';')) {
    const item = part.trim();
    if (item.length === 0) continue;
    const eq = item.indexOf('=');
    parameters.push(eq < 0 ? [item, ''] : [item.slice(0, eq), item.slice(eq + 1)]);
  }
  return { payloadType: Number(pt), parameters };
}

export function formatFmtp(f: Fmtp): string {
  return `${f.payloadType} ${f.parameters.map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join(';')}`;
}

export interface RtcpFb {
  /** A payload type, or '*' for all. */
  payloadType: number | '*';
  type: string;
  subtype: string | undefined;
}

/** `a=rtcp-fb:<pt|*> <type> [<subtype>]` */
export function parseRtcpFb(value: string): RtcpFb | undefined {
  const [pt, type, subtype, ...rest] = words(value);
  if (pt === undefined || type === undefined || rest.length > 0) return undefined;
  if (pt !== '*' && !isUint(pt, 127)) return undefined;
  return { payloadType: pt === '*' ? '*' : Number(pt), type, subtype };
}

export function formatRtcpFb(f: RtcpFb): string {
  return f.subtype === undefined ? `${f.payloadType} ${f.type}` : `${f.payloadType} ${f.type} ${f.subtype}`;
}

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
const DIRECTIONS: readonly string[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

export function isDirection(name: string): name is Direction {
  return DIRECTIONS.includes(name);
}

export interface Extmap {
  id: number;
  direction: Direction | undefined;
  uri: string;
  attributes: string | undefined;
}

/** `a=extmap:<id>[/<direction>] <uri> [<extension attributes>]` (RFC 8285: ids 1–14 and 16–255). */
export function parseExtmap(value: string): Extmap | undefined {
  const [idPart, uri, ...rest] = words(value);
  if (idPart === undefined || uri === undefined) return undefined;
  const slash = idPart.indexOf('/');
  const id = slash < 0 ? idPart : idPart.slice(0, slash);
  const direction = slash < 0 ? undefined : idPart.slice(slash + 1);
  if (!isUint(id, 255) || Number(id) === 0 || Number(id) === 15) return undefined;
  if (direction !== undefined && !isDirection(direction)) return undefined;
  return { id: Number(id), direction, uri, attributes: rest.length > 0 ? rest.join(' ') : undefined };
}

export function formatExtmap(e: Extmap): string {
  const id = e.direction === undefined ? `${e.id}` : `${e.id}/${e.direction}`;
  return e.attributes === undefined ? `${id} ${e.uri}` : `${id} ${e.uri} ${e.attributes}`;
}

export interface SsrcAttribute {
  ssrc: number;
  attribute: string;
  value: string | undefined;
}

/** `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576) */
export function parseSsrc(value: string): SsrcAttribute | undefined {
  const space = value.indexOf(' ');
  const ssrc = space < 0 ? value : value.slice(0, space);
  if (!isUint(ssrc, 0xffffffff)) return undefined;
  if (space < 0) return undefined;
  const rest = value.slice(space + 1);
  const colon = rest.indexOf(':');
  const attribute = colon < 0 ? rest : rest.slice(0, colon);
  if (attribute.length === 0) return undefined;
  return { ssrc: Number(ssrc), attribute, value: colon < 0 ? undefined : rest.slice(colon + 1) };
}

export function formatSsrc(s: SsrcAttribute): string {
  return s.value === undefined ? `${s.ssrc} ${s.attribute}` : `${s.ssrc} ${s.attribute}:${s.value}`;
}

export interface SsrcGroup {
  semantics: string;
  ssrcs: number[];
}

/** `a=ssrc-group:<semantics> <ssrc>...` (FID, SIM, FEC-FR) */
export function parseSsrcGroup(value: string): SsrcGroup | undefined {
  const [semantics, ...ssrcs] = words(value);
  if (semantics === undefined || ssrcs.length === 0 || !ssrcs.every((s) => isUint(s, 0xffffffff))) {
    return undefined;
  }
  return { semantics, ssrcs: ssrcs.map(Number) };
}

export function formatSsrcGroup(g: SsrcGroup): string {
  return `${g.semantics} ${g.ssrcs.join(' ')}`;
}

export interface Rid {
  id: string;
  direction: 'send' | 'recv';
  /** The restriction text (pt=…;max-width=…), if any. */
  restrictions: string | undefined;
}

/** `a=rid:<id> <send|recv> [<restrictions>]` (RFC 8851) */
export function parseRid(value: string): Rid | undefined {
  const [id, direction, restrictions, ...rest] = words(value);
  if (id === undefined || !/^[A-Za-z0-9_-]{1,255}$/.test(id) || rest.length > 0) return undefined;
  if (direction !== 'send' && direction !== 'recv') return undefined;
  return { id, direction, restrictions };
}

export function formatRid(r: Rid): string {
  return r.restrictions === undefined ? `${r.id} ${r.direction}` : `${r.id} ${r.direction} ${r.restrictions}`;
}

export interface SimulcastStream {
  rid: string;
  paused: boolean;
}

export interface Simulcast {
  /** Each inner list holds the alternatives for one stream (the `,`-separated ones). */
  send: SimulcastStream[][];
  recv: SimulcastStream[][];
}

function parseSimulcastList(text: string): SimulcastStream[][] | undefined {
  const streams: SimulcastStream[][] = [];
  for (const alternatives of text.split(';')) {
    const stream: SimulcastStream[] = [];
    for (const alternative of alternatives.split(',')) {
      const paused = alternative.startsWith('~');
      const rid = paused ? alternative.slice(1) : alternative;
      if (rid.length === 0) return undefined;
      stream.push({ rid, paused });
    }
    streams.push(stream);
  }
  return streams;
}

/** `a=simulcast:send r0;r1 recv r2` (RFC 8853) */
export function parseSimulcast(value: string): Simulcast | undefined {
  const parts = words(value);
  if (parts.length !== 2 && parts.length !== 4) return undefined;
  const result: Simulcast = { send: [], recv: [] };
  for (let i = 0; i < parts.length; i += 2) {
    const direction = parts[i];
    if (direction !== 'send' && direction !== 'recv') return undefined;
    if (result[direction].length > 0) return undefined;
    const list = parseSimulcastList(parts[i + 1]!);
    if (!list) return undefined;
    result[direction] = list;
  }
  return result;
}

export function formatSimulcast(s: Simulcast): string {
  const list = (streams: SimulcastStream[][]): string =>
    streams.map((alts) => alts.map((a) => (a.paused ? `~${a.rid}` : a.rid)).join(',')).join(';');
  const parts: string[] = [];
  if (s.send.length > 0) parts.push(`send ${list(s.send)}`);
  if (s.recv.length > 0) parts.push(`recv ${list(s.recv)}`);
  return parts.join(' ');
}

export interface Msid {
  streamId: string;
  trackId: string | undefined;
}

/** `a=msid:<stream id> [<track id>]` (RFC 8830) */
export function parseMsid(value: string): Msid | undefined {
  const [streamId, trackId, ...rest] = words(value);
  if (streamId === undefined || rest.length > 0) return undefined;
  return { streamId, trackId };
}

export interface Candidate {
  foundation: string;
  component: number;
  /** udp or tcp, lower-cased. */
  transport: string;
  priority: number;
  address: string;
  port: number;
  type: string;
  relatedAddress: string | undefined;
  relatedPort: number | undefined;
  tcpType: string | undefined;
  /** Other name/value extension pairs (generation, ufrag, network-id…). */
  extensions: [string, string][];
}

/** `a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> …` (RFC 8839) */
export function parseCandidate(value: string): Candidate | undefined {
  const text = value.startsWith('candidate:') ? value.slice(10) : value;
  const parts = words(text);
  if (parts.length < 8 || parts[6] !== 'typ') return undefined;
  const [foundation, component, transport, priority, address, port, , type] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!isUint(component, 256) || !isUint(priority, 0xffffffff) || !isUint(port, 65535)) return undefined;
  const candidate: Candidate = {
    foundation,
    component: Number(component),
    transport: transport.toLowerCase(),
    priority: Number(priority),
    address,
    port: Number(port),
    type,
    relatedAddress: undefined,
    relatedPort: undefined,
    tcpType: undefined,
    extensions: [],
  };
  if ((parts.length - 8) % 2 !== 0) return undefined;
  for (let i = 8; i + 1 < parts.length; i += 2) {
    const name = parts[i]!;
    const v = parts[i + 1]!;
    if (name === 'raddr') candidate.relatedAddress = v;
    else if (name === 'rport') {
      if (!isUint(v, 65535)) return undefined;
      candidate.relatedPort = Number(v);
    } else if (name === 'tcptype') candidate.tcpType = v;
    else candidate.extensions.push([name, v]);
  }
  return candidate;
}

/** The value of `a=candidate:` (without the `candidate:` prefix). */
export function formatCandidate(c: Candidate): string {
  const parts = [c.foundation, c.component, c.transport, c.priority, c.address, c.port, 'typ', c.type];
  if (c.relatedAddress !== undefined) parts.push('raddr', c.relatedAddress);
  if (c.relatedPort !== undefined) parts.push('rport', c.relatedPort);
  if (c.tcpType !== undefined) parts.push('tcptype', c.tcpType);
  for (const [name, v] of c.extensions) parts.push(name, v);
  return parts.join(' ');
}

export interface Fingerprint {
  /** Lower-cased hash name: sha-256… */
  algorithm: string;
  /** Upper-case hex pairs separated by colons, as RFC 8122 writes them. */
  value: string;
}

/** `a=fingerprint:<hash> <XX:XX:…>` (RFC 8122) */
export function parseFingerprint(value: string): Fingerprint | undefined {
  const [algorithm, hex, ...rest] = words(value);
  if (algorithm === undefined || hex === undefined || rest.length > 0) return undefined;
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})*$/.test(hex)) return undefined;
  return { algorithm: algorithm.toLowerCase(), value: hex.toUpperCase() };
}

export interface Group {
  semantics: string;
  mids: string[];
}

/** `a=group:BUNDLE 0 1 2` (RFC 5888, RFC 8843) */
export function parseGroup(value: string): Group | undefined {
  const [semantics, ...mids] = words(value);
  if (semantics === undefined) return undefined;
  return { semantics, mids };
}

export type SetupRole = 'active' | 'passive' | 'actpass' | 'holdconn';

/** `a=setup:<role>` (RFC 4145, RFC 8842) */
export function parseSetup(value: string | undefined): SetupRole | undefined {
  return value === 'active' || value === 'passive' || value === 'actpass' || value === 'holdconn'
    ? value
    : undefined;
}

/** `a=sctp-port:<port>` or `a=max-message-size:<bytes>` (RFC 8841): a non-negative integer. */
export function parseUintAttribute(value: string | undefined): number | undefined {
  return value !== undefined && isUint(value, Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}
