/**
 * A repair that reaches the SFU more than 100 packets late (RFC 3550 MAX_MISORDER) is not
 * forwarded, but a receiver's NACK for that hole is answered with it from the Producer's store.
 *
 * Both peers are our own client stack in Node (src/load/media-transport.ts: UDP, ICE check, our
 * DTLS client, SRTP) on the SFU's WebRtcTransports, so the test controls when the repair is sent
 * and sees the exact bytes re-sent — a browser receiver shows neither:
 * - the producer client sends VP8 RTP (RTX negotiated) with one packet left out; the SFU NACKs
 *   it; the client answers over RTX only after 150 more packets;
 * - the consumer client NACKs the hole before and after the repair reached the SFU, as a
 *   receiver that keeps asking does: the first NACK finds nothing, the later one gets the packet
 *   over the consumer's RTX stream, byte for byte the original payload; an immediate repeat
 *   is throttled (RTT); the consumer's getStats counts it.
 * Then the guards of the RetransmissionBuffer fallback, on the buffer itself; and the output
 * continuing right after the last packet sent when a consumer resumes (PlainTransports, own RTP),
 * so what was held back during a pause is no hole for the receiver to NACK.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { clientDtlsParameters, MediaTransport, type TransportInfo } from '../../src/load/media-transport.js';
import { RetransmissionBuffer } from '../../src/media/retransmission-buffer.js';
import * as sfu from '../../src/sfu/index.js';
import type { DtlsParameters, Router, WebRtcTransport, Worker } from '../../src/sfu/public-types.js';
import { generateCertificate } from '../../src/transport/dtls/index.js';
import { buildNack, RtcpReader, RtcpType, RtpfbFmt } from '../../src/wire/rtp/rtcp.js';
import { RtpView } from '../../src/wire/rtp/rtp.js';
import { delay, mediaCodecs, parseRtp, rtpPacket, udpSocket } from '../sfu/helpers.js';

let worker: Worker;
let router: Router;
const certificate = generateCertificate();

before(async () => {
  worker = await sfu.createWorker({ logLevel: 'warn' });
  router = await worker.createRouter({ mediaCodecs });
});

after(() => {
  worker.close();
});

const SSRC = 0x1111_0001;
const RTX_SSRC = 0x1111_0002;
const VP8_PT = 96;
const RTX_PT = 97;
const FIRST = 1000;
const LOST = 1100;
/** The repair goes out once the producer has sent this many packets after the lost one. */
const REPAIR_AFTER = 150;
const LAST = 1300;

async function clientOn(transport: WebRtcTransport): Promise<MediaTransport> {
  const client = new MediaTransport(transport as unknown as TransportInfo, certificate);
  await transport.connect({ dtlsParameters: clientDtlsParameters(certificate) as DtlsParameters });
  await client.connect();
  return client;
}

/** Sequence numbers of the generic NACKs in an RTCP compound packet, for media SSRC `ssrc`. */
function nacked(packet: Buffer, ssrc: number): number[] {
  const seqs: number[] = [];
  const reader = new RtcpReader().reset(packet);
  while (reader.next()) {
    const { buf, offset, contentLength } = reader;
    if (reader.packetType !== RtcpType.RTPFB || reader.fmt !== RtpfbFmt.NACK || contentLength < 16) continue;
    if (buf.readUInt32BE(offset + 8) !== ssrc) continue;
    for (let at = offset + 12; at + 4 <= offset + contentLength; at += 4) {
      const pid = buf.readUInt16BE(at);
      const blp = buf.readUInt16BE(at + 2);
      seqs.push(pid);
      for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) seqs.push((pid + bit + 1) & 0xffff);
    }
  }
  return seqs;
}

async function until(what: string, condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await condition()); await delay(20))
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
}

type Stats = Record<string, number>;

