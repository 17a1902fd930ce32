import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { test } from 'node:test';
import {
  decodeAddress,
  decodeXorAddress,
  formatIPv6,
  getAttribute,
  parseStun,
  StunBuilder,
  StunClass,
  StunMethod,
  StunParseError,
  writeIPv4,
  writeIPv6,
} from '../../src/wire/stun/index.js';

test('addresses round-trip plain and XORed, in canonical text', { timeout: 5000 }, () => {
  const cases = [
    '203.0.113.7',
    '2001:db8::1',
    '::',
    '::ffff:192.0.2.9',
    'fe80::1:2:3:4',
    '1:0:2:0:3:0:4:0',
    '::1',
  ];
  for (const ip of cases) {
    const buf = new StunBuilder(StunMethod.Binding, StunClass.SuccessResponse)
      .addAddress(0x0001, ip, 1234)
      .addXorAddress(0x0020, ip, 65535)
      .build();
    const msg = parseStun(buf);
    if (msg instanceof StunParseError) assert.fail(msg.reason);
    assert.deepEqual(decodeAddress(getAttribute(msg, 0x0001)!), {
      family: isIPv6(ip) ? 6 : 4,
      address: ip,
      port: 1234,
    });
    assert.deepEqual(decodeXorAddress(getAttribute(msg, 0x0020)!, msg.transactionId), {
      family: isIPv6(ip) ? 6 : 4,
      address: ip,
      port: 65535,
    });
  }
  const out = new Uint8Array(16);
  assert.ok(writeIPv6('2001:0DB8:0000:0000:0001:0000:0000:0001', out, 0));
  assert.equal(formatIPv6(out, 0), '2001:db8::1:0:0:1');
  assert.ok(writeIPv6('fe80::1%eth0', out, 0));
  assert.equal(formatIPv6(out, 0), 'fe80::1');
  for (const bad of ['1.2.3', '1.2.3.256', '1..2.3', 'a.b.c.d', ''])
    assert.equal(writeIPv4(bad, out, 0), false);
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '12345::', ':'])
    assert.equal(writeIPv6(bad, out, 0), false);
  assert.throws(() => new StunBuilder(1, 0).addXorAddress(0x20, 'nope', 1), TypeError);
});

test('IPv6 formatting agrees with node:net on random addresses', { timeout: 5000 }, () => {
  for (let i = 0; i < 2000; i++) {
    const bytes = randomBytes(16);
    // Zero some words so :: compression paths are exercised.
    for (let w = 0; w < 8; w++) if (Math.random() < 0.4) bytes.writeUInt16BE(0, 2 * w);
    const text = formatIPv6(bytes, 0);
    assert.ok(isIPv6(text), text);
    const back = new Uint8Array(16);
    assert.ok(writeIPv6(text, back, 0));
    assert.deepEqual(Buffer.from(back), bytes);
  }
});
