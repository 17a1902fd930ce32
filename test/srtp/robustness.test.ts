// ROC estimation across the wrap (reordering, loss bursts), replay window, forged and
// truncated packets, bounded SSRC state, and fuzzing of every unprotect/protect entry point.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  estimateSrtpIndex,
  REPLAY_WINDOW_SIZE,
  SRTP_PROFILES,
  SrtpContext,
  SrtpError,
  type SrtpProfileName,
  SrtpSession,
  srtpKeysFromKeyingMaterial,
} from '../../src/transport/srtp/index.js';
import { buildRtpPacket } from '../../src/wire/rtp/rtp.js';

const PROFILES = Object.keys(SRTP_PROFILES) as SrtpProfileName[];

function pair(profile: SrtpProfileName, maxSsrcs?: number): { tx: SrtpContext; rx: SrtpContext } {
  const p = SRTP_PROFILES[profile];
  const masterKey = randomBytes(p.keyLength);
  const masterSalt = randomBytes(p.saltLength);
  const extra = maxSsrcs !== undefined ? { maxSsrcs } : {};
  return {
    tx: new SrtpContext({ profile, masterKey, masterSalt, ...extra }),
    rx: new SrtpContext({ profile, masterKey, masterSalt, ...extra }),
  };
}

function rtp(seq: number, ssrc = 0x5eed, size = 50): Buffer {
  const payload = Buffer.alloc(size, seq & 0xff);
  return buildRtpPacket(
    { payloadType: 111, sequenceNumber: seq & 0xffff, timestamp: seq * 960, ssrc },
    payload,
  );
}

function protect(tx: SrtpContext, pkt: Buffer): Buffer {
  const out = tx.protectRtp(pkt);
  assert.ok(Buffer.isBuffer(out));
  return Buffer.from(out);
}

test('estimateSrtpIndex follows RFC 3711 §3.3.1', () => {
  assert.equal(estimateSrtpIndex(-1, 7), 7);
  assert.equal(estimateSrtpIndex(65535, 0), 65536);
  assert.equal(estimateSrtpIndex(65536 + 2, 65534), 65534);
  assert.equal(estimateSrtpIndex(65536 * 3 + 40000, 5000), 65536 * 4 + 5000);
  assert.equal(estimateSrtpIndex(100, 65000), 65000); // ROC 0 cannot go back
});