test('a repair that reached the SFU > 100 packets late is not forwarded, but the receiver NACK gets it', {
  timeout: 60_000,
}, async () => {
  const listenInfos = [{ protocol: 'udp' as const, ip: '127.0.0.1' }];
  const sendTransport = await router.createWebRtcTransport({ listenInfos });
  const recvTransport = await router.createWebRtcTransport({ listenInfos });
  const clients: MediaTransport[] = [];
  try {
    const [sender, receiver] = await Promise.all([clientOn(sendTransport), clientOn(recvTransport)]);
    clients.push(sender, receiver);
    const producer = await sendTransport.produce({
      kind: 'video',
      rtpParameters: {
        codecs: [
          {
            mimeType: 'video/VP8',
            payloadType: VP8_PT,
            clockRate: 90000,
            rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
          },
          { mimeType: 'video/rtx', payloadType: RTX_PT, clockRate: 90000, parameters: { apt: VP8_PT } },
        ],
        encodings: [{ ssrc: SSRC, rtx: { ssrc: RTX_SSRC } }],
      },
    });
    const consumer = await recvTransport.consume({
      producerId: producer.id,
      rtpCapabilities: router.rtpCapabilities,
    });
    const outSsrc = consumer.rtpParameters.encodings![0]!.ssrc!;
    const outRtxSsrc = consumer.rtpParameters.encodings![0]!.rtx?.ssrc;
    const outRtxPt = consumer.rtpParameters.codecs.find(
      (c) => c.mimeType.toLowerCase() === 'video/rtx',
    )?.payloadType;
    assert.ok(outRtxSsrc !== undefined && outRtxPt !== undefined, 'the consumer negotiated RTX');

    // Payloads: a VP8 descriptor byte, the input sequence number, random bytes.
    const payloads = new Map<number, Buffer>();
    const payloadOf = (seq: number) => {
      let payload = payloads.get(seq);
      if (!payload) {
        payload = Buffer.concat([Buffer.from([0x10, seq >> 8, seq & 0xff]), randomBytes(300)]);
        payloads.set(seq, payload);
      }
      return payload;
    };
    const media = (seq: number) =>
      rtpPacket({
        payloadType: VP8_PT,
        sequenceNumber: seq,
        timestamp: seq * 3000,
        ssrc: SSRC,
        payload: payloadOf(seq),
      });

    // What the SFU NACKs to the producer; what reaches the consumer (by its payload's input seq).
    const sfuNacks = new Set<number>();
    sender.onRtcp = (packet) => {
      for (const seq of nacked(packet, SSRC)) sfuNacks.add(seq);
    };
    const forwarded = new Map<number, number>(); // input seq → output seq
    const resent: { osn: number; payload: Buffer }[] = [];
    receiver.onRtp = (buf, length) => {
      const rtp = parseRtp(Buffer.from(buf.subarray(0, length)));
      if (rtp.ssrc === outSsrc && rtp.payload.length > 3) {
        forwarded.set(rtp.payload.readUInt16BE(1), rtp.sequenceNumber);
      } else if (rtp.ssrc === outRtxSsrc && rtp.payloadType === outRtxPt) {
        resent.push({ osn: rtp.payload.readUInt16BE(0), payload: Buffer.from(rtp.payload.subarray(2)) });
      }
    };

    const sendRange = async (from: number, to: number) => {
      for (let seq = from; seq <= to; seq++) {
        if (seq !== LOST) sender.sendRtp(...withLength(media(seq)));
        if (seq % 10 === 9) await delay(10);
      }
    };
    // The stream with LOST left out (bursts of 10 every 10 ms), until the receiver sees the hole.
    await sendRange(FIRST, LOST + 1);
    await until('the stream reaching the receiver', () => forwarded.has(LOST + 1));
    const outLost = (forwarded.get(LOST - 1)! + 1) & 0xffff;
    assert.equal(
      forwarded.get(LOST + 1),
      (outLost + 1) & 0xffff,
      'the output has a hole for the lost packet',
    );
    assert.ok(sfuNacks.has(LOST), `the SFU NACKed ${LOST} to the producer`);

    // The receiver NACKs the hole before the repair reached the SFU: nothing to send yet.
    const nack = buildNack(0x5eed, outSsrc, [outLost]);
    receiver.sendRtcp(nack);
    await until('the SFU to count the NACK', async () => {
      const [c] = (await consumer.getStats()) as unknown as Stats[];
      return c!.nackCount! >= 1;
    });
    const [beforeRepair] = (await consumer.getStats()) as unknown as Stats[];

    // REPAIR_AFTER packets after the hole (the SFU NACKs it meanwhile), then the repair.
    await sendRange(LOST + 2, LOST + REPAIR_AFTER);
    // The repair, RFC 4588: RTX SSRC and PT, the original sequence number before the payload.
    const repair = rtpPacket({
      payloadType: RTX_PT,
      sequenceNumber: 1,
      timestamp: LOST * 3000,
      ssrc: RTX_SSRC,
      payload: Buffer.concat([Buffer.from([LOST >> 8, LOST & 0xff]), payloadOf(LOST)]),
    });
    sender.sendRtp(repair, repair.length);
    await until('the SFU to take the repair', async () => {
      const [p] = (await producer.getStats()) as unknown as Stats[];
      return p!.packetsRetransmitted! >= 1;
    });
    await sendRange(LOST + REPAIR_AFTER + 1, LAST);
    await until('the stream after the repair', () => forwarded.has(LAST));
    assert.ok(!forwarded.has(LOST), 'the repair, 150 behind the newest, was not forwarded');
    assert.equal(resent.length, 0, 'nothing was re-sent before the repair reached the SFU');

    // The receiver asks again (twice at once: the second is within the RTT, throttled).
    receiver.sendRtcp(nack);
    receiver.sendRtcp(nack);
    await until('the retransmission', () => resent.length >= 1);
    await delay(300);
    assert.equal(resent.length, 1, 'one retransmission for two NACKs within an RTT');
    assert.equal(resent[0]!.osn, outLost, 'RTX carries the hole output sequence number');
    assert.deepEqual(resent[0]!.payload, payloadOf(LOST), 'the original payload, byte for byte');
    assert.ok(!forwarded.has(LOST), 'still not on the media stream');

    const [c] = (await consumer.getStats()) as unknown as Stats[];
    console.log('sfu-media late repair', JSON.stringify({ beforeRepair, consumer: c }));
    assert.equal(beforeRepair!.packetsRetransmitted, 0, 'the first NACK found nothing');
    assert.equal(c!.nackCount, 3);
    assert.equal(c!.packetsRetransmitted, 1);
    assert.equal(c!.packetsRepaired, 1);

    // Once the RTT passed, a NACK for it is answered again (the normal path from now on).
    await delay(150);
    receiver.sendRtcp(nack);
    await until('the second retransmission', () => resent.length >= 2);
    assert.deepEqual(resent[1]!.payload, payloadOf(LOST));
    const [again] = (await consumer.getStats()) as unknown as Stats[];
    assert.equal(again!.packetsRetransmitted, 2);
    assert.equal(again!.packetsRepaired, 1, 'repaired counts the first re-send only');
  } finally {
    for (const client of clients) client.close();
    sendTransport.close();
    recvTransport.close();
  }
});

