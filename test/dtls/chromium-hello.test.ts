/**
 * A ClientHello shaped like Chromium 156's (DTLS 1.3 offer, X25519MLKEM768 key share, 1413 bytes,
 * two fragments in two datagrams): our server must reassemble it and answer DTLS 1.2.
 */
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { Writer } from '../../src/transport/dtls/codec.js';
import {
  ExtensionType,
  encodeClientHello,
  HandshakeType,
  parseCertificate,
  parseHandshakeFragments,
  parseHelloVerifyRequest,
  parseServerHello,
  parseServerKeyExchange,
  parseUseSrtp,
} from '../../src/transport/dtls/handshake.js';
import { DtlsSession, fingerprint, generateCertificate } from '../../src/transport/dtls/index.js';
import { verifyWithScheme } from '../../src/transport/dtls/key-exchange.js';
import { signatureSchemeById } from '../../src/transport/dtls/suites.js';

const X25519_MLKEM768 = 0x11ec;

/** The ClientHello body: suites, groups and extensions in the shapes BoringSSL sends for WebRTC. */
function chromiumClientHello(random: Buffer, cookie: Buffer): Buffer {
  const u16s = (values: number[]) => {
    const w = new Writer();
    w.block(2, (l) => {
      for (const v of values) l.u16(v);
    });
    return w.finish();
  };
  const keyShare = new Writer()
    .block(2, (l) => {
      l.u16(X25519_MLKEM768).vector(2, randomBytes(1216)); // ML-KEM-768 encapsulation key + X25519
      l.u16(29).vector(2, randomBytes(32));
    })
    .finish();
  const extensions = [
    { type: ExtensionType.extendedMasterSecret, data: Buffer.alloc(0) },
    { type: ExtensionType.renegotiationInfo, data: Buffer.from([0]) },
    { type: ExtensionType.supportedGroups, data: u16s([X25519_MLKEM768, 29, 23]) },
    { type: ExtensionType.ecPointFormats, data: Buffer.from([1, 0]) },
    {
      type: ExtensionType.signatureAlgorithms,
      data: u16s([0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]),
    },
    {
      type: ExtensionType.useSrtp,
      data: Buffer.concat([u16s([0x0008, 0x0007, 0x0001, 0x0002]), Buffer.from([0])]),
    },
    { type: 43, data: Buffer.from([4, 0xfe, 0xfc, 0xfe, 0xfd]) }, // supported_versions: DTLS 1.3, 1.2
    { type: 51, data: keyShare },
  ];
  const hello = {
    clientVersion: 0xfefd,
    random,
    sessionId: Buffer.alloc(0),
    cookie,
    cipherSuites: [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8],
    compressionMethods: Buffer.from([0]),
    extensions,
  };
  // A padding extension (21) brings the cookieless body to Chromium's 1413 bytes (seen by
  // chromium.test.ts: 1425 with the handshake header); a cookie adds its length, as in Chromium's.
  const unpadded = encodeClientHello(hello).length;
  extensions.push({ type: 21, data: Buffer.alloc(1413 + cookie.length - unpadded - 4) });
  return encodeClientHello(hello);
}

/** One datagram = one record (epoch 0) holding one handshake fragment. */
function fragmentDatagram(
  body: Buffer,
  messageSeq: number,
  offset: number,
  length: number,
  recordSeq: number,
): Buffer {
  const hs = Buffer.alloc(12 + length);
  hs[0] = HandshakeType.clientHello;
  hs.writeUIntBE(body.length, 1, 3);
  hs.writeUInt16BE(messageSeq, 4);
  hs.writeUIntBE(offset, 6, 3);
  hs.writeUIntBE(length, 9, 3);
  body.copy(hs, 12, offset, offset + length);
  const rec = Buffer.alloc(13 + hs.length);
  rec[0] = 22;
  rec.writeUInt16BE(0xfeff, 1); // Chromium's first record says DTLS 1.0
  rec.writeUIntBE(recordSeq, 5, 6);
  rec.writeUInt16BE(hs.length, 11);
  hs.copy(rec, 13);
  return rec;
}

/** The handshake messages of the server's datagrams, reassembled by message_seq. */
function serverMessages(datagrams: Buffer[]): Map<number, { type: number; body: Buffer }> {
  const out = new Map<number, { type: number; body: Buffer }>();
  for (const d of datagrams) {
    let o = 0;
    while (o + 13 <= d.length) {
      const len = d.readUInt16BE(o + 11);
      if (d[o] === 22 && d.readUInt16BE(o + 3) === 0) {
        const frags = parseHandshakeFragments(d.subarray(o + 13, o + 13 + len));
        assert.ok(frags.ok);
        for (const f of frags.value) {
          const m = out.get(f.messageSeq) ?? { type: f.msgType, body: Buffer.alloc(f.length) };
          f.body.copy(m.body, f.fragmentOffset);
          out.set(f.messageSeq, m);
        }
      }
      o += 13 + len;
    }
  }
  return out;
}

