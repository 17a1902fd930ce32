// The design choices behind src/transport/srtp, measured: per-packet node:crypto call shapes
// for AES-GCM and AES-CM + HMAC-SHA1 on a 1200-byte packet, and output allocation strategies.
// Run: npx tsx bench/srtp-alternatives.ts
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  randomBytes,
} from 'node:crypto';
import { SrtpContext } from '../src/transport/srtp/index.js';
import { buildRtpPacket } from '../src/wire/rtp/rtp.js';

const keyBytes = randomBytes(16);
const key = createSecretKey(keyBytes);
const iv12 = randomBytes(12);
const iv16 = randomBytes(16);
const authBytes = randomBytes(20);
const authKey = createSecretKey(authBytes);
const pkt = buildRtpPacket({ payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1 }, randomBytes(1188));
const header = pkt.subarray(0, 12);
const payload = pkt.subarray(12);
const roc = Buffer.alloc(4);
const out = Buffer.allocUnsafe(1300);
const GCM = { authTagLength: 16 } as const;
const sealed = (() => {
  const c = createCipheriv('aes-128-gcm', key, iv12, GCM);
  c.setAAD(header);
  const enc = c.update(payload);
  c.final();
  return { enc, tag: c.getAuthTag() };
})();
// HMAC from two saved SHA-1 states (ipad/opad) copied per packet instead of a new Hmac.
const ipad = Buffer.alloc(64, 0x36);
const opad = Buffer.alloc(64, 0x5c);
for (let i = 0; i < 20; i++) {
  ipad[i] = ipad[i]! ^ authBytes[i]!;
  opad[i] = opad[i]! ^ authBytes[i]!;
}
const inner = createHash('sha1').update(ipad);
const outer = createHash('sha1').update(opad);
// AES-CTR keystream from one long-lived ECB cipher (no per-packet key schedule), XORed in JS.
const ecb = createCipheriv('aes-128-ecb', keyBytes, null).setAutoPadding(false);
const counterBlocks = Buffer.alloc(Math.ceil(payload.length / 16) * 16);
let slab = Buffer.allocUnsafeSlow(256 * 1024);
let slabUsed = 0;
const ctx = new SrtpContext({
  profile: 'AEAD_AES_128_GCM',
  masterKey: randomBytes(16),
  masterSalt: randomBytes(12),
});

const cases: [string, () => unknown][] = [
  [
    'GCM encrypt, Buffer key',
    () => {
      const c = createCipheriv('aes-128-gcm', keyBytes, iv12, GCM);
      c.setAAD(header);
      c.update(payload);
      c.final();
      return c.getAuthTag();
    },
  ],
  [
    'GCM encrypt, KeyObject key',
    () => {
      const c = createCipheriv('aes-128-gcm', key, iv12, GCM);
      c.setAAD(header);
      c.update(payload);
      c.final();
      return c.getAuthTag();
    },
  ],
  [
    'GCM encrypt + assemble header, ciphertext, tag with set()',
    () => {
      const c = createCipheriv('aes-128-gcm', key, iv12, GCM);
      c.setAAD(header);
      out.set(header, 0);
      out.set(c.update(payload), 12);
      c.final();
      out.set(c.getAuthTag(), 1200);
    },
  ],
  [
    'GCM encrypt + Buffer.concat',
    () => {
      const c = createCipheriv('aes-128-gcm', key, iv12, GCM);
      c.setAAD(header);
      const enc = c.update(payload);
      c.final();
      return Buffer.concat([header, enc, c.getAuthTag()]);
    },
  ],
  ['SrtpContext.protectRtp (GCM)', () => ctx.protectRtp(pkt)],
  [
    'GCM decrypt + verify',
    () => {
      const d = createDecipheriv('aes-128-gcm', key, iv12, GCM);
      d.setAAD(header);
      d.setAuthTag(sealed.tag);
      d.update(sealed.enc);
      d.final();
    },
  ],
  ['AES-128-CTR, one createCipheriv', () => createCipheriv('aes-128-ctr', key, iv16).update(payload)],
  [
    'AES-128-CTR via long-lived ECB + JS XOR',
    () => {
      for (let b = 0; b < counterBlocks.length; b += 16) {
        counterBlocks.set(iv16, b);
        counterBlocks[b + 15] = b >> 4;
      }
      const ks = ecb.update(counterBlocks);
      for (let i = 0; i < payload.length; i++) out[i] = payload[i]! ^ ks[i]!;
    },
  ],
  ['HMAC-SHA1, Buffer key', () => createHmac('sha1', authBytes).update(pkt).update(roc).digest()],
  ['HMAC-SHA1, KeyObject key', () => createHmac('sha1', authKey).update(pkt).update(roc).digest()],
  [
    'HMAC-SHA1 via copied ipad/opad hash states',
    () => {
      const d = inner.copy().update(pkt).update(roc).digest();
      return outer.copy().update(d).digest();
    },
  ],
  ['output: Buffer.allocUnsafe(1216)', () => Buffer.allocUnsafe(1216)],
  [
    'output: 256 KiB slab subarray',
    () => {
      if (slabUsed + 1216 > slab.length) {
        slab = Buffer.allocUnsafeSlow(256 * 1024);
        slabUsed = 0;
      }
      const o = slab.subarray(slabUsed, slabUsed + 1216);
      slabUsed += 1216;
      return o;
    },
  ],
];

const N = 500;
const mins = cases.map(() => Number.POSITIVE_INFINITY);
for (let batch = 0; batch < 40; batch++) {
  for (let c = 0; c < cases.length; c++) {
    const fn = cases[c]![1];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) fn();
    mins[c] = Math.min(mins[c]!, Number(process.hrtime.bigint() - t0) / N);
  }
}
console.log('fastest of 40 interleaved batches × 500, ns per call (1200-byte packet)');
console.log('| alternative | ns |');
console.log('|---|---|');
for (let c = 0; c < cases.length; c++) console.log(`| ${cases[c]![0]} | ${mins[c]!.toFixed(0)} |`);