function withLength(packet: Buffer): [Buffer, number] {
  return [packet, packet.length];
}

test('the fallback sends only skipped sequence numbers behind the newest, within the window and age', () => {
  let now = 0;
  const sent: number[] = [];
  // The "Producer store": any sequence number but 5005 (as if it never arrived).
  const fetched: number[] = [];
  const buffer = new RetransmissionBuffer({
    maxPackets: 16,
    maxAgeMs: 1000,
    send: (buf) => sent.push(buf.readUInt16BE(2)),
    fetch: (seq, out) => {
      fetched.push(seq);
      if (seq === 5005) return -1;
      return rtpPacket({
        payloadType: 96,
        sequenceNumber: seq,
        timestamp: 0,
        ssrc: 1,
        payload: Buffer.alloc(10),
      }).copy(out);
    },
  });
  const view = new RtpView();
  const store = (seq: number) => {
    view.reset(
      rtpPacket({ payloadType: 96, sequenceNumber: seq, timestamp: 0, ssrc: 1, payload: Buffer.alloc(10) }),
    );
    buffer.store(view, now);
  };
  for (let seq = 5000; seq < 5004; seq++) store(seq);
  store(5008); // 5004..5007 skipped
  now = 10;
  assert.equal(buffer.resend(5005, now), false, 'skipped, and the store does not have it');
  assert.equal(buffer.resend(5006, now), true, 'skipped, the store has it');
  assert.equal(buffer.resend(5006, now + 5), false, 'throttled within the RTT');
  assert.equal(buffer.throttled, 1);
  assert.equal(buffer.resend(5009, now), false, 'ahead of the newest');
  assert.equal(buffer.resend(5008 - 20, now), false, 'behind the window');
  assert.deepEqual(fetched, [5005, 5006], 'fetch is not asked for what is ahead or outside the window');
  assert.equal(buffer.resend(5007, 2000), false, 'older than maxAgeMs');
  // A jump larger than the window: the holes of the last window only; the old ones are gone.
  store(5040);
  assert.equal(buffer.resend(5007, now), false, 'an old hole, now outside the window');
  assert.equal(buffer.resend(5030, now), true);
  assert.equal(buffer.resend(5020, now), false, 'beyond the window behind the new newest');
  assert.deepEqual(sent, [5006, 5030]);
  assert.equal(buffer.retransmitted, 2);
  assert.equal(buffer.repaired, 2);
});

