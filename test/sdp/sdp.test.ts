/**
 * SDP parser/serializer against descriptions real stacks produced: a Chromium 156 offer captured
 * on this machine (audio, 3-layer simulcast video, data channel) and a live libwebrtc (wrtc)
 * offer. Plus malformed-input totality (bounded fuzz) and the endpoint's answer builder.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { buildAnswer } from '../../src/transport/endpoint/answer.js';
import {
  findAttribute,
  findAttributes,
  parseCandidate,
  parseExtmap,
  parseFingerprint,
  parseFmtp,
  parseGroup,
  parseMsid,
  parseRid,
  parseRtcpFb,
  parseRtpmap,
  parseSdp,
  parseSetup,
  parseSimulcast,
  parseSsrc,
  parseSsrcGroup,
  parseUintAttribute,
  SdpParseError,
  type SessionDescription,
  serializeSdp,
} from '../../src/wire/sdp/index.js';

const require = createRequire(import.meta.url);
const CHROMIUM_OFFER = readFileSync(new URL('./fixtures/chromium-156-offer.sdp', import.meta.url), 'utf8');

function parsed(text: string): SessionDescription {
  const result = parseSdp(text);
  if (result instanceof SdpParseError) throw new Error(result.reason);
  return result;
}

const normalise = (text: string): string => `${text.replace(/\r?\n/g, '\r\n').replace(/(\r\n)+$/, '')}\r\n`;

test('Chromium 156 offer: sections, BUNDLE, codecs, simulcast, data channel', () => {
  const sdp = parsed(CHROMIUM_OFFER);
  assert.deepEqual(
    sdp.media.map((m) => [m.kind, m.protocol]),
    [
      ['audio', 'UDP/TLS/RTP/SAVPF'],
      ['video', 'UDP/TLS/RTP/SAVPF'],
      ['application', 'UDP/DTLS/SCTP'],
    ],
  );
  assert.deepEqual(parseGroup(findAttribute(sdp.attributes, 'group')!), {
    semantics: 'BUNDLE',
    mids: ['0', '1', '2'],
  });
  const [audio, video, data] = sdp.media as [
    (typeof sdp.media)[0],
    (typeof sdp.media)[0],
    (typeof sdp.media)[0],
  ];
  const opus = findAttributes(audio.attributes, 'rtpmap')
    .map(parseRtpmap)
    .find((r) => r?.encodingName === 'opus');
  assert.deepEqual(opus, { payloadType: 111, encodingName: 'opus', clockRate: 48000, channels: 2 });
  const fmtp = findAttributes(audio.attributes, 'fmtp')
    .map(parseFmtp)
    .find((f) => f?.payloadType === 111);
  assert.deepEqual(fmtp?.parameters, [
    ['minptime', '10'],
    ['useinbandfec', '1'],
  ]);
  const vp8 = findAttributes(video.attributes, 'rtpmap')
    .map(parseRtpmap)
    .find((r) => r?.encodingName === 'VP8');
  assert.equal(vp8?.clockRate, 90000);
  assert.equal(vp8?.channels, undefined);
  const feedback = findAttributes(video.attributes, 'rtcp-fb')
    .map(parseRtcpFb)
    .filter((f) => f?.payloadType === vp8!.payloadType);
  assert.ok(feedback.some((f) => f?.type === 'nack' && f.subtype === 'pli'));
  assert.ok(feedback.some((f) => f?.type === 'ccm' && f.subtype === 'fir'));
  const rtx = findAttributes(video.attributes, 'fmtp')
    .map(parseFmtp)
    .find((f) => f?.parameters.some(([k, v]) => k === 'apt' && v === String(vp8!.payloadType)));
  assert.ok(rtx, 'an RTX codec points at VP8');
  const extmaps = findAttributes(video.attributes, 'extmap').map(parseExtmap);
  assert.ok(extmaps.every((e) => e !== undefined));
  assert.ok(extmaps.some((e) => e?.uri === 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id'));
  assert.deepEqual(
    findAttributes(video.attributes, 'rid').map(parseRid),
    ['r0', 'r1', 'r2'].map((id) => ({ id, direction: 'send', restrictions: undefined })),
  );
  const simulcast = parseSimulcast(findAttribute(video.attributes, 'simulcast')!);
  assert.deepEqual(
    simulcast?.send.map((alternatives) => alternatives.map((a) => a.rid)),
    [['r0'], ['r1'], ['r2']],
  );
  const msid = parseMsid(findAttribute(video.attributes, 'msid')!);
  assert.ok(msid?.streamId && msid.trackId);
  const candidates = findAttributes(audio.attributes, 'candidate').map(parseCandidate);
  assert.ok(candidates.length > 0 && candidates.every((c) => c?.address === '127.0.0.1'));
  const tcp = candidates.find((c) => c?.transport === 'tcp');
  assert.equal(tcp?.tcpType, 'active');
  assert.ok(tcp?.extensions.some(([k]) => k === 'network-id'));
  const fingerprint = parseFingerprint(findAttribute(audio.attributes, 'fingerprint')!);
  assert.equal(fingerprint?.algorithm, 'sha-256');
  assert.equal(fingerprint?.value.split(':').length, 32);
  assert.equal(parseSetup(findAttribute(audio.attributes, 'setup')), 'actpass');
  assert.equal(parseUintAttribute(findAttribute(data.attributes, 'sctp-port')), 5000);
  assert.ok(parseUintAttribute(findAttribute(data.attributes, 'max-message-size'))! > 0);
  assert.deepEqual(data.formats, ['webrtc-datachannel']);
});

test('round trip: serialize(parse(x)) reproduces Chromium and libwebrtc offers', async () => {
  assert.equal(serializeSdp(parsed(CHROMIUM_OFFER)), normalise(CHROMIUM_OFFER));
  const wrtc = require('@roamhq/wrtc');
  const pc = new wrtc.RTCPeerConnection();
  try {
    pc.addTransceiver('audio', { direction: 'sendrecv' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.createDataChannel('d');
    const offer = await pc.createOffer();
    assert.equal(serializeSdp(parsed(offer.sdp)), normalise(offer.sdp));
    const ssrcs = parsed(offer.sdp)
      .media.flatMap((m) => findAttributes(m.attributes, 'ssrc'))
      .map(parseSsrc);
    assert.ok(ssrcs.length > 0 && ssrcs.every((s) => s !== undefined && s.ssrc > 0));
    const groups = parsed(offer.sdp)
      .media.flatMap((m) => findAttributes(m.attributes, 'ssrc-group'))
      .map(parseSsrcGroup);
    assert.ok(groups.every((g) => g?.semantics === 'FID' && g.ssrcs.length === 2));
  } finally {
    pc.close();
  }
});

test('malformed descriptions and attributes give errors, never exceptions', () => {
  for (const bad of [
    '',
    'x',
    'a=foo',
    'v=0\r\nm=audio',
    'v=0\r\nm=audio 99999 RTP/AVP 0',
    'v=0\r\nm=video x RTP 0',
    'm=audio 9 RTP 0',
  ]) {
    assert.ok(parseSdp(bad) instanceof SdpParseError, JSON.stringify(bad));
  }
  assert.ok(parseSdp('v=0\r\n'.repeat(10_000)) instanceof SdpParseError, 'line limit');
  assert.ok(parseSdp(`v=0\r\na=${'x'.repeat(300_000)}`) instanceof SdpParseError, 'length limit');
  assert.ok(parseSdp(42 as unknown as string) instanceof SdpParseError);
  assert.equal(parseRtpmap('abc VP8/90000'), undefined);
  assert.equal(parseRtpmap('96 VP8'), undefined);
  assert.equal(parseRtpmap('200 VP8/90000'), undefined);
  assert.equal(parseFmtp('96'), undefined);
  assert.equal(parseRtcpFb('96'), undefined);
  assert.equal(parseExtmap('15 urn:x'), undefined, 'id 15 is reserved');
  assert.equal(parseExtmap('3/sideways urn:x'), undefined);
  assert.equal(parseSsrc('12ab cname:x'), undefined);
  assert.equal(parseSsrc('4294967296 cname:x'), undefined);
  assert.equal(parseSsrcGroup('FID'), undefined);
  assert.equal(parseRid('r0 both'), undefined);
  assert.equal(parseSimulcast('send'), undefined);
  assert.equal(parseSimulcast('send r0;;r1'), undefined);
  assert.equal(parseCandidate('1 1 udp 1 127.0.0.1 99999 typ host'), undefined);
  assert.equal(parseCandidate('1 1 udp 1 127.0.0.1 9 host'), undefined);
  assert.equal(parseFingerprint('sha-256 ZZ:00'), undefined);
  assert.equal(parseSetup('sideways'), undefined);
  assert.equal(parseUintAttribute('-1'), undefined);
});

test('fuzz: 5 000 mutated offers parse or fail cleanly, and what parses round-trips', () => {
  const base = Buffer.from(CHROMIUM_OFFER, 'utf8');
  let seed = 0x2545f491;
  const random = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const alphabet = Buffer.from(' :=/;\r\n0123456789abcmvtaxyz~*-');
  let ok = 0;
  for (let i = 0; i < 5_000; i++) {
    const mutated = Buffer.from(base);
    const edits = 1 + random(8);
    for (let e = 0; e < edits; e++) mutated[random(mutated.length)] = alphabet[random(alphabet.length)]!;
    const text = mutated.toString('latin1').slice(0, random(4) === 0 ? random(mutated.length) : undefined);
    const result = parseSdp(text);
    if (result instanceof SdpParseError) continue;
    ok++;
    const again = parseSdp(serializeSdp(result));
    assert.ok(!(again instanceof SdpParseError));
    assert.equal(serializeSdp(again), serializeSdp(result));
    for (const media of result.media) {
      for (const a of media.attributes) {
        const v = a.value ?? '';
        parseRtpmap(v);
        parseFmtp(v);
        parseRtcpFb(v);
        parseExtmap(v);
        parseSsrc(v);
        parseSsrcGroup(v);
        parseRid(v);
        parseSimulcast(v);
        parseMsid(v);
        parseCandidate(v);
        parseFingerprint(v);
        parseGroup(v);
      }
    }
  }
  assert.ok(ok > 250, `a fair share of mutants still parse (${ok})`);
});

test('answer to the Chromium offer: opus and VP8 accepted, data channel rejected, ice-lite', () => {
  const result = buildAnswer(CHROMIUM_OFFER, {
    usernameFragment: 'ourUfragXYZ1',
    password: 'ourPasswordThatIsLongEnough1234',
    fingerprint: { algorithm: 'sha-256', value: 'AA:BB' },
    preferredDtlsRole: 'server',
    candidates: [
      {
        foundation: 'udpcandidate',
        component: 1,
        transport: 'udp',
        priority: 2130706431,
        address: '127.0.0.1',
        port: 40000,
        type: 'host',
        relatedAddress: undefined,
        relatedPort: undefined,
        tcpType: undefined,
        extensions: [],
      },
    ],
  });
  const answer = parsed(result.sdp);
  assert.ok(findAttribute(answer.attributes, 'ice-lite') !== undefined);
  assert.deepEqual(parseGroup(findAttribute(answer.attributes, 'group')!)?.mids, ['0', '1']);
  const [audio, video, data] = answer.media as [
    (typeof answer.media)[0],
    (typeof answer.media)[0],
    (typeof answer.media)[0],
  ];
  assert.equal(parseRtpmap(findAttribute(audio.attributes, 'rtpmap')!)?.encodingName, 'opus');
  assert.equal(parseRtpmap(findAttribute(video.attributes, 'rtpmap')!)?.encodingName, 'VP8');
  assert.equal(video.formats.length, 1);
  assert.equal(data.port, 0);
  for (const media of [audio, video]) {
    assert.equal(findAttribute(media.attributes, 'setup'), 'passive');
    assert.equal(findAttribute(media.attributes, 'ice-ufrag'), 'ourUfragXYZ1');
    assert.ok(findAttribute(media.attributes, 'rtcp-mux') !== undefined);
    assert.ok(findAttribute(media.attributes, 'recvonly') !== undefined, 'offer is sendonly');
    assert.equal(parseCandidate(findAttribute(media.attributes, 'candidate')!)?.port, 40000);
    assert.ok(
      findAttributes(media.attributes, 'rtcp-fb').every((f) => !f.includes('transport-cc')),
      'no feedback we cannot honour',
    );
  }
  assert.equal(
    result.remote.usernameFragment,
    findAttribute(parsed(CHROMIUM_OFFER).media[0]!.attributes, 'ice-ufrag'),
  );
  assert.equal(result.remote.setup, 'actpass');
  assert.equal(result.dtlsRole, 'server');
  assert.equal(result.sections[1]?.accepted, true);
  assert.equal(result.sections[2]?.accepted, false);
});

test('without an offered BUNDLE group only the first acceptable section is accepted, and no group is added', () => {
  const unbundled = CHROMIUM_OFFER.split('\r\n')
    .filter((line) => !line.startsWith('a=group:'))
    .join('\r\n');
  const result = buildAnswer(unbundled, {
    usernameFragment: 'ourUfragXYZ1',
    password: 'ourPasswordThatIsLongEnough1234',
    fingerprint: { algorithm: 'sha-256', value: 'AA:BB' },
    preferredDtlsRole: 'client',
    candidates: [],
  });
  assert.deepEqual(
    result.sections.map((s) => s.accepted),
    [true, false, false],
  );
  const answer = parsed(result.sdp);
  assert.equal(findAttribute(answer.attributes, 'group'), undefined);
  assert.equal(answer.media[1]!.port, 0);
  assert.equal(findAttribute(answer.media[0]!.attributes, 'setup'), 'active');
});

// libwebrtc (wrtc) can segfault in its teardown at natural process exit; exit explicitly once
// the test runner has reported (its beforeExit handler was registered first).
process.on('beforeExit', () => process.exit(process.exitCode ?? 0));
