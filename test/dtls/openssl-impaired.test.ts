/** openssl peers through a lossy UDP relay, and openssl attempting renegotiation. */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, test } from 'node:test';
import {
  type DtlsCertificate,
  type DtlsConnection,
  fingerprint,
  generateCertificate,
} from '../../src/transport/dtls/index.js';
import {
  KEYING_MATERIAL,
  type OpensslProcess,
  opensslCertificate,
  opensslDtlsClient,
  opensslDtlsServer,
  type TempCert,
  udpRelay,
  udpSession,
} from './helpers.js';

let cert: DtlsCertificate;
let peer: TempCert;
before(() => {
  cert = generateCertificate();
  peer = opensslCertificate('ecdsa');
});
after(() => peer.remove());

const waitConnected = (s: { once(e: 'connected', f: (c: DtlsConnection) => void): unknown }, ms = 15_000) =>
  new Promise<DtlsConnection>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('not connected in time')), ms);
    s.once('connected', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });

async function freePort(): Promise<number> {
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test('openssl s_client through a relay that drops, duplicates and reorders: handshake completes', {
  timeout: 40_000,
}, async () => {
  const server = await udpSession({
    role: 'server',
    certificate: cert,
    remoteFingerprints: [{ algorithm: 'sha-256', value: fingerprint(peer.der) }],
    retransmitInitialMs: 300,
  });
  // client→server: drop the first ClientHello, then the first copy of the client's last flight;
  // server→client: drop the first datagram, duplicate everything, hold back every other one.
  let clientFinalDropped = false;
  const heldBack = new Map<string, Buffer>();
  const relay = await udpRelay(server.port, (d, dir, i) => {
    if (i === 0) return [];
    if (dir === 'client→server' && !clientFinalDropped && d.includes(Buffer.from([20, 0xfe, 0xfd]))) {
      clientFinalDropped = true;
      return [];
    }
    if (dir === 'server→client') {
      const h = heldBack.get(dir);
      if (!h && i % 2 === 1) {
        heldBack.set(dir, d);
        // Sent after the next datagram (reordered); lost if none follows in the same tick.
        setTimeout(() => {
          if (heldBack.get(dir) === d) heldBack.delete(dir);
        }, 0);
        return [];
      }
      heldBack.delete(dir);
      return h ? [d, d, h] : [d, d];
    }
    return [d];
  });
  let client: OpensslProcess | undefined;
  try {
    const connected = waitConnected(server.session);
    client = opensslDtlsClient(relay.port, { identity: peer, keyingMaterialBytes: 56 });
    await connected;
    const [, theirs] = await client.waitFor(KEYING_MATERIAL, 20_000);
    assert.equal(
      server.session.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 56).toString('hex').toUpperCase(),
      theirs,
    );
    assert.ok(clientFinalDropped, 'the client final flight was dropped once and retransmitted');
    assert.ok(relay.counts['client→server'] >= 4, `client datagrams ${relay.counts['client→server']}`);
  } finally {
    await client?.stop();
    relay.close();
    server.close();
  }
});

test('our server refuses renegotiation from openssl s_client with no_renegotiation, keys unchanged', {
  timeout: 20_000,
}, async () => {
  const server = await udpSession({
    role: 'server',
    certificate: cert,
    remoteFingerprints: [{ algorithm: 'sha-256', value: fingerprint(peer.der) }],
  });
  const client = opensslDtlsClient(server.port, { identity: peer, extraArgs: ['-msg'] });
  try {
    await waitConnected(server.session);
    await client.waitFor(/SSL-Session/);
    const keysBefore = server.session.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 56);
    const mark = client.output().length;
    client.child.stdin.write('R\n'); // s_client: renegotiate
    // openssl prints the records it receives (<<<): our answer is a warning alert no_renegotiation (1, 100).
    await client.waitFor(/RENEGOTIATING[\s\S]*<<< [^\n]*content_type=21[^\n]*\n\s+01 64/);
    const afterRenegotiation = client.output().slice(mark);
    assert.doesNotMatch(
      afterRenegotiation,
      /<<< [^\n]*content_type=22/,
      'no handshake message (no ServerHello) in reply',
    );
    // OpenSSL treats the refusal as fatal for its renegotiation; our keys never changed.
    assert.deepEqual(server.session.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 56), keysBefore);
  } finally {
    await client.stop();
    server.close();
  }
});

