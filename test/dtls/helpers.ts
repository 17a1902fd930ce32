/** Test plumbing: a UDP bridge for a DtlsSession and OpenSSL processes on loopback. */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DtlsSession, type DtlsSessionOptions } from '../../src/transport/dtls/index.js';

export interface UdpSession {
  session: DtlsSession;
  socket: Socket;
  port: number;
  close(): void;
}

/**
 * Binds 127.0.0.1:0 and wires a DtlsSession to it. A server answers whoever sent it the last
 * datagram; a client sends to remotePort.
 */
export async function udpSession(
  options: Omit<DtlsSessionOptions, 'send'>,
  remotePort?: number,
): Promise<UdpSession> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let peerPort = remotePort;
  const session = new DtlsSession({
    ...options,
    send: (datagram) => {
      if (peerPort !== undefined) socket.send(datagram, peerPort, '127.0.0.1');
    },
  });
  socket.on('message', (msg, rinfo) => {
    if (options.role === 'server') peerPort = rinfo.port;
    session.handleDatagram(msg);
  });
  return {
    session,
    socket,
    port: socket.address().port,
    close() {
      session.close();
      socket.close();
    },
  };
}

export interface TempCert {
  dir: string;
  certFile: string;
  keyFile: string;
  der: Buffer;
  remove(): void;
}

