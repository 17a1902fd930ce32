/** In-process client ↔ server: authentication failures, loss, duplication, reordering, fragmentation, timers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type DtlsCertificate,
  type DtlsConnection,
  type DtlsError,
  type DtlsSession,
  fingerprint,
  generateCertificate,
} from '../../src/transport/dtls/index.js';
import { type Relay, rewriteHandshakeMessage, sessionPair } from './helpers.js';

const serverCert = generateCertificate();
const clientCert = generateCertificate();
const rsaCert = generateCertificate({ keyType: 'rsa' });
const fp = (c: DtlsCertificate) => [{ algorithm: 'sha-256', value: fingerprint(c.der) }];
const FAST = { retransmitInitialMs: 50, retransmitMaxMs: 400, handshakeTimeoutMs: 8000 };

function waitEvent<T>(
  s: DtlsSession,
  event: 'connected' | 'error' | 'closed' | 'data',
  ms = 8000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms (state ${s.state})`)), ms);
    s.once(event, (v: unknown) => {
      clearTimeout(timer);
      resolve(v as T);
    });
  });
}

async function handshake(
  relay?: Relay,
  extra: { mtu?: number; server?: DtlsCertificate; client?: DtlsCertificate } = {},
) {
  const sc = extra.server ?? serverCert;
  const cc = extra.client ?? clientCert;
  const pair = sessionPair(
    { certificate: cc, remoteFingerprints: fp(sc), mtu: extra.mtu, ...FAST },
    { certificate: sc, remoteFingerprints: fp(cc), mtu: extra.mtu, ...FAST },
    relay,
  );
  const both = Promise.all([
    waitEvent<DtlsConnection>(pair.client, 'connected'),
    waitEvent<DtlsConnection>(pair.server, 'connected'),
  ]);
  pair.server.start();
  pair.client.start();
  return { pair, connected: both };
}

test('handshake, keying material agreement, data both ways, close_notify', { timeout: 15_000 }, async () => {
  const { pair, connected } = await handshake();
  try {
    const [c, s] = await connected;
    assert.equal(c.srtpProfile, 'SRTP_AEAD_AES_128_GCM');
    assert.equal(s.remoteFingerprint.value, fingerprint(clientCert.der));
    assert.equal(c.remoteFingerprint.value, fingerprint(serverCert.der));
    const ck = pair.client.srtpKeyingMaterial();
    const sk = pair.server.srtpKeyingMaterial();
    assert.deepEqual(ck.localMasterKey, sk.remoteMasterKey);
    assert.deepEqual(ck.remoteMasterSalt, sk.localMasterSalt);
    assert.notDeepEqual(ck.localMasterKey, ck.remoteMasterKey);
    assert.deepEqual(
      pair.client.exportKeyingMaterial('EXPERIMENTAL-test', 32, Buffer.from('ctx')),
      pair.server.exportKeyingMaterial('EXPERIMENTAL-test', 32, Buffer.from('ctx')),
    );
    const got = waitEvent<Buffer>(pair.server, 'data');
    pair.client.send(Buffer.from('to server'));
    assert.equal((await got).toString(), 'to server');
    const back = waitEvent<Buffer>(pair.client, 'data');
    pair.server.send(Buffer.alloc(16384, 7));
    assert.equal((await back).length, 16384);
    assert.throws(() => pair.server.send(Buffer.alloc(16385)), RangeError);
    const closed = waitEvent<string>(pair.server, 'closed');
    pair.client.close();
    assert.equal(await closed, 'peer sent close_notify');
    assert.equal(pair.server.state, 'closed');
    assert.throws(() => pair.server.send(Buffer.from('x')), /cannot send/);
  } finally {
    pair.close();
  }
});

test('fingerprints given after the handshake: connected only once they match', {
  timeout: 15_000,
}, async () => {
  for (const good of [true, false]) {
    const pair = sessionPair(
      { certificate: clientCert, remoteFingerprints: fp(serverCert), ...FAST },
      { certificate: serverCert, ...FAST },
    );
    try {
      const clientUp = waitEvent(pair.client, 'connected');
      pair.client.start();
      await clientUp;
      // The server finished its handshake but has no fingerprint to check yet.
      assert.equal(pair.server.state, 'connecting');
      if (good) {
        const up = waitEvent(pair.server, 'connected');
        pair.server.setRemoteFingerprints(fp(clientCert));
        await up;
        assert.equal(pair.server.state, 'connected');
      } else {
        const err = waitEvent<DtlsError>(pair.server, 'error');
        const clientErr = waitEvent<DtlsError>(pair.client, 'error');
        pair.server.setRemoteFingerprints(fp(rsaCert));
        assert.equal((await err).alert, 42);
        assert.equal((await clientErr).alert, 42);
        assert.equal(pair.server.state, 'failed');
      }
    } finally {
      pair.close();
    }
  }
});

test('sha-1 and sha-512 fingerprints are accepted too; unknown algorithms are not', {
  timeout: 15_000,
}, async () => {
  const pair = sessionPair(
    {
      certificate: clientCert,
      remoteFingerprints: [
        { algorithm: 'SHA-512', value: fingerprint(serverCert.der, 'sha-512').toLowerCase() },
      ],
      ...FAST,
    },
    {
      certificate: serverCert,
      remoteFingerprints: [
        { algorithm: 'md5', value: 'AA' },
        { algorithm: 'sha-1', value: fingerprint(clientCert.der, 'sha-1') },
      ],
      ...FAST,
    },
  );
  try {
    const up = Promise.all([waitEvent(pair.client, 'connected'), waitEvent(pair.server, 'connected')]);
    pair.client.start();
    await up;
  } finally {
    pair.close();
  }
});

// The order of the P-256 group: (r, s) and (r, n - s) are both valid ECDSA signatures.
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function derInteger(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let b = Buffer.from(hex, 'hex');
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return Buffer.concat([Buffer.from([2, b.length]), b]);
}

/** Rewrites an ECDSA DER signature (r, s) into the other valid form (r, n - s). */
function malleate(sig: Buffer): Buffer {
  let o = 2;
  const rLen = sig[o + 1]!;
  const r = sig.subarray(o + 2, o + 2 + rLen);
  o += 2 + rLen;
  const s = BigInt(`0x${sig.subarray(o + 2, o + 2 + sig[o + 1]!).toString('hex')}`);
  const body = Buffer.concat([Buffer.from([2, rLen]), r, derInteger(P256_N - s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

function rewriteCertificateVerify(datagram: Buffer, transform: (sig: Buffer) => Buffer): Buffer {
  return rewriteHandshakeMessage(datagram, 15, (body) => {
    const sig = transform(body.subarray(4, 4 + body.readUInt16BE(2)));
    const out = Buffer.alloc(4 + sig.length);
    body.copy(out, 0, 0, 2);
    out.writeUInt16BE(sig.length, 2);
    sig.copy(out, 4);
    return out;
  });
}

test('a forged CertificateVerify (signature bytes changed in transit) is refused', {
  timeout: 15_000,
}, async () => {
  const pair = sessionPair(
    { certificate: clientCert, remoteFingerprints: fp(serverCert), ...FAST },
    { certificate: serverCert, remoteFingerprints: fp(clientCert), ...FAST },
    (d, dir) =>
      dir === 'client→server'
        ? [
            rewriteCertificateVerify(d, (sig) => {
              const forged = Buffer.from(sig);
              forged[forged.length - 1]! ^= 0x01;
              return forged;
            }),
          ]
        : [d],
  );
  try {
    let connected = false;
    pair.server.on('connected', () => {
      connected = true;
    });
    const err = waitEvent<DtlsError>(pair.server, 'error');
    const clientErr = waitEvent<DtlsError>(pair.client, 'error');
    pair.client.start();
    assert.equal((await err).alert, 51);
    assert.match((await err).message, /CertificateVerify/);
    assert.equal((await clientErr).alert, 51);
    assert.equal(connected, false);
  } finally {
    pair.close();
  }
});

test('a Finished that does not match the transcript is refused', { timeout: 15_000 }, async () => {
  // The relay swaps the client's ECDSA signature for its other valid form (r, n - s): CertificateVerify
  // still verifies, but the server's transcript now differs from the client's, so the client's
  // Finished (computed over the original bytes) must fail verification.
  let rewritten = 0;
  const pair = sessionPair(
    { certificate: clientCert, remoteFingerprints: fp(serverCert), ...FAST },
    { certificate: serverCert, remoteFingerprints: fp(clientCert), ...FAST },
    (d, dir) => {
      if (dir !== 'client→server') return [d];
      const out = rewriteCertificateVerify(d, malleate);
      if (out !== d) rewritten++;
      return [out];
    },
  );
  try {
    const err = waitEvent<DtlsError>(pair.server, 'error');
    pair.client.start();
    const e = await err;
    assert.ok(rewritten > 0);
    assert.equal(e.alert, 51);
    assert.match(e.message, /Finished/);
    assert.equal(pair.server.state, 'failed');
  } finally {
    pair.close();
  }
});

test('lost flights are retransmitted with backoff until the handshake completes', {
  timeout: 20_000,
}, async () => {
  // Drop the first two datagrams each way (ClientHello, HelloVerifyRequest...), then every
  // datagram of the server's final flight once, forcing the client to resend its last flight.
  const dropped: string[] = [];
  let serverFinalDropped = false;
  const relay: Relay = (d, dir, i) => {
    if (i < 2) {
      dropped.push(`${dir}#${i}`);
      return [];
    }
    const isFinalServerFlight = dir === 'server→client' && d[0] === 20;
    if (isFinalServerFlight && !serverFinalDropped) {
      serverFinalDropped = true;
      dropped.push('server final flight');
      return [];
    }
    return [d];
  };
  const { pair, connected } = await handshake(relay);
  try {
    await connected;
    assert.ok(serverFinalDropped);
    assert.ok(dropped.length >= 5);
    // The client sent its final flight (the one with ChangeCipherSpec) at least twice.
    const clientFinalFlights = pair.sent['client→server'].filter((d) =>
      d.includes(Buffer.from([20, 0xfe, 0xfd, 0, 0])),
    );
    assert.ok(clientFinalFlights.length >= 2, `client final flights: ${clientFinalFlights.length}`);
  } finally {
    pair.close();
  }
});

test('duplicated and reordered datagrams: handshake completes, data delivered once (replay window)', {
  timeout: 20_000,
}, async () => {
  const held = new Map<string, Buffer>();
  const relay: Relay = (d, dir) => {
    // Per direction, hold every other datagram back and release it after the next one, duplicated.
    const h = held.get(dir);
    if (!h) {
      held.set(dir, d);
      return [];
    }
    held.delete(dir);
    return [d, h, h];
  };
  const { pair, connected } = await handshake(relay);
  try {
    // A held datagram only leaves with the next one; a retransmission timer provides it.
    await connected;
    const received: string[] = [];
    pair.server.on('data', (b) => received.push(b.toString()));
    for (let i = 0; i < 10; i++) pair.client.send(Buffer.from(`m${i}`));
    // Two more records push out whatever the relay still holds.
    pair.client.send(Buffer.from('flush'));
    pair.client.send(Buffer.from('flush'));
    await new Promise((r) => setTimeout(r, 200));
    // Each datagram arrived twice (and out of order): every message is delivered exactly once.
    const messages = received.filter((m) => m !== 'flush');
    assert.equal(messages.length, 10, `received ${received}`);
    assert.deepEqual(new Set(messages), new Set(Array.from({ length: 10 }, (_, i) => `m${i}`)));
    assert.ok(
      messages.some((m, i) => m !== `m${i}`),
      'the relay reordered something',
    );
  } finally {
    pair.close();
  }
});

test('handshake messages are fragmented to the MTU and reassembled', { timeout: 15_000 }, async () => {
  const { pair, connected } = await handshake(undefined, { mtu: 256, server: rsaCert, client: rsaCert });
  try {
    const [c] = await connected;
    assert.equal(c.cipherSuite, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    for (const dir of ['client→server', 'server→client'] as const) {
      for (const d of pair.sent[dir]) assert.ok(d.length <= 256, `${dir} datagram of ${d.length} bytes`);
    }
    // An RSA certificate (~800 bytes) cannot fit in 256: the server flight took several datagrams.
    assert.ok(pair.sent['server→client'].length >= 5);
  } finally {
    pair.close();
  }
});

test('a silent peer: retransmissions back off, then the handshake times out and timers stop', {
  timeout: 15_000,
}, async () => {
  const sendTimes: number[] = [];
  const pair = sessionPair(
    {
      certificate: clientCert,
      remoteFingerprints: fp(serverCert),
      retransmitInitialMs: 50,
      retransmitMaxMs: 400,
      handshakeTimeoutMs: 1500,
    },
    { certificate: serverCert },
    () => {
      sendTimes.push(Date.now());
      return [];
    },
  );
  try {
    const err = waitEvent<DtlsError>(pair.client, 'error', 5000);
    const closed = waitEvent<string>(pair.client, 'closed', 5000);
    pair.client.start();
    assert.match((await err).message, /timed out/);
    assert.equal(await closed, 'handshake timed out');
    const gaps = sendTimes.slice(1).map((t, i) => t - sendTimes[i]!);
    // 50, 100, 200, 400, 400... ms
    assert.ok(gaps.length >= 4 && gaps.length <= 10, `gaps ${gaps}`);
    assert.ok(gaps[2]! > gaps[0]!, `backoff ${gaps}`);
    const count = sendTimes.length;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sendTimes.length, count, 'nothing is sent after the session failed');
  } finally {
    pair.close();
  }
});

test('close() during the handshake cancels the retransmission timer', { timeout: 10_000 }, async () => {
  let sends = 0;
  const pair = sessionPair(
    { certificate: clientCert, retransmitInitialMs: 30 },
    { certificate: serverCert },
    () => {
      sends++;
      return [];
    },
  );
  pair.client.start();
  await new Promise((r) => setTimeout(r, 100));
  pair.client.close();
  const after = sends;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(sends, after);
  assert.equal(pair.client.state, 'closed');
  pair.close();
});

test('server without a cookie exchange answers the first ClientHello directly', {
  timeout: 10_000,
}, async () => {
  const pair = sessionPair(
    { certificate: clientCert, remoteFingerprints: fp(serverCert) },
    { certificate: serverCert, remoteFingerprints: fp(clientCert), cookieExchange: false },
  );
  try {
    const up = Promise.all([waitEvent(pair.client, 'connected'), waitEvent(pair.server, 'connected')]);
    pair.client.start();
    await up;
    // ServerHello is the first server message (handshake type 2 right after the record header).
    assert.equal(pair.sent['server→client'][0]![13], 2);
  } finally {
    pair.close();
  }
});

test('an exception in a data listener reaches the caller of handleDatagram; the session lives on', {
  timeout: 10_000,
}, async () => {
  const { pair, connected } = await handshake();
  try {
    await connected;
    const before = pair.sent['client→server'].length;
    pair.client.send(Buffer.from('one'));
    pair.client.send(Buffer.from('two'));
    const records = pair.sent['client→server'].slice(before);
    // Fed to the server directly, before the relay's copies (which the replay window then drops).
    const boom = new Error('listener bug');
    const seen: string[] = [];
    pair.server.on('data', (d) => {
      seen.push(d.toString());
      if (d.toString() === 'one') throw boom;
    });
    assert.throws(() => pair.server.handleDatagram(records[0]!), boom);
    pair.server.handleDatagram(records[1]!);
    assert.equal(pair.server.state, 'connected');
    assert.deepEqual(seen, ['one', 'two']);
  } finally {
    pair.close();
  }
});

test('a server that has accepted no ClientHello drops junk handshake messages and still serves the real client', {
  timeout: 10_000,
}, async () => {
  const pair = sessionPair(
    { certificate: clientCert, remoteFingerprints: fp(serverCert) },
    { certificate: serverCert, remoteFingerprints: fp(clientCert) },
  );
  try {
    const junk = (msgType: number, body: Buffer) => {
      const hs = Buffer.alloc(12 + body.length);
      hs[0] = msgType;
      hs.writeUIntBE(body.length, 1, 3);
      hs.writeUIntBE(body.length, 9, 3);
      body.copy(hs, 12);
      const rec = Buffer.alloc(13 + hs.length);
      rec[0] = 22;
      rec.writeUInt16BE(0xfefd, 1);
      rec.writeUInt16BE(hs.length, 11);
      hs.copy(rec, 13);
      return rec;
    };
    pair.server.handleDatagram(junk(11, Buffer.alloc(40))); // a Certificate out of nowhere
    pair.server.handleDatagram(junk(1, Buffer.from([0xfe, 0xfd, 1, 2, 3]))); // a truncated ClientHello
    assert.equal(pair.server.state, 'new');
    assert.equal(pair.sent['server→client'].length, 0, 'no alert, no reply');
    const up = Promise.all([waitEvent(pair.client, 'connected'), waitEvent(pair.server, 'connected')]);
    pair.client.start();
    await up;
  } finally {
    pair.close();
  }
});
