// Known-answer tests: RFC 3711 Appendix B, RFC 6188 §7, RFC 7714 §16/§17, and libsrtp's
// srtp_validate self-test vectors (AES_CM_128_HMAC_SHA1_80 through the real KDF).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  deriveSrtpSessionKeys,
  KdfLabel,
  SrtpContext,
  SrtpError,
  srtpKdf,
  srtpKeysFromKeyingMaterial,
} from '../../src/transport/srtp/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function ok(r: Buffer | number): Buffer {
  assert.ok(Buffer.isBuffer(r), `expected a packet, got error code ${String(r)}`);
  return r;
}

test('RFC 3711 B.3 key derivation (AES-128 PRF)', () => {
  const key = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const salt = hex('0EC675AD498AFEEBB6960B3AABE6');
  assert.equal(
    srtpKdf(key, salt, KdfLabel.RtpEncryption, 16).toString('hex'),
    'c61e7a93744f39ee10734afe3ff7a087',
  );
  assert.equal(srtpKdf(key, salt, KdfLabel.RtpSalt, 14).toString('hex'), '30cbbc08863d8c85d49db34a9ae1');
  assert.equal(
    srtpKdf(key, salt, KdfLabel.RtpAuth, 94).toString('hex'),
    hex(`CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE
         E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25
         6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2`).toString('hex'),
  );
  const keys = deriveSrtpSessionKeys('AES_CM_128_HMAC_SHA1_80', key, salt);
  assert.equal(keys.rtpKey.toString('hex'), 'c61e7a93744f39ee10734afe3ff7a087');
  assert.equal(keys.rtpAuthKey.length, 20);
  assert.equal(keys.rtpAuthKey.toString('hex'), 'cebe321f6ff7716b6fd4ab49af256a156d38baa4');
});

test('RFC 6188 §7.2 key derivation (AES-256 PRF)', () => {
  const key = hex('F0F04914B513F2763A1B1FA130F10E2998F6F6E43E4309D1E622A0E332B9F1B6');
  const salt = hex('3B04803DE51EE7C96423AB5B78D2');
  assert.equal(
    srtpKdf(key, salt, KdfLabel.RtpEncryption, 32).toString('hex'),
    '5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4',
  );
  assert.equal(srtpKdf(key, salt, KdfLabel.RtpSalt, 14).toString('hex'), 'fa31791685ca444a9e07c6c64e93');
});

test('RFC 3711 B.2 AES-CM keystream (SSRC 0, index 0)', () => {
  const ctx = new SrtpContext({
    profile: 'AES_CM_128_HMAC_SHA1_80',
    sessionKeys: {
      rtpKey: hex('2B7E151628AED2A6ABF7158809CF4F3C'),
      rtpSalt: hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'),
      rtpAuthKey: Buffer.alloc(20),
      rtcpKey: Buffer.alloc(16),
      rtcpSalt: Buffer.alloc(14),
      rtcpAuthKey: Buffer.alloc(20),
    },
  });
  // A zero payload encrypts to the keystream itself; 65282 blocks reach the RFC's last rows.
  const blocks = 0xff02;
  const pkt = Buffer.alloc(12 + blocks * 16);
  pkt[0] = 0x80;
  const out = ok(ctx.protectRtp(pkt));
  const ks = out.subarray(12, 12 + blocks * 16);
  assert.equal(
    ks.subarray(0, 48).toString('hex'),
    'e03ead0935c95e80e166b16dd92b4eb4d23513162b02d0f72a43a2fe4a5f97ab41e95b3bb0a2e8dd477901e4fca894c0',
  );
  assert.equal(ks.subarray(0xfeff * 16, 0xff00 * 16).toString('hex'), 'ec8cdf7398607cb0f2d21675ea9ea1e4');
  assert.equal(ks.subarray(0xff00 * 16, 0xff01 * 16).toString('hex'), '362b7c3c6773516318a077d7fc5073ae');
  assert.equal(ks.subarray(0xff01 * 16, 0xff02 * 16).toString('hex'), '6a2cc3787889374fbeb4c81b17ba6c44');
});

