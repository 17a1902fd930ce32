// RtpView against werift@0.24.4's RtpPacket (both directions), in-place rewrites, extension
// helpers, malformed input and fuzzing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { RtpHeader, RtpPacket, unwrapRtx, wrapRtx } from 'werift';
import {
  absSendTimeFromMs,
  buildRtpPacket,
  buildRtxPacket,
  EXTENSION_PROFILE_ONE_BYTE,
  EXTENSION_PROFILE_TWO_BYTE,
  looksLikeRtp,
  RtpError,
  RtpView,
  rebuildRtpPacket,
  rtxToOriginal,
} from '../../src/wire/rtp/rtp.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function extensionsOf(view: RtpView): { id: number; value: string }[] {
  const out: { id: number; value: string }[] = [];
  view.forEachExtension((id, at, len) => out.push({ id, value: view.buf.toString('hex', at, at + len) }));
  return out;
}

test('werift-built packets parse identically (one-byte, two-byte, CSRCs, padding)', () => {
  const rand = rng(7);
  const view = new RtpView();
  for (let i = 0; i < 500; i++) {
    const twoByte = rand() < 0.3;
    const extensions = [];
    const count = Math.floor(rand() * 4);
    for (let e = 0; e < count; e++) {
      const id = twoByte ? 1 + Math.floor(rand() * 255) : 1 + Math.floor(rand() * 14);
      const len = twoByte ? Math.floor(rand() * 20) : 1 + Math.floor(rand() * 16);
      extensions.push({ id, payload: randomBytes(len) });
    }
    const csrc = rand() < 0.3 ? [1, 2, 3].slice(0, 1 + Math.floor(rand() * 3)) : [];
    const header = new RtpHeader({
      payloadType: Math.floor(rand() * 128),
      sequenceNumber: Math.floor(rand() * 65536),
      timestamp: Math.floor(rand() * 2 ** 32),
      ssrc: Math.floor(rand() * 2 ** 32),
      marker: rand() < 0.5,
      csrc,
      csrcLength: csrc.length,
      extension: extensions.length > 0,
      extensionProfile: twoByte ? EXTENSION_PROFILE_TWO_BYTE : EXTENSION_PROFILE_ONE_BYTE,
      extensions,
    });
    const payload = randomBytes(Math.floor(rand() * 300));
    const wire = new RtpPacket(header, payload).serialize();
    assert.equal(view.reset(wire), RtpError.Ok, `packet ${i}`);
    const back = RtpPacket.deSerialize(wire);
    assert.equal(view.version, 2);
    assert.equal(view.marker, back.header.marker);
    assert.equal(view.payloadType, back.header.payloadType);
    assert.equal(view.sequenceNumber, back.header.sequenceNumber);
    assert.equal(view.timestamp, back.header.timestamp);
    assert.equal(view.ssrc, back.header.ssrc);
    assert.equal(view.csrcCount, csrc.length);
    for (let c = 0; c < csrc.length; c++) assert.equal(view.csrc(c), csrc[c]);
    assert.deepEqual(view.payload(), payload);
    const ours = extensionsOf(view);
    assert.deepEqual(
      ours,
      back.header.extensions.map((e) => ({ id: e.id, value: e.payload.toString('hex') })),
    );
    for (const e of extensions) {
      const at = view.findExtension(e.id);
      assert.ok(at >= 0);
    }
  }
});

