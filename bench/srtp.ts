// SRTP/SRTCP cost per 1200-byte RTP packet, side by side in one run with the raw node:crypto
// calls each profile needs (the floor for any per-packet-cipher design) and with werift@0.24.4.
// Run: npx tsx bench/srtp.ts [packetsPerBatch=1000] [batches=30]
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { RtpHeader, SrtpSession as WeriftSrtpSession } from 'werift';
import { SRTP_PROFILES, SrtpContext, type SrtpProfileName } from '../src/transport/srtp/index.js';
import { buildRtpPacket, RtpView } from '../src/wire/rtp/rtp.js';

const PACKETS = Number(process.argv[2] ?? 1000);
const BATCHES = Number(process.argv[3] ?? 30);
const PAYLOAD = 1200 - 12;

function packets(count: number, ssrc: number): Buffer[] {
  const payload = randomBytes(PAYLOAD);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      buildRtpPacket({ payloadType: 96, sequenceNumber: i & 0xffff, timestamp: i * 3000, ssrc }, payload),
    );
  }
  return out;
}

/** ns per call of fn over `count` calls. */
function time(count: number, fn: (i: number) => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / count;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Fastest batch: the cost with the least interference from other load on the shared cores. */
function best(xs: number[]): number {
  return Math.min(...xs);
}

interface Row {
  profile: string;
  op: string;
  ours: number;
  raw: number;
  /** ours/raw from the medians, to show how much the noise moves the ratio. */
  medianRatio: number;
  werift: number | undefined;
}
const rows: Row[] = [];
const notes: string[] = [];

for (const profile of Object.keys(SRTP_PROFILES) as SrtpProfileName[]) {
  const p = SRTP_PROFILES[profile];
  const masterKey = randomBytes(p.keyLength);
  const masterSalt = randomBytes(p.saltLength);
  const plain = packets(PACKETS, 0x1234);
  const key = createSecretKey(randomBytes(p.keyLength));
  const authKey = createSecretKey(randomBytes(20));
  const iv = randomBytes(p.aead ? 12 : 16);
  const header = plain[0]!.subarray(0, 12);
  const payload = plain[0]!.subarray(12);
  const roc = Buffer.alloc(4);
  const rawProtect = p.aead
    ? () => {
        const c = createCipheriv(p.cipher as 'aes-128-gcm', key, iv, { authTagLength: 16 });
        c.setAAD(header);
        c.update(payload);
        c.final();
        c.getAuthTag();
      }
    : () => {
        createCipheriv('aes-128-ctr', key, iv).update(payload);
        createHmac('sha1', authKey).update(plain[0]!).update(roc).digest();
      };
  const sealed = (() => {
    if (!p.aead) return { enc: payload, tag: Buffer.alloc(16) };
    const c = createCipheriv(p.cipher as 'aes-128-gcm', key, iv, { authTagLength: 16 });
    c.setAAD(header);
    const enc = c.update(payload);
    c.final();
    return { enc, tag: c.getAuthTag() };
  })();
  const rawUnprotect = p.aead
    ? () => {
        const d = createDecipheriv(p.cipher as 'aes-128-gcm', key, iv, { authTagLength: 16 });
        d.setAAD(header);
        d.setAuthTag(sealed.tag);
        d.update(sealed.enc);
        d.final();
      }
    : rawProtect;

  const weriftProfile =
    profile === 'AES_CM_128_HMAC_SHA1_80' ? 1 : profile === 'AEAD_AES_128_GCM' ? 7 : undefined;
  const weriftKeys = {
    localMasterKey: masterKey,
    localMasterSalt: masterSalt,
    remoteMasterKey: masterKey,
    remoteMasterSalt: masterSalt,
  };
  const headers = weriftProfile ? plain.map((b) => RtpHeader.deSerialize(b)) : [];

  const ours = { protect: [] as number[], unprotect: [] as number[] };
  const raw = { protect: [] as number[], unprotect: [] as number[] };
  const wer = { protect: [] as number[], unprotect: [] as number[] };
  const tx = new SrtpContext({ profile, masterKey, masterSalt });
  const wire = plain.map((b) => Buffer.from(tx.protectRtp(b) as Buffer));
  const wtx = weriftProfile ? new WeriftSrtpSession({ keys: weriftKeys, profile: weriftProfile }) : undefined;
  const wwire = wtx ? plain.map((b, i) => wtx.encrypt(b.subarray(12), headers[i]!)) : [];
  // Small interleaved batches: the machine is shared, so each op sees the same noise.
  for (let batch = 0; batch < BATCHES; batch++) {
    const rx = new SrtpContext({ profile, masterKey, masterSalt });
    const copies = wire.map((w) => Buffer.from(w));
    ours.protect.push(time(PACKETS, (i) => tx.protectRtp(plain[i]!)));
    raw.protect.push(time(PACKETS, rawProtect));
    ours.unprotect.push(time(PACKETS, (i) => rx.unprotectRtp(copies[i]!)));
    raw.unprotect.push(time(PACKETS, rawUnprotect));
    if (rx.counters.rtpUnprotected !== PACKETS) throw new Error(`${profile}: unprotect failed`);
    if (wtx) {
      const wrx = new WeriftSrtpSession({ keys: weriftKeys, profile: weriftProfile! });
      wer.protect.push(time(PACKETS, (i) => wtx.encrypt(plain[i]!.subarray(12), headers[i]!)));
      wer.unprotect.push(time(PACKETS, (i) => wrx.decrypt(wwire[i]!)));
    }
  }
  for (const op of ['protect', 'unprotect'] as const) {
    rows.push({
      profile,
      op: `${op}Rtp`,
      ours: best(ours[op]),
      raw: best(raw[op]),
      medianRatio: median(ours[op]) / median(raw[op]),
      werift: weriftProfile ? best(wer[op]) : undefined,
    });
  }
}

// SFU fan-out, AEAD_AES_128_GCM: one received packet → 4 consumers, each with its own SSRC/seq.
// (a) copy the plaintext, rewrite the copy, protectRtp; (b) rewrite a 12-byte header copy and
// protectRtpParts from the shared payload.
{
  const consumers = Array.from({ length: 4 }, () => {
    const p = SRTP_PROFILES.AEAD_AES_128_GCM;
    return new SrtpContext({
      profile: 'AEAD_AES_128_GCM',
      masterKey: randomBytes(p.keyLength),
      masterSalt: randomBytes(p.saltLength),
    });
  });
  const plain = packets(PACKETS, 0x4242);
  const view = new RtpView();
  const scratch = Buffer.alloc(64);
  const copyThenProtect: number[] = [];
  const headerThenParts: number[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    copyThenProtect.push(
      time(PACKETS, (i) => {
        for (let c = 0; c < consumers.length; c++) {
          const copy = Buffer.from(plain[i]!);
          view.reset(copy);
          view.setSsrc(1000 + c);
          view.setSequenceNumber(i);
          consumers[c]!.protectRtp(copy);
        }
      }) / consumers.length,
    );
    headerThenParts.push(
      time(PACKETS, (i) => {
        const src = plain[i]!;
        view.reset(src);
        const headerLength = view.headerLength;
        const payload = src.subarray(headerLength);
        for (let c = 0; c < consumers.length; c++) {
          src.copy(scratch, 0, 0, headerLength);
          const header = scratch.subarray(0, headerLength);
          scratch.writeUInt32BE(1000 + c, 8);
          scratch.writeUInt16BE(i & 0xffff, 2);
          consumers[c]!.protectRtpParts(header, payload);
        }
      }) / consumers.length,
    );
  }
  const a = best(copyThenProtect);
  const b = best(headerThenParts);
  notes.push(
    `fan-out to 4 consumers (GCM-128), per consumer: copy+rewrite+protectRtp ${(a / 1000).toFixed(2)} µs, ` +
      `header rewrite+protectRtpParts ${(b / 1000).toFixed(2)} µs (${(a / b).toFixed(2)}×)`,
  );
}

// SRTCP: a 100-byte compound packet, ours only (low rate; shown for completeness).
for (const profile of Object.keys(SRTP_PROFILES) as SrtpProfileName[]) {
  const p = SRTP_PROFILES[profile];
  const masterKey = randomBytes(p.keyLength);
  const masterSalt = randomBytes(p.saltLength);
  const rtcp = Buffer.concat([Buffer.from([0x81, 0xc9, 0x00, 0x18]), randomBytes(96)]);
  const protects: number[] = [];
  const unprotects: number[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const tx = new SrtpContext({ profile, masterKey, masterSalt });
    const rx = new SrtpContext({ profile, masterKey, masterSalt });
    // Outputs are distinct slab views, so they can be unprotected in place without copies.
    const wire: Buffer[] = new Array(PACKETS);
    protects.push(time(PACKETS, (i) => (wire[i] = tx.protectRtcp(rtcp) as Buffer)));
    unprotects.push(time(PACKETS, (i) => rx.unprotectRtcp(wire[i]!)));
    if (rx.counters.rtcpUnprotected !== PACKETS) throw new Error(`${profile}: SRTCP unprotect failed`);
  }
  const prot = best(protects);
  const unprot = best(unprotects);
  rows.push({
    profile,
    op: 'protectRtcp(100B)',
    ours: prot,
    raw: Number.NaN,
    medianRatio: Number.NaN,
    werift: undefined,
  });
  rows.push({
    profile,
    op: 'unprotectRtcp(100B)',
    ours: unprot,
    raw: Number.NaN,
    medianRatio: Number.NaN,
    werift: undefined,
  });
}

const f = (ns: number | undefined) => (ns === undefined || Number.isNaN(ns) ? '-' : (ns / 1000).toFixed(2));
console.log(
  `SRTP per packet (RTP 1200 B), fastest of ${BATCHES} interleaved batches × ${PACKETS} packets, µs`,
);
console.log('| profile | op | tureen | raw node:crypto | tureen/raw | (medians) | werift | werift/tureen |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const ratio = Number.isNaN(r.raw) ? '-' : (r.ours / r.raw).toFixed(2);
  const mratio = Number.isNaN(r.medianRatio) ? '-' : r.medianRatio.toFixed(2);
  const wratio = r.werift === undefined ? '-' : (r.werift / r.ours).toFixed(2);
  console.log(
    `| ${r.profile} | ${r.op} | ${f(r.ours)} | ${f(r.raw)} | ${ratio} | ${mratio} | ${f(r.werift)} | ${wratio} |`,
  );
}
for (const note of notes) console.log(note);
