/**
 * A standalone UDP DTLS server for bench/dtls.ts (run in its own process so its CPU time can be read
 * from /proc like openssl s_server's). Prints "PORT <n>" once listening on 127.0.0.1.
 * Usage: node --import tsx bench/dtls-server.ts <client-certificate-sha256-fingerprint>
 */
import { createSocket } from 'node:dgram';
import { DtlsSession, generateCertificate } from '../src/transport/dtls/index.js';

const remoteFingerprint = process.argv[2];
if (!remoteFingerprint) throw new TypeError('usage: dtls-server.ts <client sha-256 fingerprint>');
const certificate = generateCertificate();
const socket = createSocket('udp4');
const sessions = new Map<string, DtlsSession>();
socket.on('message', (msg, rinfo) => {
  const key = `${rinfo.address}:${rinfo.port}`;
  let session = sessions.get(key);
  if (!session) {
    const s = new DtlsSession({
      role: 'server',
      certificate,
      remoteFingerprints: [{ algorithm: 'sha-256', value: remoteFingerprint }],
      remoteAddress: key,
      send: (d) => socket.send(d, rinfo.port, rinfo.address),
    });
    s.on('closed', () => sessions.delete(key));
    sessions.set(key, s);
    session = s;
  }
  session.handleDatagram(msg);
});
socket.bind(0, '127.0.0.1', () => console.log(`PORT ${socket.address().port}`));
// Bounded: the benchmark kills it, and it exits by itself after two minutes anyway.
setTimeout(() => process.exit(0), 120_000).unref();
process.on('SIGTERM', () => process.exit(0));
