/** CRC32c against published vectors and a bitwise reference; chunk codecs round-trip. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ChunkType,
  crc32c,
  PacketWriter,
  parseData,
  parseForwardTsn,
  parseInit,
  parsePacket,
  parseReconfig,
  parseSack,
  SctpParseError,
  writeData,
  writeForwardTsn,
  writeInit,
  writeReconfig,
  writeSack,
} from '../../src/transport/sctp/index.js';
import { prng } from './helpers.js';

function bitwiseCrc32c(bytes: Uint8Array): number {
  let c = ~0;
  for (const x of bytes) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test('CRC32c: RFC 3720 B.4 vectors, "123456789", and every alignment against a bitwise reference', () => {
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  const random = prng(1);
  const big = Buffer.alloc(3000);
  for (let i = 0; i < big.length; i++) big[i] = Math.floor(random() * 256);
  for (let start = 0; start < 9; start++) {
    for (const length of [0, 1, 3, 8, 63, 64, 65, 127, 1200, 2500]) {
      const slice = big.subarray(start, start + length);
      assert.equal(crc32c(slice), bitwiseCrc32c(slice), `offset ${start} length ${length}`);
    }
  }
});

test('packet framing: checksum verified, chunk lengths checked, padding skipped', () => {
  const w = new PacketWriter(1200, 5000, 5001);
  writeData(w, 3, 10, 1, 2, 51, Buffer.from('abc'));
  writeData(w, 3, 11, 1, 3, 53, Buffer.from('de'));
  const packet = w.finish(0xdeadbeef);
  const parsed = parsePacket(packet);
  assert.ok(!(parsed instanceof SctpParseError));
  assert.equal(parsed.sourcePort, 5000);
  assert.equal(parsed.destinationPort, 5001);
  assert.equal(parsed.verificationTag, 0xdeadbeef);
  assert.equal(parsed.chunks.length, 2);
  const first = parseData(packet, parsed.chunks[0]!)!;
  assert.deepEqual(
    [first.tsn, first.streamId, first.ssn, first.ppid, String(first.payload)],
    [10, 1, 2, 51, 'abc'],
  );
  assert.equal(String(parseData(packet, parsed.chunks[1]!)!.payload), 'de');
  const corrupt = Buffer.from(packet);
  corrupt[20]! ^= 1;
  assert.ok(parsePacket(corrupt) instanceof SctpParseError);
  assert.ok(parsePacket(packet.subarray(0, 15)) instanceof SctpParseError);
});

test('INIT, SACK, FORWARD-TSN and RE-CONFIG round-trip', () => {
  const w = new PacketWriter(1200, 5000, 5000);
  writeInit(w, ChunkType.INIT_ACK, {
    initiateTag: 0x01020304,
    advertisedReceiverWindow: 131072,
    outboundStreams: 16,
    inboundStreams: 2048,
    initialTsn: 0xfffffff0,
    cookie: Buffer.from('cookie!'),
  });
  writeSack(w, 100, 5000, [2, 3, 7, 9], [50, 60]);
  writeForwardTsn(w, 123, [1, 5, 3, 9]);
  writeReconfig(
    w,
    { requestSeq: 7, responseSeq: 6, senderLastTsn: 99, streams: [1, 2, 3] },
    { responseSeq: 4, result: 1 },
  );
  const packet = w.finish(1);
  const parsed = parsePacket(packet);
  assert.ok(!(parsed instanceof SctpParseError));
  const [init, sack, fwd, reconfig] = parsed.chunks;
  assert.deepEqual(parseInit(packet, init!), {
    initiateTag: 0x01020304,
    advertisedReceiverWindow: 131072,
    outboundStreams: 16,
    inboundStreams: 2048,
    initialTsn: 0xfffffff0,
    cookie: Buffer.from('cookie!'),
    forwardTsnSupported: true,
    reconfigSupported: true,
  });
  assert.deepEqual(parseSack(packet, sack!), {
    cumulativeTsnAck: 100,
    advertisedReceiverWindow: 5000,
    gapBlocks: [2, 3, 7, 9],
    duplicateTsns: [50, 60],
  });
  assert.deepEqual(parseForwardTsn(packet, fwd!), { newCumulativeTsn: 123, streams: [1, 5, 3, 9] });
  assert.deepEqual(parseReconfig(packet, reconfig!), [
    { type: 13, requestSeq: 7, responseSeq: 6, senderLastTsn: 99, streams: [1, 2, 3] },
    { type: 16, responseSeq: 4, result: 1 },
  ]);
});
