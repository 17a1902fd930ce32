/**
 * The endpoint's per-packet paths, after a real ICE check and DTLS handshake over loopback UDP
 * (our DTLS client on a raw socket plays the browser):
 *   receive: listener routing → RFC 7983 demux → SRTP unprotect → onRtp, versus a bare
 *            SrtpSession.unprotectRtp on the same kind of packets;
 *   send:    sendRtp (protect + dgram send on the selected tuple), versus protect + send by hand.
 *   npx tsx bench/ice-endpoint.ts
 */
import { createSocket } from 'node:dgram';
import {
  SRTP_PROFILES as DTLS_SRTP_PROFILES,
  DtlsSession,
  fingerprints,
  generateCertificate,
} from '../src/transport/dtls/index.js';
import { WebRtcEndpoint } from '../src/transport/endpoint/index.js';
import { classifyPacket, PacketKind } from '../src/transport/ice/index.js';
import { SrtpSession, srtpProfileById } from '../src/transport/srtp/index.js';
import { StunAttr, StunBuilder, StunClass, StunMethod, shortTermKey } from '../src/wire/stun/index.js';

const PACKETS = 20_000;
const PAYLOAD = 1100;

const endpoint = await WebRtcEndpoint.create({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
const clientCertificate = generateCertificate();
endpoint.connect({ role: 'client', fingerprints: fingerprints(clientCertificate.der) });
const port = endpoint.iceCandidates[0]!.port;

const socket = createSocket('udp4');
await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
const dtls = new DtlsSession({
  role: 'client',
  certificate: clientCertificate,
  remoteFingerprints: endpoint.dtlsParameters.fingerprints,
  send: (datagram) => socket.send(datagram, port, '127.0.0.1'),
});
let sinkCount = 0;
socket.on('message', (msg) => {
  if (classifyPacket(msg) === PacketKind.Dtls) dtls.handleDatagram(msg);
  else sinkCount++;
});
const check = new StunBuilder(StunMethod.Binding, StunClass.Request)
  .add(StunAttr.Username, `${endpoint.iceParameters.usernameFragment}:bench`)
  .addUint32(StunAttr.Priority, 1)
  .addUint64(StunAttr.IceControlling, 1n)
  .addFlag(StunAttr.UseCandidate)
  .addMessageIntegrity(shortTermKey(endpoint.iceParameters.password))
  .addFingerprint()
  .build();
socket.send(check, port, '127.0.0.1');
await new Promise<void>((resolve) => endpoint.once('icestatechange', () => resolve()));
const connected = Promise.all([
  new Promise<void>((resolve) => endpoint.once('connected', () => resolve())),
  new Promise<void>((resolve) => dtls.once('connected', () => resolve())),
]);
dtls.start();
await connected;
const keys = dtls.srtpKeyingMaterial();
const profile = srtpProfileById(DTLS_SRTP_PROFILES.find((p) => p.name === keys.profile)!.id)!;
const client = new SrtpSession({
  profile: profile.name,
  localKey: keys.localMasterKey,
  localSalt: keys.localMasterSalt,
  remoteKey: keys.remoteMasterKey,
  remoteSalt: keys.remoteMasterSalt,
});
console.log(
  `ICE ${endpoint.iceState}, DTLS ${endpoint.dtlsState}, SRTP ${profile.name}; ${PACKETS} packets of ${PAYLOAD} B payload`,
);

function rtpPacket(ssrc: number, seq: number): Buffer {
  const packet = Buffer.alloc(12 + PAYLOAD, 0xab);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE(seq * 3000, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

function protectAll(ssrc: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < PACKETS; i++) {
    const protectedPacket = client.protectRtp(rtpPacket(ssrc, i));
    if (typeof protectedPacket === 'number') throw new Error(`protect failed: ${protectedPacket}`);
    out.push(Buffer.from(protectedPacket));
  }
  return out;
}

function perPacket(label: string, fn: (i: number) => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < PACKETS; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - start) / PACKETS;
  console.log(
    `${label.padEnd(60)} ${ns.toFixed(0).padStart(7)} ns/packet ${(1e6 / ns).toFixed(0).padStart(6)} k/s`,
  );
  return ns;
}

// Receive. A second session with the same keys decrypts the baseline set.
const bare = new SrtpSession({
  profile: profile.name,
  localKey: keys.remoteMasterKey,
  localSalt: keys.remoteMasterSalt,
  remoteKey: keys.localMasterKey,
  remoteSalt: keys.localMasterSalt,
});
// Warm both paths up on packets of their own (each SRTP packet decrypts once: replay window).
const warmBare = protectAll(0x5555);
const warmEndpoint = protectAll(0x6666);
const baselineSet = protectAll(0x1111);
const endpointSet = protectAll(0x2222);
let received = 0;
endpoint.onRtp = () => {
  received++;
};
const tuple = endpoint.iceSelectedTuple!;
for (let i = 0; i < PACKETS; i++) {
  bare.unprotectRtp(warmBare[i]!);
  endpoint.ice.handlePacket(warmEndpoint[i]!, tuple);
}
const bareNs = perPacket('baseline: SrtpSession.unprotectRtp', (i) => {
  if (typeof bare.unprotectRtp(baselineSet[i]!) !== 'number') received++;
});
const before = received;
const endpointNs = perPacket('endpoint receive: demux + unprotect + onRtp', (i) => {
  endpoint.ice.handlePacket(endpointSet[i]!, tuple);
});
if (received - before !== PACKETS) throw new Error(`endpoint delivered ${received - before} of ${PACKETS}`);
console.log(`  endpoint receive path = ${(endpointNs / bareNs).toFixed(3)} × bare SRTP unprotect`);

// Send: plain RTP in, SRTP out on the selected tuple.
const sinkPort = socket.address().port;
const plain = Array.from({ length: PACKETS }, (_, i) => rtpPacket(0x3333, i));
const plainBaseline = Array.from({ length: PACKETS }, (_, i) => rtpPacket(0x4444, i));
for (let i = 0; i < 2000; i++) {
  endpoint.sendRtp(rtpPacket(0x7777, i));
  const out = bare.protectRtp(rtpPacket(0x8888, i));
  if (typeof out !== 'number') socket.send(out, sinkPort, '127.0.0.1');
}
const handNs = perPacket('baseline: protectRtp + dgram send by hand', (i) => {
  const out = bare.protectRtp(plainBaseline[i]!);
  if (typeof out !== 'number') socket.send(out, sinkPort, '127.0.0.1');
});
const sendNs = perPacket('endpoint.sendRtp (protect + send on the selected tuple)', (i) => {
  endpoint.sendRtp(plain[i]!);
});
console.log(`  endpoint send path = ${(sendNs / handNs).toFixed(3)} × protect + send by hand`);
await new Promise((r) => setTimeout(r, 300));
console.log(
  `  (the client socket drained ${sinkCount} of ${2 * PACKETS + 4000} sent datagrams; the rest were dropped by the kernel)`,
);

dtls.close();
endpoint.close();
socket.close();