for (const profile of PROFILES) {
  test(`${profile}: reordering around the wrap, then a 5000-packet loss burst across the next wrap`, () => {
    const { tx, rx } = pair(profile);
    const sent = new Map<number, Buffer>();
    // Sender emits 65500..65535, 0..300 (ROC 0 → 1).
    for (let i = 65500; i < 65536 + 300; i++) sent.set(i, protect(tx, rtp(i)));
    // Receiver: in order until 65530, then a scrambled window around the wrap.
    const order: number[] = [];
    for (let i = 65500; i <= 65530; i++) order.push(i);
    order.push(65536, 65532, 65537, 65531, 65535, 65538, 65533, 65534);
    for (let i = 65539; i < 65536 + 300; i++) order.push(i);
    for (const index of order) {
      const plain = rx.unprotectRtp(Buffer.from(sent.get(index)!));
      assert.ok(Buffer.isBuffer(plain), `index ${index} → ${String(plain)}`);
      assert.deepEqual(plain, rtp(index));
    }
    assert.equal(rx.highestRtpIndex(0x5eed), 65536 + 299);
    // Burst: the sender keeps going to the next wrap (ROC 1 → 2); the receiver loses 5000
    // packets straddling it, then gets the rest.
    const burstStart = 2 * 65536 - 2500;
    for (let i = 65536 + 300; i < 2 * 65536 + 3000; i++) {
      const wire = protect(tx, rtp(i));
      if (i >= burstStart && i < burstStart + 5000) continue;
      if (i % 97 !== 0 && i < burstStart + 5000 + 20 && i > burstStart - 20) {
        // deliver nothing special: just the packets around the burst edges
      }
      if (i > burstStart - 50 || i % 1000 === 0) {
        const plain = rx.unprotectRtp(wire);
        assert.ok(Buffer.isBuffer(plain), `after burst: index ${i} → ${String(plain)}`);
        assert.equal(plain.readUInt16BE(2), i & 0xffff);
      }
    }
    assert.equal(Math.floor(rx.highestRtpIndex(0x5eed) / 65536), 2);
    assert.equal(rx.counters.authFailed, 0);
  });

  test(`${profile}: a gap longer than 2^15 packets resynchronises the ROC instead of losing the stream`, () => {
    const { tx, rx } = pair(profile);
    for (let i = 0; i < 10; i++) assert.ok(Buffer.isBuffer(rx.unprotectRtp(protect(tx, rtp(i)))));
    // 40000 packets lost: the §3.3.1 estimate picks ROC-1 style guesses; the tag decides.
    for (let i = 10; i < 40010; i++) tx.protectRtp(rtp(i));
    for (let i = 40010; i < 40020; i++) {
      const plain = rx.unprotectRtp(protect(tx, rtp(i)));
      assert.ok(Buffer.isBuffer(plain), `index ${i} → ${String(plain)}`);
    }
    // And across a wrap after a 50000-packet gap.
    for (let i = 40020; i < 90020; i++) tx.protectRtp(rtp(i));
    const plain = rx.unprotectRtp(protect(tx, rtp(90020)));
    assert.ok(Buffer.isBuffer(plain));
    assert.equal(rx.highestRtpIndex(0x5eed), 90020);
    assert.ok(rx.counters.rocResync >= 1);
  });

  test(`${profile}: replayed, too old, forged and truncated packets are dropped and counted`, () => {
    const { tx, rx } = pair(profile);
    const wires: Buffer[] = [];
    for (let i = 0; i < 300; i++) wires.push(protect(tx, rtp(1000 + i)));
    for (let i = 150; i < 300; i++) assert.ok(Buffer.isBuffer(rx.unprotectRtp(Buffer.from(wires[i]!))));
    // Same packet twice.
    assert.equal(rx.unprotectRtp(Buffer.from(wires[299]!)), SrtpError.Replayed);
    assert.equal(rx.unprotectRtp(Buffer.from(wires[200]!)), SrtpError.Replayed);
    // Older than the window.
    assert.equal(rx.unprotectRtp(Buffer.from(wires[299 - REPLAY_WINDOW_SIZE]!)), SrtpError.TooOld);
    // Inside the window and never seen: accepted once.
    const { tx: tx2, rx: rx2 } = pair(profile);
    const a = protect(tx2, rtp(10));
    const b = protect(tx2, rtp(20));
    assert.ok(Buffer.isBuffer(rx2.unprotectRtp(Buffer.from(b))));
    assert.ok(Buffer.isBuffer(rx2.unprotectRtp(Buffer.from(a))));
    assert.equal(rx2.unprotectRtp(Buffer.from(a)), SrtpError.Replayed);
    // Forged: a flipped tag bit or payload bit; the input buffer stays untouched.
    const next = protect(tx, rtp(1300));
    const forged = Buffer.from(next);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0x01;
    const forgedCopy = Buffer.from(forged);
    assert.equal(rx.unprotectRtp(forged), SrtpError.AuthFailed);
    assert.deepEqual(forged, forgedCopy);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0x01;
    forged[14] = forged[14]! ^ 0x80;
    assert.equal(rx.unprotectRtp(forged), SrtpError.AuthFailed);
    // The genuine packet still decrypts after the forgeries.
    assert.deepEqual(rx.unprotectRtp(Buffer.from(next)), rtp(1300));
    // Truncated at every length.
    const t = protect(tx, rtp(1301));
    for (let cut = 0; cut < t.length; cut++) {
      const r = rx.unprotectRtp(Buffer.from(t.subarray(0, cut)));
      assert.ok(r === SrtpError.Malformed || r === SrtpError.AuthFailed, `cut ${cut} → ${String(r)}`);
    }
    const c = rx.counters;
    assert.equal(c.replayed, 2);
    assert.equal(c.tooOld, 1);
    assert.ok(c.authFailed >= 2);
    assert.ok(c.malformed >= 12);
  });

  test(`${profile}: SRTCP replay, forgery and truncation`, () => {
    const { tx, rx } = pair(profile);
    const rr = Buffer.from('81c90007000000010000000200000000000000000000000000000000', 'hex');
    const wires: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      const w = tx.protectRtcp(rr);
      assert.ok(Buffer.isBuffer(w));
      wires.push(Buffer.from(w));
    }
    assert.deepEqual(rx.unprotectRtcp(Buffer.from(wires[1]!)), rr);
    assert.deepEqual(rx.unprotectRtcp(Buffer.from(wires[0]!)), rr);
    assert.equal(rx.unprotectRtcp(Buffer.from(wires[0]!)), SrtpError.Replayed);
    const forged = Buffer.from(wires[2]!);
    forged[9] = forged[9]! ^ 4;
    assert.equal(rx.unprotectRtcp(forged), SrtpError.AuthFailed);
    // Flipping the E flag or index is caught by authentication too.
    const flag = Buffer.from(wires[3]!);
    const trailerAt = SRTP_PROFILES[profile].aead ? flag.length - 4 : flag.length - 14;
    flag[trailerAt] = flag[trailerAt]! ^ 0x80;
    assert.equal(rx.unprotectRtcp(flag), SrtpError.AuthFailed);
    for (let cut = 0; cut < wires[4]!.length; cut++) {
      assert.equal(typeof rx.unprotectRtcp(Buffer.from(wires[4]!.subarray(0, cut))), 'number');
    }
    assert.deepEqual(rx.unprotectRtcp(Buffer.from(wires[4]!)), rr);
  });
}