test('after consumer pause/resume the output continues right after the last packet sent', {
  timeout: 30_000,
}, async () => {
  const inbound = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    comedia: true,
  });
  const outbound = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
  const sender = await udpSocket();
  const receiver = await udpSocket();
  try {
    await outbound.connect({ ip: '127.0.0.1', port: receiver.address().port });
    const producer = await inbound.produce({
      kind: 'video',
      rtpParameters: {
        codecs: [{ mimeType: 'video/VP8', payloadType: VP8_PT, clockRate: 90000 }],
        encodings: [{ ssrc: SSRC }],
      },
    });
    const consumer = await outbound.consume({
      producerId: producer.id,
      rtpCapabilities: router.rtpCapabilities,
    });
    const forwarded = new Map<number, number>(); // input seq → output seq
    receiver.on('message', (packet: Buffer) => {
      const rtp = parseRtp(packet);
      if (rtp.payload.length >= 3 && rtp.ssrc !== SSRC)
        forwarded.set(rtp.payload.readUInt16BE(1), rtp.sequenceNumber);
    });
    const sendRange = async (from: number, to: number) => {
      for (let seq = from; seq <= to; seq++) {
        const payload = Buffer.from([0x10, seq >> 8, seq & 0xff, 0, 0, 0, 0, 0]);
        sender.send(
          rtpPacket({ payloadType: VP8_PT, sequenceNumber: seq, timestamp: seq * 3000, ssrc: SSRC, payload }),
          inbound.tuple.localPort,
          '127.0.0.1',
        );
        if (seq % 10 === 9) await delay(10);
      }
    };
    await sendRange(2000, 2049);
    await until('the first packets', () => forwarded.has(2049));
    await consumer.pause();
    await sendRange(2050, 2099);
    await consumer.resume();
    await sendRange(2100, 2119);
    await until('the packets after the resume', () => forwarded.has(2119));
    assert.ok(![...forwarded.keys()].some((seq) => seq >= 2050 && seq < 2100), 'nothing sent while paused');
    assert.equal(forwarded.get(2100), (forwarded.get(2049)! + 1) & 0xffff, 'no gap at the resume');
    assert.equal((forwarded.get(2119)! - forwarded.get(2100)!) & 0xffff, 19);
  } finally {
    sender.close();
    receiver.close();
    inbound.close();
    outbound.close();
  }
});
