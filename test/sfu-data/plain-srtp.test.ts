/**
 * SRTP on PlainTransport and PipeTransport (`enableSrtp`, `srtpCryptoSuite`, `srtpParameters`,
 * `connect({ srtpParameters })`). The remote peers use werift 0.24.4's SRTP/SRTCP (not ours) for
 * AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM: peer P sends SRTP to transport A (the SFU
 * decrypts, forwards), peer Q decrypts what transport B sends; the SFU's PLI to P is SRTCP.
 * AES_CM_128_HMAC_SHA1_32 and AEAD_AES_256_GCM (werift lacks them) are checked with our own
 * SrtpSession as the peer, and AEAD_AES_256_GCM between pipe transports (pipeToRouter with
 * enableSrtp, two workers).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, test } from 'node:test';
import { RtpHeader, SrtcpSession, SrtpSession as WeriftSrtpSession } from 'werift';
import * as sfu from '../../src/sfu/index.js';
import type { PlainTransport, Router, Worker } from '../../src/sfu/public-types.js';
import { SRTP_PROFILES, type SrtpProfileName, SrtpSession } from '../../src/transport/srtp/index.js';
import { buildRtpPacket } from '../../src/wire/rtp/rtp.js';
import { sleep, waitFor } from '../helpers/wait.js';

let worker: Worker;
let worker2: Worker;
let router: Router;

const mediaCodecs = [
  { kind: 'audio' as const, mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video' as const, mimeType: 'video/VP8', clockRate: 90000 },
];

before(async () => {
  worker = await sfu.createWorker({ logLevel: 'warn' });
  worker2 = await sfu.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs });
});

after(() => {
  worker?.close();
  worker2?.close();
});

interface PeerCrypto {
  protectRtp(packet: Buffer): Buffer;
  unprotectRtp(packet: Buffer): Buffer | undefined;
  unprotectRtcp(packet: Buffer): Buffer | undefined;
}

function split(suite: SrtpProfileName, keyBase64: string): { key: Buffer; salt: Buffer } {
  const bytes = Buffer.from(keyBase64, 'base64');
  const { keyLength } = SRTP_PROFILES[suite];
  return { key: bytes.subarray(0, keyLength), salt: bytes.subarray(keyLength) };
}

/** werift's SRTP (profiles 1 and 7) or, for the suites werift lacks, our own SrtpSession. */
function peerCrypto(suite: SrtpProfileName, local: string, remote: string): PeerCrypto {
  const l = split(suite, local);
  const r = split(suite, remote);
  const weriftProfile = { AES_CM_128_HMAC_SHA1_80: 1, AEAD_AES_128_GCM: 7 }[suite as string] as
    | 1
    | 7
    | undefined;
  if (weriftProfile) {
    const keys = {
      localMasterKey: l.key,
      localMasterSalt: l.salt,
      remoteMasterKey: r.key,
      remoteMasterSalt: r.salt,
    };
    const rtp = new WeriftSrtpSession({ keys, profile: weriftProfile });
    const rtcp = new SrtcpSession({ keys, profile: weriftProfile });
    const attempt = (f: () => Buffer) => {
      try {
        return f();
      } catch {
        return undefined;
      }
    };
    return {
      protectRtp: (p) => {
        const header = RtpHeader.deSerialize(p);
        return rtp.encrypt(p.subarray(header.payloadOffset), header);
      },
      unprotectRtp: (p) => attempt(() => rtp.decrypt(p)),
      unprotectRtcp: (p) => attempt(() => rtcp.decrypt(p)),
    };
  }
  const ours = new SrtpSession({
    profile: suite,
    localKey: l.key,
    localSalt: l.salt,
    remoteKey: r.key,
    remoteSalt: r.salt,
  });
  const copy = (out: Buffer | number) => (typeof out === 'number' ? undefined : Buffer.from(out));
  return {
    protectRtp: (p) => copy(ours.protectRtp(p))!,
    unprotectRtp: (p) => copy(ours.unprotectRtp(p)),
    unprotectRtcp: (p) => copy(ours.unprotectRtcp(p)),
  };
}

interface Peer {
  socket: Socket;
  crypto: PeerCrypto;
  transport: PlainTransport;
  rtp: Buffer[];
  rtcp: Buffer[];
  undecryptable: number;
}

/** A PlainTransport with SRTP and a UDP peer that encrypts with its own key. */
async function srtpPeer(suite: SrtpProfileName): Promise<Peer> {
  const transport = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    rtcpMux: true,
    enableSrtp: true,
    srtpCryptoSuite: suite,
  });
  assert.equal(transport.srtpParameters?.cryptoSuite, suite);
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { keyLength, saltLength } = SRTP_PROFILES[suite];
  const keyBase64 = randomBytes(keyLength + saltLength).toString('base64');
  await transport.connect({
    ip: '127.0.0.1',
    port: socket.address().port,
    srtpParameters: { cryptoSuite: suite, keyBase64 },
  });
  const peer: Peer = {
    socket,
    crypto: peerCrypto(suite, keyBase64, transport.srtpParameters!.keyBase64),
    transport,
    rtp: [],
    rtcp: [],
    undecryptable: 0,
  };
  socket.on('message', (packet) => {
    const isRtcp = packet[1]! >= 192 && packet[1]! <= 223;
    const plain = isRtcp ? peer.crypto.unprotectRtcp(packet) : peer.crypto.unprotectRtp(packet);
    if (!plain) peer.undecryptable++;
    else (isRtcp ? peer.rtcp : peer.rtp).push(plain);
  });
  return peer;
}