test('our packets parse identically in werift', () => {
  const rand = rng(11);
  for (let i = 0; i < 300; i++) {
    const extensions = [];
    for (let e = 0; e < Math.floor(rand() * 4); e++) {
      extensions.push({
        id: 1 + e * 3,
        value: randomBytes(1 + Math.floor(rand() * (rand() < 0.2 ? 40 : 16))),
      });
    }
    const fields = {
      payloadType: Math.floor(rand() * 128),
      sequenceNumber: Math.floor(rand() * 65536),
      timestamp: Math.floor(rand() * 2 ** 32),
      ssrc: Math.floor(rand() * 2 ** 32),
      marker: rand() < 0.5,
      csrcs: rand() < 0.3 ? [0xdeadbeef] : [],
      extensions,
    };
    const payload = randomBytes(1 + Math.floor(rand() * 300));
    const wire = buildRtpPacket(fields, payload);
    const w = RtpPacket.deSerialize(wire);
    assert.equal(w.header.payloadType, fields.payloadType);
    assert.equal(w.header.sequenceNumber, fields.sequenceNumber);
    assert.equal(w.header.timestamp, fields.timestamp);
    assert.equal(w.header.ssrc, fields.ssrc);
    assert.equal(w.header.marker, fields.marker);
    assert.deepEqual(w.header.csrc, fields.csrcs);
    assert.deepEqual(
      w.header.extensions.map((e) => [e.id, e.payload.toString('hex')]),
      extensions.map((e) => [e.id, e.value.toString('hex')]),
    );
    assert.deepEqual(w.payload, payload);
  }
  // Padding: werift strips it from the payload as we do.
  const padded = buildRtpPacket(
    { payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, padding: 7 },
    Buffer.from('abcd'),
  );
  const view = new RtpView();
  assert.equal(view.reset(padded), RtpError.Ok);
  assert.equal(view.paddingLength, 7);
  assert.deepEqual(view.payload(), Buffer.from('abcd'));
  assert.deepEqual(RtpPacket.deSerialize(padded).payload, Buffer.from('abcd'));
});

test('in-place rewrite of SSRC, sequence, timestamp, payload type, marker and extension ids', () => {
  const wire = buildRtpPacket(
    {
      payloadType: 111,
      sequenceNumber: 100,
      timestamp: 5000,
      ssrc: 1,
      marker: false,
      extensions: [
        { id: 1, value: Buffer.from('0') }, // mid
        { id: 3, value: Buffer.from([0x12, 0x34, 0x56]) }, // abs-send-time
        { id: 5, value: Buffer.from([0x00, 0x07]) }, // transport-wide seq
        { id: 10, value: Buffer.from([0x80 | 30]) }, // audio level, voice
      ],
    },
    Buffer.from('payload'),
  );
  const view = new RtpView();
  assert.equal(view.reset(wire), RtpError.Ok);
  view.setSsrc(0xfeedface);
  view.setSequenceNumber(70000);
  view.setTimestamp(2 ** 32 + 5);
  view.setPayloadType(100);
  view.setMarker(true);
  // Remap the browser's ids to the router's: 3 → 4 (abs-send-time), 5 → 7, drop 10.
  const table = new Uint8Array(256);
  table[1] = 1;
  table[3] = 4;
  table[5] = 7;
  assert.ok(view.remapExtensionIds(table));
  const w = RtpPacket.deSerialize(wire);
  assert.equal(w.header.ssrc, 0xfeedface);
  assert.equal(w.header.sequenceNumber, 70000 & 0xffff);
  assert.equal(w.header.timestamp, 5);
  assert.equal(w.header.payloadType, 100);
  assert.equal(w.header.marker, true);
  assert.deepEqual(
    w.header.extensions.map((e) => [e.id, e.payload.toString('hex')]),
    [
      [1, '30'],
      [4, '123456'],
      [7, '0007'],
    ],
  );
  assert.deepEqual(w.payload, Buffer.from('payload'));
  // Extension helpers on the rewritten packet.
  assert.equal(view.readStringExtension(1), '0');
  assert.equal(view.readAbsSendTime(4), 0x123456);
  assert.ok(view.writeAbsSendTime(4, absSendTimeFromMs(1000)));
  assert.equal(view.readAbsSendTime(4), 1 << 18);
  assert.equal(view.readTransportWideSeq(7), 7);
  assert.ok(view.writeTransportWideSeq(7, 65535));
  assert.equal(view.readTransportWideSeq(7), 65535);
  assert.equal(view.findExtension(10), -1);
  const level = { level: 0, voice: false };
  assert.equal(view.readAudioLevel(10, level), false);
  const audio = buildRtpPacket(
    {
      payloadType: 111,
      sequenceNumber: 1,
      timestamp: 1,
      ssrc: 1,
      extensions: [{ id: 10, value: Buffer.from([0x80 | 42]) }],
    },
    Buffer.alloc(10),
  );
  view.reset(audio);
  assert.ok(view.readAudioLevel(10, level));
  assert.deepEqual(level, { level: 42, voice: true });
  // Two-byte form with a RID longer than 16 bytes.
  const twoByte = buildRtpPacket(
    {
      payloadType: 96,
      sequenceNumber: 1,
      timestamp: 1,
      ssrc: 1,
      extensions: [{ id: 2, value: Buffer.from('a-rid-longer-than-16-bytes') }],
    },
    Buffer.alloc(4),
  );
  view.reset(twoByte);
  assert.equal(view.extensionProfile, EXTENSION_PROFILE_TWO_BYTE);
  assert.equal(view.readStringExtension(2), 'a-rid-longer-than-16-bytes');
});

