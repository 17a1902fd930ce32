import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  crc32,
  decodeErrorCode,
  decodeUint32,
  decodeXorAddress,
  getAttribute,
  isStun,
  longTermKey,
  parseStun,
  StunAttr,
  StunBuilder,
  StunClass,
  type StunMessage,
  StunMethod,
  StunParseError,
  verifyFingerprint,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
} from '../../src/wire/stun/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5769 test vectors (IETF Trust), as printed in the RFC.
const SAMPLE_REQUEST = hex(`00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);
const IPV4_RESPONSE = hex(`01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);
const IPV6_RESPONSE = hex(`01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);
const LONG_TERM_REQUEST = hex(`00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
  00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`);
const SHORT_TERM = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt');
const TID = hex('b7e7a701bc34d686fa87dfae');

function parsed(buf: Buffer): StunMessage {
  const msg = parseStun(buf);
  if (msg instanceof StunParseError) assert.fail(msg.reason);
  return msg;
}

test('RFC 5769 §2.1 sample request', { timeout: 5000 }, () => {
  assert.equal(isStun(SAMPLE_REQUEST), true);
  const msg = parsed(SAMPLE_REQUEST);
  assert.equal(msg.method, StunMethod.Binding);
  assert.equal(msg.cls, StunClass.Request);
  assert.deepEqual(msg.transactionId, TID);
  assert.equal(getAttribute(msg, StunAttr.Software)!.toString(), 'STUN test client');
  assert.equal(getAttribute(msg, StunAttr.Username)!.toString(), 'evtj:h6vY');
  assert.equal(decodeUint32(getAttribute(msg, StunAttr.Priority)!), 0x6e0001ff);
  assert.deepEqual(getAttribute(msg, StunAttr.IceControlled), hex('932ff9b151263b36'));
  assert.equal(verifyMessageIntegrity(msg, SHORT_TERM), true);
  assert.equal(verifyMessageIntegrity(msg, Buffer.from('wrong')), false);
  assert.equal(verifyFingerprint(msg), true);
});

test('RFC 5769 §2.2 IPv4 response', { timeout: 5000 }, () => {
  const msg = parsed(IPV4_RESPONSE);
  assert.equal(msg.cls, StunClass.SuccessResponse);
  assert.deepEqual(decodeXorAddress(getAttribute(msg, StunAttr.XorMappedAddress)!, msg.transactionId), {
    family: 4,
    address: '192.0.2.1',
    port: 32853,
  });
  assert.equal(verifyMessageIntegrity(msg, SHORT_TERM), true);
  assert.equal(verifyFingerprint(msg), true);
  const built = parsed(
    new StunBuilder(StunMethod.Binding, StunClass.SuccessResponse, TID)
      .addXorAddress(StunAttr.XorMappedAddress, '192.0.2.1', 32853)
      .build(),
  );
  assert.deepEqual(getAttribute(built, StunAttr.XorMappedAddress), hex('0001a147e112a643'));
});

test('RFC 5769 §2.3 IPv6 response', { timeout: 5000 }, () => {
  const msg = parsed(IPV6_RESPONSE);
  const value = getAttribute(msg, StunAttr.XorMappedAddress)!;
  assert.deepEqual(decodeXorAddress(value, msg.transactionId), {
    family: 6,
    address: '2001:db8:1234:5678:11:2233:4455:6677',
    port: 32853,
  });
  assert.equal(verifyMessageIntegrity(msg, SHORT_TERM), true);
  assert.equal(verifyFingerprint(msg), true);
  const built = parsed(
    new StunBuilder(StunMethod.Binding, StunClass.SuccessResponse, TID)
      .addXorAddress(StunAttr.XorMappedAddress, '2001:db8:1234:5678:11:2233:4455:6677', 32853)
      .build(),
  );
  assert.deepEqual(getAttribute(built, StunAttr.XorMappedAddress), value);
});

test('RFC 5769 §2.4 long-term credentials, and byte-exact rebuild', { timeout: 5000 }, () => {
  const msg = parsed(LONG_TERM_REQUEST);
  const username = 'マトリックス';
  assert.equal(getAttribute(msg, StunAttr.Username)!.toString(), username);
  assert.equal(getAttribute(msg, StunAttr.Nonce)!.toString(), 'f//499k954d6OL34oL9FSTvy64sA');
  assert.equal(getAttribute(msg, StunAttr.Realm)!.toString(), 'example.org');
  assert.equal(verifyFingerprint(msg), false);
  const key = longTermKey(username, 'example.org', 'TheMatrIX');
  assert.equal(verifyMessageIntegrity(msg, key), true);
  assert.equal(verifyMessageIntegrity(msg, longTermKey(username, 'example.org', 'thematrix')), false);
  const rebuilt = new StunBuilder(StunMethod.Binding, StunClass.Request, msg.transactionId)
    .add(StunAttr.Username, username)
    .add(StunAttr.Nonce, 'f//499k954d6OL34oL9FSTvy64sA')
    .add(StunAttr.Realm, 'example.org')
    .addMessageIntegrity(key)
    .build();
  assert.deepEqual(rebuilt, LONG_TERM_REQUEST);
});

test('builder round trip: integrity (SHA1 + SHA256), fingerprint, method/class bits', {
  timeout: 5000,
}, () => {
  const cases: [number, StunClass, number][] = [
    [StunMethod.Allocate, StunClass.Request, 0x0003],
    [StunMethod.Allocate, StunClass.SuccessResponse, 0x0103],
    [StunMethod.Allocate, StunClass.ErrorResponse, 0x0113],
    [StunMethod.Send, StunClass.Indication, 0x0016],
    [StunMethod.Data, StunClass.Indication, 0x0017],
    [StunMethod.ChannelBind, StunClass.Request, 0x0009],
    [0xfff, StunClass.ErrorResponse, 0x3fff],
  ];
  for (const [method, cls, type] of cases) {
    const key = randomBytes(16);
    const buf = new StunBuilder(method, cls)
      .add(StunAttr.Data, Buffer.from('abcde'))
      .addErrorCode(438, 'Stale Nonce')
      .addUint64(StunAttr.IceControlling, 0x0123456789abcdefn)
      .addFlag(StunAttr.UseCandidate)
      .addMessageIntegrity(key)
      .addMessageIntegritySha256(key)
      .addFingerprint()
      .build();
    assert.equal(buf.readUInt16BE(0), type);
    const msg = parsed(buf);
    assert.equal(msg.method, method);
    assert.equal(msg.cls, cls);
    assert.equal(getAttribute(msg, StunAttr.Data)!.toString(), 'abcde');
    assert.deepEqual(decodeErrorCode(getAttribute(msg, StunAttr.ErrorCode)!), {
      code: 438,
      reason: 'Stale Nonce',
    });
    assert.equal(getAttribute(msg, StunAttr.UseCandidate)!.length, 0);
    assert.equal(verifyMessageIntegrity(msg, key), true);
    assert.equal(verifyMessageIntegritySha256(msg, key), true);
    assert.equal(verifyFingerprint(msg), true);
    const flipped = Buffer.from(buf);
    flipped[25]! ^= 1;
    const bad = parsed(flipped);
    assert.equal(verifyMessageIntegrity(bad, key), false);
    assert.equal(verifyMessageIntegritySha256(bad, key), false);
    assert.equal(verifyFingerprint(bad), false);
  }
});

test('attributes after MESSAGE-INTEGRITY are ignored; nothing may follow FINGERPRINT', {
  timeout: 5000,
}, () => {
  const key = Buffer.from('k');
  const signed = new StunBuilder(StunMethod.Allocate, StunClass.Request)
    .addUint32(StunAttr.Lifetime, 600)
    .addMessageIntegrity(key)
    .build();
  const extra = hex('0013000401020304');
  const tampered = Buffer.concat([signed, extra]);
  tampered.writeUInt16BE(tampered.length - 20, 2);
  const msg = parsed(tampered);
  assert.equal(getAttribute(msg, StunAttr.Data), undefined);
  assert.equal(verifyMessageIntegrity(msg, key), true);
  const fp = new StunBuilder(StunMethod.Binding, StunClass.Request).addFingerprint().build();
  const after = Buffer.concat([fp, extra]);
  after.writeUInt16BE(after.length - 20, 2);
  assert.ok(parseStun(after) instanceof StunParseError);
});

test('parser rejects malformed framing with an error value', { timeout: 5000 }, () => {
  const good = new StunBuilder(StunMethod.Binding, StunClass.Request).add(StunAttr.Software, 'abc').build();
  const mutate = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  const bad: Buffer[] = [
    good.subarray(0, 19),
    good.subarray(0, good.length - 1),
    mutate((b) => {
      b[0]! |= 0x80;
    }),
    mutate((b) => {
      b[4]! ^= 1;
    }),
    mutate((b) => b.writeUInt16BE(b.readUInt16BE(2) + 2, 2)),
    mutate((b) => b.writeUInt16BE(9, 22)),
    mutate((b) => b.writeUInt16BE(4, 2)),
  ];
  for (const b of bad) assert.ok(parseStun(b) instanceof StunParseError);
  assert.ok(!(parseStun(Buffer.concat([good, Buffer.from('trail')])) instanceof StunParseError));
});

test('crc32 check value and sub-ranges', { timeout: 5000 }, () => {
  const digits = Buffer.from('123456789');
  assert.equal(crc32(digits), 0xcbf43926);
  assert.equal(crc32(Buffer.concat([Buffer.from('xx'), digits, Buffer.from('y')]), 2, 11), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});
