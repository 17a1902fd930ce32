/**
 * Fuzzing: random and mutated inputs into every parser and into sessions at every handshake stage.
 * Nothing may throw, no internal error may occur, and buffers stay within their caps.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reader } from '../../src/transport/dtls/codec.js';
import * as hs from '../../src/transport/dtls/handshake.js';
import {
  type DtlsError,
  type DtlsSession,
  fingerprint,
  generateCertificate,
} from '../../src/transport/dtls/index.js';
import { type Direction, sessionPair } from './helpers.js';

/** Small deterministic PRNG (mulberry32) so a failure can be replayed from its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, bytes };
}
type Rng = ReturnType<typeof rng>;

function mutate(r: Rng, input: Buffer): Buffer {
  const b = Buffer.from(input);
  switch (r.int(7)) {
    case 0: // flip a few bits
      for (let i = 0, n = 1 + r.int(4); i < n && b.length > 0; i++) b[r.int(b.length)]! ^= 1 << r.int(8);
      return b;
    case 1: // truncate
      return b.subarray(0, r.int(b.length + 1));
    case 2: // overwrite a 16/24-bit field with an extreme value (lengths, offsets)
      if (b.length > 4) {
        const at = r.int(b.length - 3);
        b.writeUIntBE([0, 0xffff, 0xffffff, r.int(0xffffff)][r.int(4)]!, at, 3);
      }
      return b;
    case 3: // append garbage
      return Buffer.concat([b, r.bytes(r.int(64))]);
    case 4: // splice a chunk of itself elsewhere
      if (b.length > 8) {
        const from = r.int(b.length - 4);
        const len = 1 + r.int(Math.min(64, b.length - from));
        return Buffer.concat([
          b.subarray(0, r.int(b.length)),
          b.subarray(from, from + len),
          b.subarray(r.int(b.length)),
        ]);
      }
      return b;
    case 5: // duplicate the whole datagram (two copies of each record)
      return Buffer.concat([b, b]);
    default: // random byte values
      for (let i = 0, n = 1 + r.int(8); i < n && b.length > 0; i++) b[r.int(b.length)] = r.int(256);
      return b;
  }
}

function randomDatagram(r: Rng): Buffer {
  if (r.int(3) === 0) return r.bytes(r.int(1500));
  // A well-formed record header with random content, in epoch 0 or 1.
  const payload = r.bytes(r.int(300));
  const rec = Buffer.alloc(13 + payload.length);
  rec[0] = 20 + r.int(4);
  rec.writeUInt16BE(r.int(2) ? 0xfefd : 0xfeff, 1);
  rec.writeUInt16BE(r.int(2), 3);
  rec.writeUIntBE(r.int(1000), 5, 6);
  rec.writeUInt16BE(payload.length, 11);
  payload.copy(rec, 13);
  return rec;
}

test('parsers are total: random and mutated inputs return values or errors, never throw', {
  timeout: 30_000,
}, () => {
  const r = rng(1);
  const parsers: ((b: Buffer) => unknown)[] = [
    hs.parseClientHello,
    hs.parseServerHello,
    hs.parseHelloVerifyRequest,
    hs.parseCertificate,
    hs.parseServerKeyExchange,
    hs.parseCertificateRequest,
    hs.parseClientKeyExchange,
    hs.parseCertificateVerify,
    hs.parseHandshakeFragments,
    hs.parseU16List,
    hs.parseU8List,
    hs.parseUseSrtp,
  ];
  const seeds = [
    hs.encodeClientHello({
      clientVersion: 0xfefd,
      random: r.bytes(32),
      sessionId: Buffer.alloc(0),
      cookie: r.bytes(20),
      cipherSuites: [0xc02b, 0xc02f],
      compressionMethods: Buffer.from([0]),
      extensions: [
        { type: 10, data: hs.encodeU16List([29, 23]) },
        { type: 14, data: hs.encodeUseSrtp([7, 1]) },
      ],
    }),
    hs.encodeServerHello({
      serverVersion: 0xfefd,
      random: r.bytes(32),
      sessionId: Buffer.alloc(0),
      cipherSuite: 0xc02b,
      compressionMethod: 0,
      extensions: [{ type: 23, data: Buffer.alloc(0) }],
    }),
    hs.encodeCertificate([r.bytes(300), r.bytes(40)]),
    hs.encodeServerKeyExchange(hs.encodeEcdheParams(29, r.bytes(32)), 0x0403, r.bytes(71)),
    hs.encodeCertificateRequest({
      certificateTypes: Buffer.from([64, 1]),
      signatureSchemes: [0x0403, 0x0804],
    }),
    hs.encodeHandshakeMessage(1, 0, r.bytes(100)),
  ];
  let ok = 0;
  let errors = 0;
  for (let i = 0; i < 20_000; i++) {
    const input = i % 2 === 0 ? r.bytes(r.int(400)) : mutate(r, seeds[r.int(seeds.length)]!);
    for (const parse of parsers) {
      const result = parse(input) as { ok: boolean; error?: string };
      assert.equal(typeof result.ok, 'boolean');
      if (result.ok) ok++;
      else {
        assert.equal(typeof result.error, 'string');
        errors++;
      }
    }
  }
  // Both outcomes occur: the mutations reach past the first length check.
  assert.ok(ok > 1000 && errors > 1000, `ok ${ok}, errors ${errors}`);
  // The reader underneath reports short input as DecodeError, which the parsers catch.
  assert.throws(() => new Reader(Buffer.alloc(1)).u16(), { name: 'DecodeError' });
});

test('reassembler caps: message length, buffered bytes and message_seq window', () => {
  const re = new hs.HandshakeReassembler(1000, 3000, 4);
  const frag = (seq: number, length: number, offset = 0, n = 10) => ({
    msgType: 1,
    length,
    messageSeq: seq,
    fragmentOffset: offset,
    fragmentLength: n,
    body: Buffer.alloc(n),
  });
  assert.equal(re.add(frag(0, 1001)), false, 'message over the cap');
  assert.equal(re.add(frag(4, 100)), false, 'beyond the message_seq window');
  assert.equal(re.add(frag(0, 1000)), true);
  assert.equal(re.add(frag(1, 1000)), true);
  assert.equal(re.add(frag(2, 1000)), true);
  assert.equal(re.add(frag(3, 1000)), false, 'buffered bytes cap');
  assert.equal(re.take(), undefined, 'incomplete messages are not handed out');
  assert.equal(re.add(frag(0, 1000, 10, 990)), true);
  assert.equal(re.take()?.messageSeq, 0);
  assert.equal(re.add(frag(3, 1000)), true, 'room again after a message left');
});

interface SessionInternals {
  reassembler: { bufferedBytes: number; partial: Map<number, unknown> };
  pendingEpoch1Records: unknown[];
}

test('sessions at every handshake stage survive random and mutated datagrams', {
  timeout: 50_000,
}, async () => {
  const serverCert = generateCertificate();
  const clientCert = generateCertificate();
  const fp = (der: Buffer) => [{ algorithm: 'sha-256', value: fingerprint(der) }];
  const r = rng(7);
  let injected = 0;
  let failures = 0;
  const stagesSeen = new Set<string>();
  // Checkpoints: how many datagrams the relay lets through before freezing the handshake.
  for (const checkpoint of [0, 1, 2, 3, 4, 5, 6, 100]) {
    const seen: Buffer[] = [];
    let delivered = 0;
    const pair = sessionPair(
      { certificate: clientCert, remoteFingerprints: fp(serverCert.der), retransmitInitialMs: 60_000 },
      { certificate: serverCert, remoteFingerprints: fp(clientCert.der), retransmitInitialMs: 60_000 },
      (d: Buffer, _dir: Direction) => {
        seen.push(d);
        return delivered++ < checkpoint ? [d] : [];
      },
    );
    const internalErrors: string[] = [];
    for (const s of [pair.client, pair.server]) {
      s.on('error', (e: DtlsError) => {
        if (e.message.startsWith('internal error')) internalErrors.push(e.message);
      });
    }
    try {
      pair.client.start();
      await new Promise((res) => setTimeout(res, 100));
      const states = `${pair.client.state}/${pair.server.state}`;
      stagesSeen.add(states);
      // Data records too, once connected.
      if (pair.client.state === 'connected') {
        for (let i = 0; i < 5; i++) pair.client.send(r.bytes(50));
      }
      for (let i = 0; i < 400; i++) {
        const target: DtlsSession = i % 2 ? pair.client : pair.server;
        const base = seen.length > 0 && r.int(4) > 0 ? seen[r.int(seen.length)]! : undefined;
        target.handleDatagram(base ? mutate(r, base) : randomDatagram(r));
        injected++;
        for (const s of [pair.client, pair.server]) {
          const inner = s as unknown as SessionInternals;
          assert.ok(inner.reassembler.bufferedBytes <= 262_144);
          assert.ok(inner.reassembler.partial.size <= 16);
          assert.ok(inner.pendingEpoch1Records.length <= 16);
        }
      }
      await new Promise((res) => setImmediate(res));
      assert.deepEqual(internalErrors, [], `checkpoint ${checkpoint} (${states})`);
      for (const s of [pair.client, pair.server]) {
        assert.ok(['new', 'connecting', 'connected', 'failed', 'closed'].includes(s.state));
        if (s.state === 'failed') failures++;
      }
    } finally {
      pair.close();
    }
  }
  assert.equal(injected, 8 * 400);
  // client/server states reached before fuzzing: from nothing received to both connected.
  for (const stage of ['connecting/new', 'connecting/connecting', 'connected/connected']) {
    assert.ok(stagesSeen.has(stage), `stage ${stage} not reached: ${[...stagesSeen]}`);
  }
  // Some mutations are bad enough to end a handshake (that is a correct outcome); not all of them.
  assert.ok(failures < 16, `failed sessions ${failures}`);
});

test('a connected session ignores forged (unauthenticated) records and keeps working', {
  timeout: 20_000,
}, async () => {
  const serverCert = generateCertificate();
  const clientCert = generateCertificate();
  const pair = sessionPair(
    {
      certificate: clientCert,
      remoteFingerprints: [{ algorithm: 'sha-256', value: fingerprint(serverCert.der) }],
    },
    {
      certificate: serverCert,
      remoteFingerprints: [{ algorithm: 'sha-256', value: fingerprint(clientCert.der) }],
    },
  );
  const r = rng(11);
  try {
    const up = Promise.all([
      new Promise((res) => pair.client.once('connected', res)),
      new Promise((res) => pair.server.once('connected', res)),
    ]);
    pair.client.start();
    await up;
    const received: Buffer[] = [];
    pair.server.on('data', (d) => received.push(d));
    // Capture a real protected record, then feed thousands of mutations of it and of plaintext alerts.
    pair.client.send(Buffer.from('genuine'));
    const captured = pair.sent['client→server'].at(-1)!;
    for (let i = 0; i < 3000; i++) {
      const forged = mutate(r, captured);
      if (forged.equals(captured)) continue;
      pair.server.handleDatagram(forged);
    }
    // Plaintext fatal alert in epoch 0 after the handshake: ignored (it could be forged by anyone).
    pair.server.handleDatagram(Buffer.from([21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 99, 0, 2, 2, 40]));
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(pair.server.state, 'connected');
    const next = new Promise<Buffer>((res) => pair.server.once('data', res));
    pair.client.send(Buffer.from('still works'));
    assert.equal((await next).toString(), 'still works');
    // Only the genuine records were delivered.
    assert.deepEqual(
      received.map((b) => b.toString()),
      ['genuine', 'still works'],
    );
  } finally {
    pair.close();
  }
});