/** A self-signed certificate made by the openssl CLI (so not by our encoder). */
export function opensslCertificate(keyType: 'ecdsa' | 'rsa' = 'ecdsa'): TempCert {
  const dir = mkdtempSync(join(tmpdir(), 'dtls-test-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const keyArgs =
    keyType === 'ecdsa'
      ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']
      : ['-newkey', 'rsa:2048'];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...keyArgs,
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      '/CN=openssl-peer',
      '-days',
      '2',
    ],
    { stdio: 'ignore' },
  );
  const der = new X509Certificate(readFileSync(certFile)).raw;
  return { dir, certFile, keyFile, der, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface OpensslProcess {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Resolves when stdout+stderr matches pattern; rejects after timeoutMs or on exit first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

export function runOpenssl(args: string[]): OpensslProcess {
  const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let exited = false;
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString('latin1');
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exit = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      for (const w of waiters) w();
      resolve();
    }),
  );
  return {
    child,
    output: () => out,
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            done();
            resolve(m);
          } else if (exited) {
            done();
            reject(new Error(`openssl exited before ${pattern}; output:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (!exited) {
        child.kill('SIGKILL');
        await exit;
      }
    },
  };
}

/** Extracts the "Keying material: HEX" line that openssl prints with -keymatexport. */
export const KEYING_MATERIAL = /Keying material: ([0-9A-F]+)/;

export type Direction = 'client→server' | 'server→client';
/** Decides what reaches the other side: return the datagrams to deliver (none = drop). */
export type Relay = (datagram: Buffer, direction: Direction, index: number) => Buffer[];

export interface SessionPair {
  client: DtlsSession;
  server: DtlsSession;
  /** Datagrams each side sent, as sent (before the relay). */
  sent: Record<Direction, Buffer[]>;
  close(): void;
}

/**
 * Two in-process sessions joined by an asynchronous relay (setImmediate, as a socket would be).
 * The relay sees every datagram and may drop, duplicate, hold back or rewrite it.
 */
export function sessionPair(
  clientOptions: Omit<DtlsSessionOptions, 'send' | 'role'>,
  serverOptions: Omit<DtlsSessionOptions, 'send' | 'role'>,
  relay: Relay = (d) => [d],
): SessionPair {
  const sent: Record<Direction, Buffer[]> = { 'client→server': [], 'server→client': [] };
  const pending = new Set<NodeJS.Immediate>();
  let closed = false;
  const pair = {} as SessionPair;
  const forward = (direction: Direction) => (datagram: Buffer) => {
    const index = sent[direction].push(datagram) - 1;
    for (const out of relay(datagram, direction, index)) {
      const handle = setImmediate(() => {
        pending.delete(handle);
        if (closed) return;
        (direction === 'client→server' ? pair.server : pair.client).handleDatagram(out);
      });
      pending.add(handle);
    }
  };
  pair.client = new DtlsSession({ ...clientOptions, role: 'client', send: forward('client→server') });
  pair.server = new DtlsSession({ ...serverOptions, role: 'server', send: forward('server→client') });
  pair.sent = sent;
  pair.close = () => {
    closed = true;
    for (const h of pending) clearImmediate(h);
    pair.client.close();
    pair.server.close();
  };
  return pair;
}

export interface PlainHandshakeRecord {
  msgType: number;
  /** Offset of the record in the datagram. */
  recordOffset: number;
}

/** Lists the epoch-0 handshake records of a datagram with the message type of their first fragment. */
export function plainHandshakeRecords(datagram: Buffer): PlainHandshakeRecord[] {
  const out: PlainHandshakeRecord[] = [];
  let offset = 0;
  while (offset + 13 <= datagram.length) {
    const length = datagram.readUInt16BE(offset + 11);
    if (datagram[offset] === 22 && datagram.readUInt16BE(offset + 3) === 0) {
      out.push({ msgType: datagram[offset + 13]!, recordOffset: offset });
    }
    offset += 13 + length;
  }
  return out;
}

/**
 * Rewrites the body of an unfragmented epoch-0 handshake message of type msgType in a datagram,
 * fixing the record and handshake lengths. Returns the datagram unchanged when absent.
 */
export function rewriteHandshakeMessage(
  datagram: Buffer,
  msgType: number,
  rewrite: (body: Buffer) => Buffer,
): Buffer {
  const rec = plainHandshakeRecords(datagram).find((r) => r.msgType === msgType);
  if (!rec) return datagram;
  const o = rec.recordOffset;
  const recordLength = datagram.readUInt16BE(o + 11);
  const hs = datagram.subarray(o + 13, o + 13 + recordLength);
  const length = hs.readUIntBE(1, 3);
  const fragmentLength = hs.readUIntBE(9, 3);
  if (fragmentLength !== length || recordLength !== 12 + length) throw new Error('message is fragmented');
  const body = rewrite(Buffer.from(hs.subarray(12)));
  const header = Buffer.from(datagram.subarray(o, o + 13 + 12));
  header.writeUInt16BE(12 + body.length, 11);
  header.writeUIntBE(body.length, 13 + 1, 3);
  header.writeUIntBE(body.length, 13 + 9, 3);
  return Buffer.concat([datagram.subarray(0, o), header, body, datagram.subarray(o + 13 + recordLength)]);
}

export interface UdpRelay {
  port: number;
  /** Datagrams seen per direction. */
  counts: Record<Direction, number>;
  close(): void;
}

/**
 * A UDP relay on 127.0.0.1 in front of serverPort; the first sender becomes the client. The relay
 * function decides what passes (drop, duplicate, reorder) per direction.
 */
export async function udpRelay(serverPort: number, relay: Relay): Promise<UdpRelay> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const upstream = createSocket('udp4');
  await new Promise<void>((resolve) => upstream.bind(0, '127.0.0.1', resolve));
  let clientPort: number | undefined;
  const counts: Record<Direction, number> = { 'client→server': 0, 'server→client': 0 };
  socket.on('message', (msg, rinfo) => {
    clientPort = rinfo.port;
    for (const out of relay(msg, 'client→server', counts['client→server']++))
      upstream.send(out, serverPort, '127.0.0.1');
  });
  upstream.on('message', (msg) => {
    if (clientPort === undefined) return;
    for (const out of relay(msg, 'server→client', counts['server→client']++))
      socket.send(out, clientPort, '127.0.0.1');
  });
  return {
    port: socket.address().port,
    counts,
    close() {
      socket.close();
      upstream.close();
    },
  };
}

export interface OpensslDtlsOptions {
  /** The certificate and key OpenSSL presents. */
  identity: { certFile: string; keyFile: string };
  /** OpenSSL's name for the use_srtp profile it offers; SRTP_AEAD_AES_128_GCM by default. */
  srtpProfile?: string;
  /** Print this many bytes of EXTRACTOR-dtls_srtp keying material (KEYING_MATERIAL matches them). */
  keyingMaterialBytes?: number;
  /** The `-groups` list, e.g. 'X25519:P-256'. */
  groups?: string;
  extraArgs?: string[];
}

function opensslDtlsArgs(o: OpensslDtlsOptions): string[] {
  return [
    '-use_srtp',
    o.srtpProfile ?? 'SRTP_AEAD_AES_128_GCM',
    ...(o.keyingMaterialBytes
      ? ['-keymatexport', 'EXTRACTOR-dtls_srtp', '-keymatexportlen', String(o.keyingMaterialBytes)]
      : []),
    ...(o.groups ? ['-groups', o.groups] : []),
    '-cert',
    o.identity.certFile,
    '-key',
    o.identity.keyFile,
    ...(o.extraArgs ?? []),
  ];
}

/** `openssl s_client -dtls1_2` towards 127.0.0.1:port. */
export function opensslDtlsClient(port: number, o: OpensslDtlsOptions): OpensslProcess {
  return runOpenssl(['s_client', '-dtls1_2', '-connect', `127.0.0.1:${port}`, ...opensslDtlsArgs(o)]);
}

/** `openssl s_server -dtls1_2` on 127.0.0.1:port for one connection, requiring a client certificate. */
export function opensslDtlsServer(port: number, o: OpensslDtlsOptions): OpensslProcess {
  return runOpenssl([
    's_server',
    '-dtls1_2',
    '-accept',
    `127.0.0.1:${port}`,
    '-naccept',
    '1',
    '-Verify',
    '1',
    ...opensslDtlsArgs(o),
  ]);
}