test('our client refuses a HelloRequest from openssl s_server with no_renegotiation', {
  timeout: 20_000,
}, async () => {
  const port = await freePort();
  const server = opensslDtlsServer(port, { identity: peer, extraArgs: ['-msg'] });
  const client = await udpSession(
    {
      role: 'client',
      certificate: cert,
      remoteFingerprints: [{ algorithm: 'sha-256', value: fingerprint(peer.der) }],
    },
    port,
  );
  try {
    await server.waitFor(/ACCEPT/);
    const connected = waitConnected(client.session);
    client.session.start();
    await connected;
    await server.waitFor(/CIPHER is/);
    const keysBefore = client.session.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 56);
    const mark = server.output().length;
    server.child.stdin.write('R\n'); // s_server: send HelloRequest
    await server.waitFor(/<<< [^\n]*content_type=21[^\n]*\n\s+01 64/);
    assert.doesNotMatch(server.output().slice(mark), /<<< [^\n]*content_type=22/, 'no ClientHello in reply');
    assert.deepEqual(client.session.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 56), keysBefore);
  } finally {
    client.close();
    await server.stop();
  }
});

test('small MTU: openssl reassembles our fragmented handshake messages (RSA certificate, MTU 300) both ways', {
  timeout: 30_000,
}, async () => {
  const rsa = generateCertificate({ keyType: 'rsa' });
  const rsaPeer = opensslCertificate('rsa');
  const sizes: number[] = [];
  const server = await udpSession({
    role: 'server',
    certificate: rsa,
    mtu: 300,
    remoteFingerprints: [{ algorithm: 'sha-256', value: fingerprint(rsaPeer.der) }],
  });
  const originalSend = server.socket.send.bind(server.socket);
  server.socket.send = ((msg: Buffer, ...rest: unknown[]) => {
    sizes.push(msg.length);
    return (originalSend as (...a: unknown[]) => void)(msg, ...rest);
  }) as typeof server.socket.send;
  const client = opensslDtlsClient(server.port, {
    identity: rsaPeer,
    keyingMaterialBytes: 56,
    extraArgs: ['-mtu', '300'],
  });
  try {
    await waitConnected(server.session);
    const [, theirs] = await client.waitFor(KEYING_MATERIAL);
    assert.equal(
      server.session.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 56).toString('hex').toUpperCase(),
      theirs,
    );
    assert.ok(sizes.length >= 6, `server datagrams: ${sizes}`);
    assert.ok(
      sizes.every((n) => n <= 300),
      `server datagrams: ${sizes}`,
    );
  } finally {
    await client.stop();
    server.close();
  }

  const port = await freePort();
  const sServer = opensslDtlsServer(port, {
    identity: rsaPeer,
    keyingMaterialBytes: 56,
    extraArgs: ['-mtu', '300'],
  });
  const ours = await udpSession(
    {
      role: 'client',
      certificate: rsa,
      mtu: 300,
      remoteFingerprints: [{ algorithm: 'sha-256', value: fingerprint(rsaPeer.der) }],
    },
    port,
  );
  try {
    await sServer.waitFor(/ACCEPT/);
    const connected = waitConnected(ours.session);
    ours.session.start();
    await connected;
    const [, theirs] = await sServer.waitFor(KEYING_MATERIAL);
    assert.equal(
      ours.session.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 56).toString('hex').toUpperCase(),
      theirs,
    );
  } finally {
    ours.close();
    await sServer.stop();
    rsaPeer.remove();
  }
});