test('Chromium-shaped 1413-byte (body) fragmented ClientHello with a DTLS 1.3 offer gets a DTLS 1.2 answer', {
  timeout: 10_000,
}, () => {
  const certificate = generateCertificate();
  const sent: Buffer[] = [];
  const server = new DtlsSession({
    role: 'server',
    certificate,
    send: (d) => sent.push(d),
    remoteAddress: '127.0.0.1:50000',
    remoteFingerprints: [{ algorithm: 'sha-256', value: 'AA' }],
  });
  const random = randomBytes(32);
  try {
    const first = chromiumClientHello(random, Buffer.alloc(0));
    assert.equal(first.length, 1413);
    const split = 1150;
    server.handleDatagram(fragmentDatagram(first, 0, 0, split, 0));
    assert.equal(sent.length, 0, 'nothing is answered before the ClientHello is complete');
    server.handleDatagram(fragmentDatagram(first, 0, split, first.length - split, 1));
    assert.equal(sent.length, 1);
    const hvr = serverMessages(sent).get(0)!;
    assert.equal(hvr.type, HandshakeType.helloVerifyRequest);
    const parsedHvr = parseHelloVerifyRequest(hvr.body);
    assert.ok(parsedHvr.ok);
    assert.equal(parsedHvr.value.serverVersion, 0xfeff);

    // Second ClientHello with the cookie, fragments delivered in reverse order.
    sent.length = 0;
    const second = chromiumClientHello(random, parsedHvr.value.cookie);
    server.handleDatagram(fragmentDatagram(second, 1, split, second.length - split, 3));
    server.handleDatagram(fragmentDatagram(second, 1, 0, split, 2));
    const msgs = serverMessages(sent);
    const types = [...msgs.entries()].sort((a, b) => a[0] - b[0]).map(([seq, m]) => [seq, m.type]);
    assert.deepEqual(types, [
      [1, HandshakeType.serverHello],
      [2, HandshakeType.certificate],
      [3, HandshakeType.serverKeyExchange],
      [4, HandshakeType.certificateRequest],
      [5, HandshakeType.serverHelloDone],
    ]);
    const sh = parseServerHello(msgs.get(1)!.body);
    assert.ok(sh.ok);
    assert.equal(sh.value.serverVersion, 0xfefd, 'DTLS 1.2');
    assert.equal(sh.value.cipherSuite, 0xc02b);
    const extTypes = sh.value.extensions.map((e) => e.type);
    assert.ok(!extTypes.includes(43) && !extTypes.includes(51), 'no 1.3 extensions in a 1.2 ServerHello');
    assert.ok(extTypes.includes(ExtensionType.extendedMasterSecret));
    const srtp = parseUseSrtp(sh.value.extensions.find((e) => e.type === ExtensionType.useSrtp)!.data);
    assert.ok(srtp.ok);
    assert.deepEqual(
      srtp.value.profiles,
      [0x0007],
      'our preference (AEAD_AES_128_GCM) over the client order',
    );
    // ServerKeyExchange: X25519 (the MLKEM hybrid is skipped), signature valid under our certificate.
    const ske = parseServerKeyExchange(msgs.get(3)!.body);
    assert.ok(ske.ok);
    assert.equal(ske.value.namedGroup, 29);
    const cert = parseCertificate(msgs.get(2)!.body);
    assert.ok(cert.ok);
    assert.equal(fingerprint(cert.value[0]!), fingerprint(certificate.der));
    const signed = Buffer.concat([random, sh.value.random, ske.value.params]);
    const scheme = signatureSchemeById(ske.value.signatureScheme)!;
    assert.ok(
      verifyWithScheme(scheme, new X509Certificate(cert.value[0]!).publicKey, signed, ske.value.signature),
    );
    for (const d of sent) assert.ok(d.length <= 1200);
  } finally {
    server.close();
  }
});

test('a ClientHello fragment claiming a huge message or overlapping inconsistently is dropped, no state kept', {
  timeout: 10_000,
}, () => {
  const sent: Buffer[] = [];
  const server = new DtlsSession({
    role: 'server',
    certificate: generateCertificate(),
    send: (d) => sent.push(d),
  });
  try {
    const body = chromiumClientHello(randomBytes(32), Buffer.alloc(0));
    // A fragment announcing a 16 MiB message: beyond the reassembly cap, dropped.
    const huge = fragmentDatagram(body, 0, 0, 100, 0);
    huge.writeUIntBE(0xffffff, 13 + 1, 3);
    server.handleDatagram(huge);
    // A second fragment whose total length disagrees with the first one: dropped.
    server.handleDatagram(fragmentDatagram(body, 0, 0, 600, 1));
    const liar = fragmentDatagram(body, 0, 600, 200, 2);
    liar.writeUIntBE(body.length + 5, 13 + 1, 3);
    server.handleDatagram(liar);
    assert.equal(sent.length, 0);
    // The honest remainder completes the message.
    server.handleDatagram(fragmentDatagram(body, 0, 600, body.length - 600, 3));
    assert.equal(sent.length, 1);
    assert.equal(server.state, 'new', 'a HelloVerifyRequest keeps no state');
  } finally {
    server.close();
  }
});
