/** Our X.509 encoder and fingerprints, checked with the openssl CLI. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  certificateToPem,
  fingerprint,
  fingerprints,
  generateCertificate,
  loadCertificate,
  matchesFingerprint,
} from '../../src/transport/dtls/index.js';
import { opensslCertificate } from './helpers.js';

for (const keyType of ['ecdsa', 'rsa'] as const) {
  test(`generated ${keyType} certificate: openssl parses and verifies it, fingerprints agree`, {
    timeout: 20_000,
  }, () => {
    const cert = generateCertificate({ keyType, commonName: 'tureen-test', validityDays: 10 });
    const dir = mkdtempSync(join(tmpdir(), 'dtls-cert-'));
    try {
      const file = join(dir, 'cert.pem');
      writeFileSync(file, certificateToPem(cert.der));
      const text = execFileSync('openssl', ['x509', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
      assert.match(text, /Version: 3 \(0x2\)/);
      assert.match(text, /Subject: CN = tureen-test/);
      assert.match(text, keyType === 'ecdsa' ? /ecdsa-with-SHA256/ : /sha256WithRSAEncryption/);
      assert.match(text, keyType === 'ecdsa' ? /NIST CURVE: P-256/ : /Public-Key: \(2048 bit\)/);
      assert.match(text, /CA:FALSE/);
      // Self-signed: it verifies against itself as the trust anchor (signature, validity dates).
      const verified = execFileSync('openssl', ['verify', '-CAfile', file, '-partial_chain', file], {
        encoding: 'utf8',
      });
      assert.match(verified, /: OK/);
      for (const algorithm of ['sha-1', 'sha-256', 'sha-384', 'sha-512'] as const) {
        const out = execFileSync(
          'openssl',
          ['x509', '-in', file, '-noout', '-fingerprint', `-${algorithm.replace('-', '')}`],
          {
            encoding: 'utf8',
          },
        );
        assert.equal(out.trim().split('=')[1], fingerprint(cert.der, algorithm));
      }
      const x509 = new X509Certificate(cert.der);
      assert.ok(x509.verify(cert.publicKey));
      assert.ok(x509.checkPrivateKey(cert.privateKey));
      const days = (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / 86_400_000;
      assert.ok(days >= 10.9 && days <= 11.1, `validity ${days} days`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('loadCertificate reads openssl-made PEM files and rejects a key of another certificate', () => {
  const a = opensslCertificate('ecdsa');
  const b = opensslCertificate('rsa');
  try {
    const loaded = loadCertificate(a.certFile, a.keyFile);
    assert.equal(loaded.keyType, 'ecdsa');
    assert.deepEqual(loaded.der, a.der);
    assert.equal(loadCertificate(b.certFile, b.keyFile).keyType, 'rsa');
    assert.throws(() => loadCertificate(a.certFile, b.keyFile), /is not the key of/);
  } finally {
    a.remove();
    b.remove();
  }
});

test('fingerprint format and matching', () => {
  const cert = generateCertificate();
  const value = fingerprint(cert.der);
  assert.match(value, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const list = fingerprints(cert.der);
  assert.equal(list.at(-1)!.algorithm, 'sha-256', 'sha-256 last: mediasoup-client uses the last one');
  assert.ok(matchesFingerprint(cert.der, [{ algorithm: 'SHA-256', value: value.toLowerCase() }]));
  assert.ok(
    !matchesFingerprint(cert.der, [{ algorithm: 'sha-256', value: fingerprint(generateCertificate().der) }]),
  );
  assert.ok(!matchesFingerprint(cert.der, [{ algorithm: 'md5', value }]));
  assert.throws(() => fingerprint(cert.der, 'md5' as 'sha-1'), TypeError);
});
