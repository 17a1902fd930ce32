import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  channelDataLength,
  decodeAddress,
  decodeErrorCode,
  decodePasswordAlgorithms,
  decodeXorAddress,
  isChannelData,
  isStun,
  parseStun,
  StunAttr,
  StunBuilder,
  StunClass,
  StunMethod,
  StunParseError,
  verifyFingerprint,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
} from '../../src/wire/stun/index.js';

const key = Buffer.from('key');
const seeds = [
  new StunBuilder(StunMethod.Allocate, StunClass.Request)
    .addRequestedTransport(17)
    .add(StunAttr.Username, 'user')
    .add(StunAttr.Realm, 'tureen')
    .add(StunAttr.Nonce, 'abcdef')
    .addMessageIntegrity(key)
    .addFingerprint()
    .build(),
  new StunBuilder(StunMethod.Send, StunClass.Indication)
    .addXorAddress(StunAttr.XorPeerAddress, '2001:db8::1', 5000)
    .add(StunAttr.Data, randomBytes(37))
    .build(),
  new StunBuilder(StunMethod.Allocate, StunClass.SuccessResponse)
    .addXorAddress(StunAttr.XorRelayedAddress, '192.0.2.1', 50000)
    .addPasswordAlgorithms([1, 2])
    .addErrorCode(401, 'Unauthorized')
    .addMessageIntegritySha256(key)
    .build(),
];

function probe(buf: Buffer): void {
  isStun(buf);
  isChannelData(buf);
  channelDataLength(buf);
  const msg = parseStun(buf);
  if (msg instanceof StunParseError) return;
  assert.ok(msg.raw.length <= buf.length);
  for (const a of msg.attributes) {
    assert.ok(a.offset + 4 + a.value.length <= msg.raw.length);
    decodeXorAddress(a.value, msg.transactionId);
    decodeAddress(a.value);
    decodeErrorCode(a.value);
    decodePasswordAlgorithms(a.value);
  }
  verifyMessageIntegrity(msg, key);
  verifyMessageIntegritySha256(msg, key);
  verifyFingerprint(msg);
}

test('fuzz: random, truncated, bit-flipped and TLV-soup input never throws', { timeout: 30000 }, () => {
  let accepted = 0;
  const tid = randomBytes(12);
  for (let i = 0; i < 50000; i++) {
    const seed = seeds[i % seeds.length]!;
    let buf: Buffer;
    switch (i % 4) {
      case 0:
        buf = randomBytes(Math.floor(Math.random() * 120));
        break;
      case 1:
        buf = seed.subarray(0, Math.floor(Math.random() * seed.length));
        break;
      case 2:
        buf = Buffer.from(seed);
        for (let k = 0; k < 1 + (i % 5); k++) buf[Math.floor(Math.random() * buf.length)]! ^= 1 << (i % 8);
        break;
      default: {
        const body = randomBytes(4 * Math.floor(Math.random() * 30));
        buf = Buffer.concat([
          Buffer.from([0, 1, body.length >> 8, body.length & 0xff, 0x21, 0x12, 0xa4, 0x42]),
          tid,
          body,
        ]);
      }
    }
    assert.doesNotThrow(() => probe(buf));
    if (!(parseStun(buf) instanceof StunParseError)) accepted++;
  }
  // The mutated and soup cases must exercise the attribute loop, not only the header checks.
  assert.ok(accepted > 1000, `only ${accepted} inputs got past the header`);
});