test('malformed packets return error codes', () => {
  const view = new RtpView();
  assert.equal(view.reset(Buffer.alloc(0)), RtpError.TooShort);
  assert.equal(view.reset(Buffer.alloc(11, 0x80)), RtpError.TooShort);
  assert.equal(view.reset(Buffer.alloc(12, 0x40)), RtpError.BadVersion);
  const ok = buildRtpPacket({ payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1 }, Buffer.alloc(8));
  const csrc = Buffer.from(ok);
  csrc[0] = 0x8f; // 15 CSRCs do not fit
  assert.equal(view.reset(csrc), RtpError.CsrcOverflow);
  const ext = Buffer.from(ok);
  ext[0] = 0x90;
  ext.writeUInt16BE(0xbede, 12);
  ext.writeUInt16BE(100, 14);
  assert.equal(view.reset(ext), RtpError.ExtensionOverflow);
  const pad = Buffer.from(ok);
  pad[0] = 0xa0;
  pad[pad.length - 1] = 0;
  assert.equal(view.reset(pad), RtpError.BadPadding);
  pad[pad.length - 1] = 200;
  assert.equal(view.reset(pad), RtpError.BadPadding);
  assert.equal(view.reset(ok, 4, 100), RtpError.BadRange);
  assert.equal(view.reset(ok, -1), RtpError.BadRange);
  assert.ok(looksLikeRtp(ok));
  assert.ok(!looksLikeRtp(Buffer.from('80c8000600000001000000000000000000000000000000000000', 'hex')));
  // A view at an offset inside a bigger buffer.
  const big = Buffer.concat([Buffer.alloc(5), ok, Buffer.alloc(3)]);
  assert.equal(view.reset(big, 5, ok.length), RtpError.Ok);
  assert.equal(view.payloadOffset, 17);
  assert.equal(view.payloadLength, 8);
});

test('fuzz: reset, findExtension, remap and helpers never throw', () => {
  const view = new RtpView();
  const table = new Uint8Array(256).map((_, i) => (i * 7) % 15);
  const seed = buildRtpPacket(
    {
      payloadType: 96,
      sequenceNumber: 1,
      timestamp: 1,
      ssrc: 1,
      csrcs: [5],
      extensions: [
        { id: 1, value: Buffer.from('m') },
        { id: 3, value: Buffer.from([1, 2, 3]) },
        { id: 5, value: Buffer.from([0, 1]) },
      ],
      padding: 3,
    },
    Buffer.alloc(30, 1),
  );
  const level = { level: 0, voice: false };
  const started = Date.now();
  let valid = 0;
  for (let i = 0; i < 30000 && Date.now() - started < 15_000; i++) {
    let input: Buffer;
    if (i % 3 === 0) {
      input = randomBytes(Math.floor(Math.random() * 64));
      if (input.length > 0) input[0] = 0x80 | (input[0]! & 0x3f);
    } else if (i % 3 === 1) {
      input = Buffer.from(seed);
      for (let f = 0; f < 1 + (i % 3); f++) {
        const bit = Math.floor(Math.random() * input.length * 8);
        input[bit >> 3] = input[bit >> 3]! ^ (1 << (bit & 7));
      }
    } else input = Buffer.from(seed.subarray(0, Math.floor(Math.random() * seed.length)));
    if (view.reset(input) !== RtpError.Ok) continue;
    valid++;
    for (let id = 0; id < 16; id++) view.findExtension(id);
    view.readStringExtension(1);
    view.readAbsSendTime(3);
    view.readTransportWideSeq(5);
    view.readAudioLevel(4, level);
    view.forEachExtension(() => {});
    view.remapExtensionIds(table);
    view.setSequenceNumber(i);
    assert.ok(view.payloadOffset + view.payloadLength + view.paddingLength <= input.length);
  }
  assert.ok(valid > 100);
});