const SUITES: SrtpProfileName[] = [
  'AES_CM_128_HMAC_SHA1_80',
  'AEAD_AES_128_GCM',
  'AES_CM_128_HMAC_SHA1_32',
  'AEAD_AES_256_GCM',
];

for (const suite of SUITES) {
  test(`PlainTransport SRTP ${suite}: peer → SFU decrypts → SFU encrypts → peer; SRTCP PLI`, async () => {
    const p = await srtpPeer(suite);
    const q = await srtpPeer(suite);
    try {
      const audio = await p.transport.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
          encodings: [{ ssrc: 1111 }],
        },
      });
      const video = await p.transport.produce({
        kind: 'video',
        rtpParameters: {
          codecs: [
            {
              mimeType: 'video/VP8',
              payloadType: 96,
              clockRate: 90000,
              rtcpFeedback: [{ type: 'nack', parameter: 'pli' }],
            },
          ],
          encodings: [{ ssrc: 2222 }],
        },
      });
      const consumer = await q.transport.consume({
        producerId: audio.id,
        rtpCapabilities: router.rtpCapabilities,
      });
      const videoConsumer = await q.transport.consume({
        producerId: video.id,
        rtpCapabilities: router.rtpCapabilities,
      });
      const payloads = Array.from({ length: 50 }, (_, i) => randomBytes(20 + i * 10));
      for (let i = 0; i < payloads.length; i++) {
        const packet = buildRtpPacket(
          { payloadType: 111, sequenceNumber: 1000 + i, timestamp: 960 * i, ssrc: 1111 },
          payloads[i]!,
        );
        p.socket.send(p.crypto.protectRtp(packet), p.transport.tuple.localPort, '127.0.0.1');
        // A packet encrypted with the wrong key is dropped by the SFU.
        if (i === 10)
          p.socket.send(
            randomBytes(packet.length + 10).fill(0x80, 0, 1),
            p.transport.tuple.localPort,
            '127.0.0.1',
          );
      }
      await waitFor('forwarded SRTP at Q', () => q.rtp.length >= payloads.length, {
        timeoutMs: 10_000,
        intervalMs: 10,
      });
      const consumerSsrc = consumer.rtpParameters.encodings![0]!.ssrc!;
      q.rtp.forEach((packet, i) => {
        assert.equal(packet.readUInt32BE(8), consumerSsrc);
        assert.ok(packet.subarray(12).equals(payloads[i]!), `payload ${i}`);
      });
      assert.equal(q.undecryptable, 0);

      // A key frame request for the video consumer reaches P as SRTCP (PLI, RFC 4585).
      await videoConsumer.requestKeyFrame();
      await waitFor('PLI at P', () => p.rtcp.length > 0, { timeoutMs: 10_000, intervalMs: 10 });
      const pli = p.rtcp[0]!;
      assert.equal(pli[1], 206);
      assert.equal(pli[0]! & 0x1f, 1);
      assert.equal(pli.readUInt32BE(8), 2222);
      assert.equal(p.undecryptable, 0);
    } finally {
      for (const peer of [p, q]) {
        peer.socket.close();
        peer.transport.close();
      }
    }
  });
}

test('PlainTransport SRTP: connect() with another suite switches ours; bad srtpParameters are refused', async () => {
  const transport = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    enableSrtp: true,
    srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
  });
  try {
    await assert.rejects(
      transport.connect({
        ip: '127.0.0.1',
        port: 9999,
        srtpParameters: { cryptoSuite: 'AEAD_AES_128_GCM', keyBase64: randomBytes(10).toString('base64') },
      }),
      TypeError,
    );
    await transport.connect({
      ip: '127.0.0.1',
      port: 9999,
      srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: randomBytes(44).toString('base64') },
    });
    assert.equal(transport.srtpParameters?.cryptoSuite, 'AEAD_AES_256_GCM');
    assert.equal(Buffer.from(transport.srtpParameters!.keyBase64, 'base64').length, 44);
  } finally {
    transport.close();
  }
});

test('pipeToRouter with enableSrtp (AEAD_AES_256_GCM) carries RTP between workers', async () => {
  const routerB = await worker2.createRouter({ mediaCodecs });
  try {
    const direct = await router.createDirectTransport();
    const producer = await direct.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
        encodings: [{ ssrc: 3333 }],
      },
    });
    const pipeSuites: (string | undefined)[] = [];
    routerB.observer.on('newtransport', (t) => {
      if (t.constructor.name === 'PipeTransport')
        pipeSuites.push((t as PlainTransport).srtpParameters?.cryptoSuite);
    });
    const { pipeConsumer } = await router.pipeToRouter({
      producerId: producer.id,
      router: routerB,
      enableSrtp: true,
    });
    assert.ok(pipeConsumer);
    const sink = await routerB.createDirectTransport();
    const consumer = await sink.consume({
      producerId: producer.id,
      rtpCapabilities: routerB.rtpCapabilities,
    });
    const got: Buffer[] = [];
    consumer.on('rtp', (packet) => got.push(packet));
    const payloads = Array.from({ length: 30 }, (_, i) => randomBytes(40 + i));
    for (let i = 0; i < payloads.length; i++) {
      producer.send(
        buildRtpPacket({ payloadType: 111, sequenceNumber: i, timestamp: 960 * i, ssrc: 3333 }, payloads[i]!),
      );
      await sleep(2);
    }
    await waitFor('RTP through the SRTP pipe', () => got.length >= payloads.length, {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    for (const [i, packet] of got.entries())
      assert.ok(packet.subarray(12).equals(payloads[i]!), `payload ${i}`);
    assert.deepEqual(pipeSuites, ['AEAD_AES_256_GCM']);
  } finally {
    routerB.close();
  }
});
