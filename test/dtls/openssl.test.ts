/** Our DTLS server against `openssl s_client`, and our client against `openssl s_server`. */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, test } from 'node:test';
import {
  type DtlsCertificate,
  type DtlsConnection,
  type DtlsError,
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
  udpSession,
} from './helpers.js';

const OPENSSL_PROFILE_NAMES: Record<string, string> = {
  SRTP_AEAD_AES_128_GCM: 'SRTP_AEAD_AES_128_GCM',
  SRTP_AEAD_AES_256_GCM: 'SRTP_AEAD_AES_256_GCM',
  SRTP_AES128_CM_HMAC_SHA1_80: 'SRTP_AES128_CM_SHA1_80',
  SRTP_AES128_CM_HMAC_SHA1_32: 'SRTP_AES128_CM_SHA1_32',
};
const KEY_LENGTH: Record<string, number> = {
  SRTP_AEAD_AES_128_GCM: 56,
  SRTP_AEAD_AES_256_GCM: 88,
  SRTP_AES128_CM_HMAC_SHA1_80: 60,
  SRTP_AES128_CM_HMAC_SHA1_32: 60,
};

let ecdsaCert: DtlsCertificate;
let rsaCert: DtlsCertificate;
let peerEcdsa: TempCert;
let peerRsa: TempCert;

before(() => {
  ecdsaCert = generateCertificate();
  rsaCert = generateCertificate({ keyType: 'rsa' });
  peerEcdsa = opensslCertificate('ecdsa');
  peerRsa = opensslCertificate('rsa');
});
after(() => {
  peerEcdsa.remove();
  peerRsa.remove();
});