test('writeExtension rewrites in place (shrinking with padding); rebuildRtpPacket grows', () => {
  const wire = buildRtpPacket(
    {
      payloadType: 96,
      sequenceNumber: 9,
      timestamp: 10,
      ssrc: 11,
      csrcs: [12],
      extensions: [
        { id: 1, value: Buffer.from('12') },
        { id: 5, value: Buffer.from([0, 7]) },
      ],
      padding: 3,
    },
    Buffer.from('media'),
  );
  const view = new RtpView();
  assert.equal(view.reset(wire), RtpError.Ok);
  assert.ok(view.writeExtension(1, Buffer.from('7')));
  assert.equal(view.readStringExtension(1), '7');
  assert.ok(!view.writeExtension(1, Buffer.from('123')));
  assert.ok(!view.writeExtension(9, Buffer.from('1')));
  // werift sees a well-formed block: MID "7", then the padding byte is skipped, then id 5.
  const w = RtpPacket.deSerialize(wire);
  assert.deepEqual(
    w.header.extensions.map((e) => [e.id, e.payload.toString('hex')]),
    [
      [1, '37'],
      [5, '0007'],
    ],
  );
  const grown = rebuildRtpPacket(view, [
    { id: 1, value: Buffer.from('123') },
    { id: 5, value: Buffer.from([0, 7]) },
  ]);
  const g = new RtpView();
  assert.equal(g.reset(grown), RtpError.Ok);
  assert.equal(g.readStringExtension(1), '123');
  assert.equal(g.readTransportWideSeq(5), 7);
  assert.deepEqual([g.ssrc, g.sequenceNumber, g.timestamp, g.csrc(0), g.paddingLength], [11, 9, 10, 12, 3]);
  assert.deepEqual(g.payload(), Buffer.from('media'));
  assert.deepEqual(RtpPacket.deSerialize(grown).payload, Buffer.from('media'));
});

test('RTX (RFC 4588): wrap identical to werift, unwrap in place back to the original bytes', () => {
  const rand = rng(5);
  const view = new RtpView();
  for (let i = 0; i < 200; i++) {
    const original = buildRtpPacket(
      {
        payloadType: 96,
        sequenceNumber: Math.floor(rand() * 65536),
        timestamp: Math.floor(rand() * 2 ** 32),
        ssrc: 0x1111,
        marker: rand() < 0.5,
        extensions:
          rand() < 0.7
            ? [
                { id: 1, value: Buffer.from('0') },
                { id: 5, value: Buffer.from([1, 2]) },
              ]
            : [],
      },
      randomBytes(2 + Math.floor(rand() * 1000)),
    );
    assert.equal(view.reset(original), RtpError.Ok);
    const rtxSeq = Math.floor(rand() * 65536);
    const rtx = buildRtxPacket(view, 0x2222, 97, rtxSeq);
    const theirs = wrapRtx(RtpPacket.deSerialize(original), 97, rtxSeq, 0x2222).serialize();
    assert.equal(rtx.toString('hex'), theirs.toString('hex'));
    // Unwrap in place inside a bigger buffer; werift's unwrap agrees.
    const holder = Buffer.concat([Buffer.alloc(3), rtx]);
    const v = new RtpView();
    assert.equal(v.reset(holder, 3, rtx.length), RtpError.Ok);
    assert.ok(rtxToOriginal(v, 0x1111, 96));
    assert.equal(v.offset, 5);
    assert.deepEqual(holder.subarray(v.offset, v.offset + v.length), original);
    // werift's unwrap drops header extensions, so only its payload and key fields are compared.
    const w = unwrapRtx(RtpPacket.deSerialize(rtx), 96, 0x1111);
    assert.deepEqual(w.payload, view.payload());
    assert.deepEqual(
      [w.header.sequenceNumber, w.header.ssrc, w.header.payloadType],
      [v.sequenceNumber, v.ssrc, v.payloadType],
    );
  }
  // A padding-only RTX probe has no OSN.
  const probe = buildRtpPacket(
    { payloadType: 97, sequenceNumber: 1, timestamp: 1, ssrc: 0x2222, padding: 200 },
    Buffer.alloc(0),
  );
  assert.equal(view.reset(probe), RtpError.Ok);
  assert.equal(rtxToOriginal(view, 0x1111, 96), false);
});
