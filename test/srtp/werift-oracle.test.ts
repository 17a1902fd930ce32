// Byte-for-byte comparison with werift@0.24.4's SRTP/SRTCP (an implementation we did not write),
// and cross-decryption both ways. werift has AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM; the
// _32 profile is checked as the _80 output with the RTP tag cut to its first 32 bits.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { RtpHeader, SrtcpSession, SrtpSession as WeriftSrtpSession } from 'werift';
import { SrtpContext, type SrtpProfileName } from '../../src/transport/srtp/index.js';
import { buildRtpPacket } from '../../src/wire/rtp/rtp.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomRtp(rand: () => number, seq: number, ssrc: number): Buffer {
  const extensions = [];
  if (rand() < 0.5)
    extensions.push({ id: 1 + Math.floor(rand() * 14), value: randomBytes(1 + Math.floor(rand() * 16)) });
  const csrcs = rand() < 0.2 ? [Math.floor(rand() * 2 ** 32)] : [];
  return buildRtpPacket(
    {
      payloadType: 96 + Math.floor(rand() * 30),
      sequenceNumber: seq,
      timestamp: Math.floor(rand() * 2 ** 32),
      ssrc,
      marker: rand() < 0.1,
      csrcs,
      extensions,
    },
    randomBytes(1 + Math.floor(rand() * 1200)),
  );
}

function weriftPair(weriftProfile: 1 | 7, key: Buffer, salt: Buffer) {
  const keys = { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt };
  return {
    rtp: new WeriftSrtpSession({ keys, profile: weriftProfile }),
    rtcp: new SrtcpSession({ keys, profile: weriftProfile }),
  };
}

const CASES: { profile: SrtpProfileName; werift: 1 | 7; rtpTag: number }[] = [
  { profile: 'AES_CM_128_HMAC_SHA1_80', werift: 1, rtpTag: 10 },
  { profile: 'AES_CM_128_HMAC_SHA1_32', werift: 1, rtpTag: 4 },
  { profile: 'AEAD_AES_128_GCM', werift: 7, rtpTag: 16 },
];

for (const c of CASES) {
  test(`${c.profile}: SRTP identical to werift over 3000 random packets across the sequence wrap`, () => {
    const rand = rng(c.werift * 77 + c.rtpTag);
    const key = randomBytes(16);
    const salt = randomBytes(c.werift === 7 ? 12 : 14);
    const ours = new SrtpContext({ profile: c.profile, masterKey: key, masterSalt: salt });
    const oursRx = new SrtpContext({ profile: c.profile, masterKey: key, masterSalt: salt });
    const werift = weriftPair(c.werift, key, salt);
    const weriftRx = weriftPair(c.werift, key, salt);
    const ssrcs = [0x11223344, 0xfffffffe, 1];
    const seqs = [65000, 65535, 100];
    for (let i = 0; i < 3000; i++) {
      const s = i % 3;
      const seq = (seqs[s]! + Math.floor(i / 3)) & 0xffff;
      const pkt = randomRtp(rand, seq, ssrcs[s]!);
      const header = RtpHeader.deSerialize(pkt);
      const theirs = werift.rtp.encrypt(pkt.subarray(header.payloadOffset), header);
      const mine = ours.protectRtp(pkt);
      assert.ok(Buffer.isBuffer(mine));
      const expected =
        c.rtpTag === 16 || c.rtpTag === 10 ? theirs : theirs.subarray(0, pkt.length + c.rtpTag);
      assert.equal(mine.toString('hex'), expected.toString('hex'), `packet ${i} seq ${seq}`);
      if (c.rtpTag !== 4) {
        // werift decrypts ours; we decrypt werift's.
        assert.deepEqual(weriftRx.rtp.decrypt(Buffer.from(mine)), pkt);
        assert.deepEqual(oursRx.unprotectRtp(Buffer.from(theirs)), pkt);
      } else assert.deepEqual(oursRx.unprotectRtp(Buffer.from(mine)), pkt);
    }
    assert.equal(ours.counters.rtpProtected, 3000);
    assert.equal(oursRx.counters.rtpUnprotected, 3000);
    // Two of the three streams wrapped: ROC 1.
    assert.equal(Math.floor(oursRx.highestRtpIndex(0x11223344) / 65536), 1);
    assert.equal(Math.floor(oursRx.highestRtpIndex(0xfffffffe) / 65536), 1);
  });

  test(`${c.profile}: SRTCP identical to werift and cross-decrypts`, () => {
    const key = randomBytes(16);
    const salt = randomBytes(c.werift === 7 ? 12 : 14);
    const ours = new SrtpContext({ profile: c.profile, masterKey: key, masterSalt: salt });
    const oursRx = new SrtpContext({ profile: c.profile, masterKey: key, masterSalt: salt });
    const werift = weriftPair(c.werift, key, salt);
    const weriftRx = weriftPair(c.werift, key, salt);
    for (let i = 0; i < 300; i++) {
      // RR with one report block, random contents, two senders.
      const rtcp = Buffer.concat([Buffer.from([0x81, 0xc9, 0x00, 0x07]), randomBytes(28)]);
      rtcp.writeUInt32BE(i % 2 ? 0xcafebabe : 0x01020304, 4);
      const theirs = werift.rtcp.encrypt(rtcp);
      const mine = ours.protectRtcp(rtcp);
      assert.ok(Buffer.isBuffer(mine));
      assert.equal(mine.toString('hex'), theirs.toString('hex'), `rtcp ${i}`);
      assert.deepEqual(weriftRx.rtcp.decrypt(Buffer.from(mine)), rtcp);
      assert.deepEqual(oursRx.unprotectRtcp(Buffer.from(theirs)), rtcp);
    }
  });
}