const RFC7714_KEY_128 = hex('000102030405060708090a0b0c0d0e0f');
const RFC7714_KEY_256 = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const RFC7714_SALT = hex('517569642070726f2071756f');
const RFC7714_RTP = hex(`8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976
                         69736120 696e2070 61727465 73207472 6573`);
const RFC7714_RTCP = hex(`81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
                          deadbeef deadbeef deadbeef deadbeef deadbeef`);

function rfc7714Context(bits: 128 | 256): SrtpContext {
  const key = bits === 128 ? RFC7714_KEY_128 : RFC7714_KEY_256;
  // §16/§17 give session keys directly and use the same key/salt for SRTP and SRTCP.
  return new SrtpContext({
    profile: bits === 128 ? 'AEAD_AES_128_GCM' : 'AEAD_AES_256_GCM',
    sessionKeys: {
      rtpKey: key,
      rtpSalt: RFC7714_SALT,
      rtpAuthKey: Buffer.alloc(0),
      rtcpKey: key,
      rtcpSalt: RFC7714_SALT,
      rtcpAuthKey: Buffer.alloc(0),
    },
  });
}

const RFC7714_SRTP: Record<128 | 256, string> = {
  128: `8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a
        51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce`,
  256: `8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238 9a58e2f3 b50b2a02
        76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13`,
};

for (const bits of [128, 256] as const) {
  test(`RFC 7714 §16 SRTP AEAD_AES_${bits}_GCM protect and unprotect`, () => {
    const tx = rfc7714Context(bits);
    assert.equal(ok(tx.protectRtp(RFC7714_RTP)).toString('hex'), hex(RFC7714_SRTP[bits]).toString('hex'));
    const rx = rfc7714Context(bits);
    assert.deepEqual(ok(rx.unprotectRtp(hex(RFC7714_SRTP[bits]))), RFC7714_RTP);
    assert.equal(rx.unprotectRtp(hex(RFC7714_SRTP[bits])), SrtpError.Replayed);
    assert.equal(rx.counters.replayed, 1);
  });
}

test('RFC 7714 §17.1 SRTCP AEAD_AES_128_GCM encryption (index 0x5d4)', () => {
  const want = hex(`81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1
                    730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4`);
  const tx = rfc7714Context(128);
  assert.ok(tx.setNextRtcpIndex(0x4d617273, 0x5d4));
  assert.equal(ok(tx.protectRtcp(RFC7714_RTCP)).toString('hex'), want.toString('hex'));
  assert.deepEqual(ok(rfc7714Context(128).unprotectRtcp(Buffer.from(want))), RFC7714_RTCP);
});

test('RFC 7714 §17.2 SRTCP AEAD_AES_256_GCM decryption', () => {
  const wire = hex(`81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50 a2eaa5c1
                    110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4`);
  assert.deepEqual(ok(rfc7714Context(256).unprotectRtcp(wire)), RFC7714_RTCP);
  const tx = rfc7714Context(256);
  tx.setNextRtcpIndex(0x4d617273, 0x5d4);
  assert.equal(
    ok(tx.protectRtcp(RFC7714_RTCP)).toString('hex'),
    hex(`81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50 a2eaa5c1
         110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4`).toString('hex'),
  );
});

test('RFC 7714 §17.3/§17.4 SRTCP authentication-only (E flag clear) verifies', () => {
  const tagOnly128 = hex(`81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef
                          deadbeef deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4`);
  const tagOnly256 = hex(`81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef
                          deadbeef deadbeef deadbeef deadbeef 91db4afb feee5a97 8fab4393 ed2615fe 000005d4`);
  assert.deepEqual(ok(rfc7714Context(128).unprotectRtcp(Buffer.from(tagOnly128))), RFC7714_RTCP);
  assert.deepEqual(ok(rfc7714Context(256).unprotectRtcp(Buffer.from(tagOnly256))), RFC7714_RTCP);
  const forged = Buffer.from(tagOnly128);
  forged[20] = forged[20]! ^ 1;
  const rx = rfc7714Context(128);
  assert.equal(rx.unprotectRtcp(forged), SrtpError.AuthFailed);
  assert.equal(rx.counters.authFailed, 1);
});