test('SSRC state is bounded; forged packets create no state; removeSsrc frees a slot', () => {
  const { tx, rx } = pair('AEAD_AES_128_GCM', 4);
  for (let ssrc = 1; ssrc <= 2; ssrc++)
    assert.ok(Buffer.isBuffer(rx.unprotectRtp(protect(tx, rtp(1, ssrc)))));
  const { tx: other } = pair('AEAD_AES_128_GCM');
  // Packets under 1000 new SSRCs that do not authenticate: rejected, no state created.
  for (let ssrc = 100; ssrc < 1100; ssrc++) {
    assert.equal(rx.unprotectRtp(protect(other, rtp(1, ssrc))), SrtpError.AuthFailed);
  }
  assert.equal(rx.ssrcCount, 2);
  for (let ssrc = 3; ssrc <= 4; ssrc++)
    assert.ok(Buffer.isBuffer(rx.unprotectRtp(protect(tx, rtp(1, ssrc)))));
  // Full: a fifth SSRC is refused on both sides, before any crypto, leaving the input untouched.
  assert.equal(tx.protectRtp(rtp(1, 5)), SrtpError.SsrcLimit);
  const { tx: tx5 } = pair('AEAD_AES_128_GCM');
  const wire5 = protect(tx5, rtp(1, 5));
  const copy5 = Buffer.from(wire5);
  assert.equal(rx.unprotectRtp(wire5), SrtpError.SsrcLimit);
  assert.deepEqual(wire5, copy5);
  assert.equal(
    rx.unprotectRtcp(
      Buffer.from(tx5.protectRtcp(Buffer.from(`81c9000700000005${'0'.repeat(48)}`, 'hex')) as Buffer),
    ),
    SrtpError.SsrcLimit,
  );
  assert.equal(rx.counters.ssrcLimit, 2);
  tx.removeSsrc(4);
  rx.removeSsrc(4);
  const w = protect(tx, rtp(1, 5));
  assert.ok(Buffer.isBuffer(rx.unprotectRtp(w)));
  assert.equal(rx.ssrcCount, 4);
  // The allocation-free variant: plaintext length, or the negated error code.
  const again = protect(tx, rtp(2, 5));
  assert.equal(rx.unprotectRtpInPlace(again), rtp(2, 5).length);
  assert.equal(rx.unprotectRtpInPlace(protect(tx, rtp(2, 5))), -SrtpError.Replayed);
});

test('SrtpSession from DTLS keying material: client and server talk both ways', () => {
  for (const profile of PROFILES) {
    const p = SRTP_PROFILES[profile];
    const material = randomBytes(2 * (p.keyLength + p.saltLength));
    const c = srtpKeysFromKeyingMaterial(material, profile, 'client');
    const s = srtpKeysFromKeyingMaterial(material, profile, 'server');
    const client = new SrtpSession({ profile, ...c });
    const server = new SrtpSession({ profile, ...s });
    const up = client.protectRtp(rtp(5));
    assert.ok(Buffer.isBuffer(up));
    assert.deepEqual(server.unprotectRtp(Buffer.from(up)), rtp(5));
    const down = server.protectRtcp(
      Buffer.from('80c8000600000009000000000000000000000000000000000000', 'hex'),
    );
    assert.ok(Buffer.isBuffer(down));
    assert.ok(Buffer.isBuffer(client.unprotectRtcp(Buffer.from(down))));
    // Keys are directional: the client cannot read its own output.
    const own = client.protectRtp(rtp(6));
    assert.ok(Buffer.isBuffer(own));
    assert.equal(client.unprotectRtp(Buffer.from(own)), SrtpError.AuthFailed);
  }
});

