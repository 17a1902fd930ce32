/**
 * ICE-lite benchmarks: Binding requests handled per second (parse + FINGERPRINT + USERNAME +
 * MESSAGE-INTEGRITY verification + success response with MESSAGE-INTEGRITY and FINGERPRINT),
 * in process and over a loopback UDP socket; and the per-datagram cost of RFC 7983
 * classification and of the listener's 5-tuple routing. Figures are quoted with ratios to
 * baselines measured in the same run.
 *   npx tsx bench/ice.ts
 */
import { createHmac } from 'node:crypto';
import { createSocket } from 'node:dgram';
import {
  classifyPacket,
  IceLiteServer,
  type IceTuple,
  type IceTupleOwner,
  PacketKind,
  UdpIceListener,
} from '../src/transport/ice/index.js';
import {
  parseStun,
  StunAttr,
  StunBuilder,
  StunClass,
  type StunMessage,
  StunMethod,
  StunParseError,
  shortTermKey,
} from '../src/wire/stun/index.js';

function timeIt(label: string, iterations: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(
    `${label.padEnd(58)} ${ns.toFixed(1).padStart(9)} ns/op  ${(1e9 / ns / 1000).toFixed(0).padStart(8)} k/s`,
  );
  return ns;
}

function request(ufrag: string, password: string, useCandidate: boolean): Buffer {
  const b = new StunBuilder(StunMethod.Binding, StunClass.Request)
    .add(StunAttr.Username, `${ufrag}:remote`)
    .addUint32(StunAttr.Priority, 0x6e7f1eff)
    .addUint64(StunAttr.IceControlling, 0x1234567890n);
  if (useCandidate) b.addFlag(StunAttr.UseCandidate);
  return b.addMessageIntegrity(shortTermKey(password)).addFingerprint().build();
}

const server = new IceLiteServer();
let sent = 0;
const tuple: IceTuple = {
  protocol: 'udp',
  localAddress: '127.0.0.1',
  localPort: 40000,
  remoteAddress: '127.0.0.1',
  remotePort: 50000,
  send: () => {
    sent++;
  },
  attach: () => {},
  detach: () => {},
};
const requests = Array.from({ length: 64 }, (_, i) =>
  request(server.usernameFragment, server.password, i % 2 === 0),
);

console.log('--- Binding requests, in process (no socket) ---');
const hmacNs = timeIt('baseline: one HMAC-SHA1 over 80 bytes (node:crypto)', 200_000, (i) => {
  createHmac('sha1', 'k'.repeat(32))
    .update(requests[i & 63]!.subarray(0, 80))
    .digest();
});
const parseNs = timeIt('parseStun only', 1_000_000, (i) => {
  parseStun(requests[i & 63]!);
});
const handleNs = timeIt('parse + verify + build response (IceLiteServer)', 200_000, (i) => {
  const message = parseStun(requests[i & 63]!) as StunMessage;
  server.handleStun(message, tuple);
});
console.log(
  `  handled check = ${(handleNs / hmacNs).toFixed(2)} × one HMAC (it needs two: verify + sign); parse is ${((parseNs / handleNs) * 100).toFixed(1)}% of it`,
);
if (sent === 0 || server.state !== 'completed') throw new Error('benchmark requests were not accepted');

const badPassword = Array.from({ length: 64 }, () => request(server.usernameFragment, 'w'.repeat(32), true));
timeIt('rejected check (wrong password → 401)', 100_000, (i) => {
  server.handleStun(parseStun(badPassword[i & 63]!) as StunMessage, tuple);
});

console.log('--- demultiplexing, per datagram ---');
const rtp = Buffer.alloc(1200);
rtp[0] = 0x80;
rtp[1] = 96;
const rtcp = Buffer.alloc(80);
rtcp[0] = 0x81;
rtcp[1] = 201;
const dtls = Buffer.alloc(100);
dtls[0] = 23;
const mix = [rtp, rtp, rtp, rtcp, rtp, dtls, rtp, requests[0]!];
let counted = 0;
const loopNs = timeIt('baseline: loop + array read', 20_000_000, (i) => {
  counted += mix[i & 7]!.length & 1;
});
const classifyNs = timeIt('classifyPacket (RFC 7983 first-byte switch)', 20_000_000, (i) => {
  if (classifyPacket(mix[i & 7]!) === PacketKind.Rtp) counted++;
});
console.log(`  classification adds ${(classifyNs - loopNs).toFixed(1)} ns per datagram over the bare loop`);

const listener = await UdpIceListener.listen({ address: '127.0.0.1' });
const owner: IceTupleOwner = {
  usernameFragment: 'bench',
  handleStun: () => {},
  handlePacket: () => {
    counted++;
  },
  handleTupleClosed: () => {},
};
listener.addServer(owner);
// Validate a tuple through a real request so routing state is what production builds.
const routeServer = new IceLiteServer();
listener.addServer(routeServer);
routeServer.onPacket = () => {
  counted++;
};
const benchClient = createSocket('udp4');
await new Promise<void>((resolve) => benchClient.bind(0, '127.0.0.1', resolve));
const clientPort = benchClient.address().port;
benchClient.send(
  request(routeServer.usernameFragment, routeServer.password, true),
  listener.port,
  '127.0.0.1',
);
await new Promise<void>((resolve) => benchClient.once('message', () => resolve()));
// Private entry point, called directly to time routing without the kernel.
const onMessage = (listener as unknown as { onMessage: (m: Buffer, r: object) => void }).onMessage.bind(
  listener,
);
const rinfo = { address: '127.0.0.1', family: 'IPv4', port: clientPort, size: 1200 };
const routeNs = timeIt('listener routing: 5-tuple lookup + owner dispatch (RTP)', 5_000_000, () => {
  onMessage(rtp, rinfo);
});
console.log(`  routing = ${(routeNs / loopNs).toFixed(1)} × the bare loop`);

console.log('--- Binding requests over loopback UDP (client and server in this process) ---');
const wireRequests = Array.from({ length: 64 }, (_, i) =>
  request(routeServer.usernameFragment, routeServer.password, i % 2 === 0),
);
const durationMs = 2000;
const window = 64;
let responses = 0;
let inFlight = 0;
const started = performance.now();
await new Promise<void>((resolve) => {
  const pump = (): void => {
    while (inFlight < window && performance.now() - started < durationMs) {
      benchClient.send(wireRequests[(responses + inFlight) & 63]!, listener.port, '127.0.0.1');
      inFlight++;
    }
  };
  benchClient.on('message', (msg) => {
    inFlight--;
    const parsed = parseStun(msg);
    if (!(parsed instanceof StunParseError) && parsed.cls === StunClass.SuccessResponse) responses++;
    if (performance.now() - started < durationMs) pump();
    else if (inFlight === 0) resolve();
  });
  // Losses on a saturated socket would stall the window: stop at the deadline regardless.
  setTimeout(resolve, durationMs + 500);
  pump();
});
const elapsed = (performance.now() - started) / 1000;
console.log(
  `${'authenticated responses over UDP (window 64)'.padEnd(58)} ${(responses / elapsed / 1000).toFixed(1).padStart(9)} k/s (${responses} in ${elapsed.toFixed(2)} s)`,
);
console.log(`  in-process ceiling ${(1e6 / handleNs).toFixed(0)} k/s; over UDP the sockets dominate`);
benchClient.close();
listener.close();
routeServer.close();
server.close();
if (counted < 0) console.log(counted);