function once<T>(
  emitter: { once(event: string, fn: (v: T) => void): unknown },
  event: string,
  ms = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    emitter.once(event, (v: T) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

interface ServerCase {
  profile: string;
  group: 'X25519' | 'P-256';
  serverKey: 'ecdsa' | 'rsa';
  clientKey: 'ecdsa' | 'rsa';
  cipher?: string;
  expectSuite: string;
}

const serverCases: ServerCase[] = [
  {
    profile: 'SRTP_AEAD_AES_128_GCM',
    group: 'X25519',
    serverKey: 'ecdsa',
    clientKey: 'ecdsa',
    expectSuite: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  },
  {
    profile: 'SRTP_AEAD_AES_256_GCM',
    group: 'P-256',
    serverKey: 'ecdsa',
    clientKey: 'ecdsa',
    expectSuite: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  },
  {
    profile: 'SRTP_AES128_CM_HMAC_SHA1_80',
    group: 'X25519',
    serverKey: 'rsa',
    clientKey: 'ecdsa',
    expectSuite: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  },
  {
    profile: 'SRTP_AES128_CM_HMAC_SHA1_32',
    group: 'P-256',
    serverKey: 'rsa',
    clientKey: 'rsa',
    expectSuite: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  },
  {
    profile: 'SRTP_AEAD_AES_128_GCM',
    group: 'P-256',
    serverKey: 'ecdsa',
    clientKey: 'rsa',
    cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384',
    expectSuite: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  },
  {
    profile: 'SRTP_AEAD_AES_256_GCM',
    group: 'X25519',
    serverKey: 'rsa',
    clientKey: 'ecdsa',
    cipher: 'ECDHE-RSA-AES256-GCM-SHA384',
    expectSuite: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  },
];

for (const c of serverCases) {
  test(`our server ↔ openssl s_client: ${c.profile}, ${c.group}, ${c.serverKey} server / ${c.clientKey} client cert${c.cipher ? `, ${c.cipher}` : ''}`, {
    timeout: 20_000,
  }, async () => {
    const peer = c.clientKey === 'ecdsa' ? peerEcdsa : peerRsa;
    const server = await udpSession({
      role: 'server',
      certificate: c.serverKey === 'ecdsa' ? ecdsaCert : rsaCert,
      remoteFingerprints: [{ algorithm: 'sha-256', value: fingerprint(peer.der) }],
    });
    let client: OpensslProcess | undefined;
    try {
      const connected = once<DtlsConnection>(server.session, 'connected');
      // OpenSSL refuses an ECDSA certificate on a curve it did not offer: offer P-256 second.
      client = opensslDtlsClient(server.port, {
        identity: peer,
        srtpProfile: OPENSSL_PROFILE_NAMES[c.profile]!,
        keyingMaterialBytes: KEY_LENGTH[c.profile],
        groups: c.group === 'X25519' ? 'X25519:P-256' : 'P-256',
        extraArgs: c.cipher ? ['-cipher', c.cipher] : [],
      });
      const info = await connected;
      assert.equal(info.srtpProfile, c.profile);
      assert.equal(info.cipherSuite, c.expectSuite);
      assert.equal(info.namedGroup, c.group === 'X25519' ? 'x25519' : 'secp256r1');
      assert.equal(info.remoteFingerprint.value, fingerprint(peer.der));
      const [, theirs] = await client.waitFor(KEYING_MATERIAL);
      assert.equal(
        server.session
          .exportKeyingMaterial('EXTRACTOR-dtls_srtp', KEY_LENGTH[c.profile]!)
          .toString('hex')
          .toUpperCase(),
        theirs,
      );
      assert.match(
        client.output(),
        new RegExp(`SRTP Extension negotiated, profile=${OPENSSL_PROFILE_NAMES[c.profile]}`),
      );
      assert.match(client.output(), /Extended master secret: yes/);
      assert.match(
        client.output(),
        c.group === 'X25519' ? /Server Temp Key: X25519/ : /Server Temp Key: ECDH, prime256v1/,
      );
      // Application data both ways.
      const received = once<Buffer>(server.session, 'data');
      client.child.stdin.write('ping from openssl\n');
      assert.equal((await received).toString(), 'ping from openssl\n');
      server.session.send(Buffer.from('pong from tureen\n'));
      await client.waitFor(/pong from tureen/);
      // Keying material split as RFC 5764 §4.2: the server's local key is the second key.
      const km = server.session.srtpKeyingMaterial();
      const whole = Buffer.from(theirs!, 'hex');
      const keyLen = km.localMasterKey.length;
      assert.deepEqual(km.remoteMasterKey, whole.subarray(0, keyLen));
      assert.deepEqual(km.localMasterKey, whole.subarray(keyLen, 2 * keyLen));
    } finally {
      await client?.stop();
      server.close();
    }
  });
}

test('our server refuses an openssl client whose certificate does not match the fingerprint', {
  timeout: 20_000,
}, async () => {
  const server = await udpSession({
    role: 'server',
    certificate: ecdsaCert,
    remoteFingerprints: [{ algorithm: 'sha-256', value: fingerprint(peerRsa.der) }],
  });
  const client = opensslDtlsClient(server.port, { identity: peerEcdsa });
  try {
    let connected = false;
    server.session.on('connected', () => {
      connected = true;
    });
    const error = await once<DtlsError>(server.session, 'error');
    assert.equal(error.alert, 42);
    await client.waitFor(/alert bad certificate|sslv3 alert bad certificate/i);
    assert.equal(connected, false);
    assert.equal(server.session.state, 'failed');
  } finally {
    await client.stop();
    server.close();
  }
});

async function freePort(): Promise<number> {
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

interface ClientCase {
  profile: string;
  serverKey: 'ecdsa' | 'rsa';
  clientKey: 'ecdsa' | 'rsa';
  groups: string;
  cipher?: string;
  expectSuite: string;
}

const clientCases: ClientCase[] = [
  {
    profile: 'SRTP_AEAD_AES_128_GCM',
    serverKey: 'ecdsa',
    clientKey: 'ecdsa',
    groups: 'X25519',
    expectSuite: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  },
  {
    profile: 'SRTP_AEAD_AES_256_GCM',
    serverKey: 'rsa',
    clientKey: 'ecdsa',
    groups: 'P-256',
    expectSuite: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  },
  {
    profile: 'SRTP_AES128_CM_HMAC_SHA1_80',
    serverKey: 'ecdsa',
    clientKey: 'rsa',
    groups: 'P-256',
    expectSuite: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  },
  {
    profile: 'SRTP_AES128_CM_HMAC_SHA1_32',
    serverKey: 'rsa',
    clientKey: 'rsa',
    groups: 'X25519',
    expectSuite: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  },
  {
    profile: 'SRTP_AEAD_AES_128_GCM',
    serverKey: 'ecdsa',
    clientKey: 'ecdsa',
    groups: 'P-256',
    cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384',
    expectSuite: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  },
  {
    profile: 'SRTP_AEAD_AES_256_GCM',
    serverKey: 'rsa',
    clientKey: 'rsa',
    groups: 'X25519',
    cipher: 'ECDHE-RSA-AES256-GCM-SHA384',
    expectSuite: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  },
];

for (const c of clientCases) {
  test(`our client ↔ openssl s_server: ${c.profile}, ${c.groups}, ${c.serverKey} server cert / ${c.clientKey} client${c.cipher ? `, ${c.cipher}` : ''}`, {
    timeout: 20_000,
  }, async () => {
    const peer = c.serverKey === 'ecdsa' ? peerEcdsa : peerRsa;
    const port = await freePort();
    const server = opensslDtlsServer(port, {
      identity: peer,
      srtpProfile: OPENSSL_PROFILE_NAMES[c.profile]!,
      keyingMaterialBytes: KEY_LENGTH[c.profile],
      groups: c.groups === 'X25519' ? 'X25519:P-256' : 'P-256',
      extraArgs: c.cipher ? ['-cipher', c.cipher] : [],
    });
    const client = await udpSession(
      {
        role: 'client',
        certificate: c.clientKey === 'ecdsa' ? ecdsaCert : rsaCert,
        remoteFingerprints: [{ algorithm: 'sha-256', value: fingerprint(peer.der) }],
      },
      port,
    );
    try {
      await server.waitFor(/ACCEPT/);
      const connected = once<DtlsConnection>(client.session, 'connected');
      client.session.start();
      const info = await connected;
      assert.equal(info.srtpProfile, c.profile);
      assert.equal(info.cipherSuite, c.expectSuite);
      const [, theirs] = await server.waitFor(KEYING_MATERIAL);
      assert.equal(
        client.session
          .exportKeyingMaterial('EXTRACTOR-dtls_srtp', KEY_LENGTH[c.profile]!)
          .toString('hex')
          .toUpperCase(),
        theirs,
      );
      // openssl verified our client certificate (-Verify 1) and printed it.
      assert.match(server.output(), /Client certificate/);
      assert.equal(info.namedGroup, c.groups === 'X25519' ? 'x25519' : 'secp256r1');
      client.session.send(Buffer.from('ping from tureen\n'));
      await server.waitFor(/ping from tureen/);
      const received = once<Buffer>(client.session, 'data');
      server.child.stdin.write('pong from openssl\n');
      assert.equal((await received).toString(), 'pong from openssl\n');
      const km = client.session.srtpKeyingMaterial();
      const whole = Buffer.from(theirs!, 'hex');
      assert.deepEqual(km.localMasterKey, whole.subarray(0, km.localMasterKey.length));
      // close_notify reaches openssl.
      client.session.close();
      await server.waitFor(/DONE|shutting down SSL|CONNECTION CLOSED/);
    } finally {
      client.close();
      await server.stop();
    }
  });
}

test('our client refuses an openssl server whose certificate does not match the fingerprint', {
  timeout: 20_000,
}, async () => {
  const port = await freePort();
  const server = opensslDtlsServer(port, { identity: peerEcdsa });
  const client = await udpSession(
    {
      role: 'client',
      certificate: ecdsaCert,
      remoteFingerprints: [{ algorithm: 'sha-256', value: fingerprint(peerRsa.der) }],
    },
    port,
  );
  try {
    await server.waitFor(/ACCEPT/);
    const error = once<DtlsError>(client.session, 'error');
    client.session.start();
    assert.equal((await error).alert, 42);
    await server.waitFor(/alert bad certificate/i);
    assert.equal(client.session.state, 'failed');
  } finally {
    client.close();
    await server.stop();
  }
});