test('fuzz: random, bit-flipped and truncated input never throws and is never accepted', () => {
  const started = Date.now();
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (const profile of PROFILES) {
    const { tx, rx } = pair(profile);
    const valid: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const p = buildRtpPacket(
        {
          payloadType: 96,
          sequenceNumber: i,
          timestamp: i,
          ssrc: 77,
          extensions: i % 2 ? [{ id: 3, value: Buffer.from([1, 2, 3]) }] : [],
          csrcs: i % 3 ? [] : [9, 10],
          padding: i % 5 === 0 ? 4 : 0,
        },
        randomBytes(Math.floor(rand() * 200)),
      );
      valid.push(protect(tx, p));
    }
    const rtcpValid = Buffer.from(
      tx.protectRtcp(
        Buffer.from('81c900070000004d0000000200000000000000000000000000000000', 'hex'),
      ) as Buffer,
    );
    for (let iter = 0; iter < 3000 && Date.now() - started < 20_000; iter++) {
      // Random bytes, biased to look like RTP/RTCP.
      const junk = randomBytes(Math.floor(rand() * 120));
      if (junk.length > 0 && rand() < 0.7) junk[0] = 0x80 | (junk[0]! & 0x3f);
      assert.equal(typeof rx.unprotectRtp(Buffer.from(junk)), 'number');
      assert.equal(typeof rx.unprotectRtcp(Buffer.from(junk)), 'number');
      tx.protectRtp(junk);
      tx.protectRtcp(junk);
      // One or more bit flips of a valid packet: always rejected.
      const src = iter % 2 ? valid[iter % valid.length]! : rtcpValid;
      const m = Buffer.from(src);
      const flips = 1 + Math.floor(rand() * 3);
      for (let f = 0; f < flips; f++) {
        const bit = Math.floor(rand() * m.length * 8);
        m[bit >> 3] = m[bit >> 3]! ^ (1 << (bit & 7));
      }
      if (m.equals(src)) continue;
      const r = src === rtcpValid ? rx.unprotectRtcp(m) : rx.unprotectRtp(m);
      assert.equal(typeof r, 'number', `${profile}: mutated packet accepted`);
      // Truncation.
      const cut = Buffer.from(src.subarray(0, Math.floor(rand() * src.length)));
      assert.equal(typeof (src === rtcpValid ? rx.unprotectRtcp(cut) : rx.unprotectRtp(cut)), 'number');
    }
    // The genuine packets still all decrypt afterwards.
    for (const v of valid) assert.ok(Buffer.isBuffer(rx.unprotectRtp(Buffer.from(v))));
  }
});

test('protect with an explicit length equals protecting the exact packet', () => {
  for (const profile of PROFILES) {
    const p = SRTP_PROFILES[profile];
    const masterKey = randomBytes(p.keyLength);
    const masterSalt = randomBytes(p.saltLength);
    const a = new SrtpContext({ profile, masterKey, masterSalt });
    const b = new SrtpContext({ profile, masterKey, masterSalt });
    const packet = rtp(77, 0xabc, 300);
    const roomy = Buffer.concat([packet, randomBytes(100)]);
    assert.deepEqual(a.protectRtp(roomy, packet.length), b.protectRtp(packet));
    const rr = Buffer.from(`81c9000700000abc${'11'.repeat(24)}`, 'hex');
    assert.deepEqual(a.protectRtcp(Buffer.concat([rr, randomBytes(9)]), rr.length), b.protectRtcp(rr));
    for (const bad of [-1, packet.length + 101, 1.5, Number.NaN]) {
      assert.equal(a.protectRtp(roomy, bad), SrtpError.Malformed);
      assert.equal(a.protectRtcp(roomy, bad), SrtpError.Malformed);
    }
  }
});

test('protectRtpParts (header + shared payload) equals protecting the assembled packet', () => {
  for (const profile of PROFILES) {
    const p = SRTP_PROFILES[profile];
    const masterKey = randomBytes(p.keyLength);
    const masterSalt = randomBytes(p.saltLength);
    const a = new SrtpContext({ profile, masterKey, masterSalt });
    const b = new SrtpContext({ profile, masterKey, masterSalt });
    const rx = new SrtpContext({ profile, masterKey, masterSalt });
    for (let seq = 65530; seq < 65545; seq++) {
      const packet = buildRtpPacket(
        {
          payloadType: 96,
          sequenceNumber: seq & 0xffff,
          timestamp: seq,
          ssrc: 9,
          extensions: [{ id: 1, value: Buffer.from('7') }],
          padding: 4,
        },
        randomBytes(200),
      );
      const headerLength = 12 + 8;
      const parts = a.protectRtpParts(packet.subarray(0, headerLength), packet.subarray(headerLength));
      assert.deepEqual(parts, b.protectRtp(packet));
      assert.deepEqual(rx.unprotectRtp(Buffer.from(parts as Buffer)), packet);
    }
    // A header that is not exactly one RTP header is refused.
    assert.equal(a.protectRtpParts(Buffer.alloc(11, 0x80), Buffer.alloc(10)), SrtpError.Malformed);
    assert.equal(a.protectRtpParts(rtp(1).subarray(0, 16), Buffer.alloc(10)), SrtpError.Malformed);
  }
});