// libsrtp srtp_validate(): master key/salt of RFC 3711 B.3, SSRC 0xcafebabe.
const LIBSRTP_KEY = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const LIBSRTP_SALT = hex('0EC675AD498AFEEBB6960B3AABE6');

test('libsrtp known answer: AES_CM_128_HMAC_SHA1_80 SRTP and SRTCP', () => {
  const ctx = () =>
    new SrtpContext({ profile: 'AES_CM_128_HMAC_SHA1_80', masterKey: LIBSRTP_KEY, masterSalt: LIBSRTP_SALT });
  const rtp = hex('800f1234 decafbad cafebabe abababab abababab abababab abababab');
  const srtp = hex('800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402 b78d6acc 99ea179b 8dbb');
  assert.equal(ok(ctx().protectRtp(rtp)).toString('hex'), srtp.toString('hex'));
  assert.deepEqual(ok(ctx().unprotectRtp(Buffer.from(srtp))), rtp);
  const rtcp = hex('81c8000b cafebabe abababab abababab abababab abababab');
  const srtcp = hex('81c8000b cafebabe 7128035b e487b9bd bef89041 f977a5a8 80000001 993e08cd 54d6c123 0798');
  // The first SRTCP packet of a stream carries index 1, as in libsrtp.
  assert.equal(ok(ctx().protectRtcp(rtcp)).toString('hex'), srtcp.toString('hex'));
  assert.deepEqual(ok(ctx().unprotectRtcp(Buffer.from(srtcp))), rtcp);
  // _32 differs only in the RTP tag length: the first 4 bytes of the same HMAC.
  const ctx32 = new SrtpContext({
    profile: 'AES_CM_128_HMAC_SHA1_32',
    masterKey: LIBSRTP_KEY,
    masterSalt: LIBSRTP_SALT,
  });
  assert.equal(ok(ctx32.protectRtp(rtp)).toString('hex'), srtp.subarray(0, rtp.length + 4).toString('hex'));
  assert.equal(ok(ctx32.protectRtcp(rtcp)).toString('hex'), srtcp.toString('hex'));
});

test('srtpKeysFromKeyingMaterial splits RFC 5764 §4.2 layout by role', () => {
  const material = Buffer.concat([
    hex('000102030405060708090a0b0c0d0e0f'),
    hex('202122232425262728292a2b2c2d2e2f'),
    hex('a0a1a2a3a4a5a6a7a8a9aaab'),
    hex('b0b1b2b3b4b5b6b7b8b9babb'),
  ]);
  const server = srtpKeysFromKeyingMaterial(material, 'AEAD_AES_128_GCM', 'server');
  const client = srtpKeysFromKeyingMaterial(material, 'AEAD_AES_128_GCM', 'client');
  assert.deepEqual(client.localKey, hex('000102030405060708090a0b0c0d0e0f'));
  assert.deepEqual(client.localSalt, hex('a0a1a2a3a4a5a6a7a8a9aaab'));
  assert.deepEqual(server.localKey, client.remoteKey);
  assert.deepEqual(server.remoteSalt, client.localSalt);
  // 12-byte GCM master salts are right-padded to 112 bits in the KDF (RFC 7714 erratum 4938).
  const keys = deriveSrtpSessionKeys('AEAD_AES_128_GCM', client.localKey, client.localSalt);
  assert.equal(keys.rtpKey.toString('hex'), '077c6143cb221bc355ff23d5f984a16e');
  assert.equal(keys.rtpSalt.toString('hex'), '9af3e95364ebac9c99c5a7c4');
  assert.equal(keys.rtcpKey.toString('hex'), '615dcd9042600666f6fd4d9e4fe4519f');
  assert.equal(keys.rtcpSalt.toString('hex'), 'fcca937b9112a500dac72269');
  assert.throws(
    () => srtpKeysFromKeyingMaterial(material.subarray(1), 'AEAD_AES_128_GCM', 'client'),
    TypeError,
  );
});
