import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { issueToken, TokenError, verifyToken } from '../../src/signaling/index.js';

const SECRET = 'token-test-secret';

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A JWT built by hand with node:crypto, independent of jose and of our code. */
function handMadeJwt(header: object, payload: object, secret: string): string {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

async function rejects(token: string, reason: TokenError['reason'], secret = SECRET) {
  await assert.rejects(verifyToken(secret, token), (err: unknown) => {
    assert.ok(err instanceof TokenError, `expected TokenError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    return true;
  });
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

test('issue → verify round trip; missing permissions default to granted', { timeout: 5000 }, async () => {
  const token = await issueToken(
    SECRET,
    { sub: 'alice', room: 'standup', name: 'Alice', perms: { publish: false } },
    60,
  );
  const claims = await verifyToken(SECRET, token);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.room, 'standup');
  assert.equal(claims.name, 'Alice');
  assert.deepEqual(claims.perms, { publish: false, subscribe: true, publishData: true });
  assert.ok(claims.exp >= nowSeconds() + 59 && claims.exp <= nowSeconds() + 61);

  // Our token is a standard HS256 JWT: check its signature with node:crypto alone.
  const [header, payload, signature] = token.split('.');
  assert.deepEqual(JSON.parse(Buffer.from(header!, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' });
  const expected = createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url');
  assert.equal(signature, expected);
});

test('a hand-made standard JWT is accepted', { timeout: 5000 }, async () => {
  const token = handMadeJwt(
    { alg: 'HS256', typ: 'JWT' },
    { sub: 'bob', room: 'r1', exp: nowSeconds() + 60 },
    SECRET,
  );
  const claims = await verifyToken(SECRET, token);
  assert.equal(claims.sub, 'bob');
  assert.equal(claims.name, undefined);
  assert.deepEqual(claims.perms, { publish: true, subscribe: true, publishData: true });
});

test('expired, wrong-secret, forged and malformed tokens are refused with a reason', {
  timeout: 5000,
}, async () => {
  await rejects(
    handMadeJwt({ alg: 'HS256' }, { sub: 'a', room: 'r', exp: nowSeconds() - 10 }, SECRET),
    'expired',
  );
  await rejects(await issueToken('another-secret', { sub: 'a', room: 'r' }, 60), 'bad_signature');

  // Tampered payload: the room changed after signing.
  const good = await issueToken(SECRET, { sub: 'a', room: 'r' }, 60);
  const [h, , s] = good.split('.');
  const tampered = `${h}.${b64url(JSON.stringify({ sub: 'a', room: 'admin', exp: nowSeconds() + 60 }))}.${s}`;
  await rejects(tampered, 'bad_signature');

  // alg "none" and other algorithms than HS256.
  const unsigned = `${b64url('{"alg":"none"}')}.${b64url(JSON.stringify({ sub: 'a', room: 'r', exp: nowSeconds() + 60 }))}.`;
  await rejects(unsigned, 'bad_signature');
  const hs512 = await new SignJWT({ room: 'r' })
    .setProtectedHeader({ alg: 'HS512' })
    .setSubject('a')
    .setExpirationTime('1m')
    .sign(new TextEncoder().encode(SECRET));
  await rejects(hs512, 'bad_signature');

  // Well signed but without exp, without room, with wrong claim types.
  await rejects(handMadeJwt({ alg: 'HS256' }, { sub: 'a', room: 'r' }, SECRET), 'bad_claims');
  await rejects(handMadeJwt({ alg: 'HS256' }, { sub: 'a', exp: nowSeconds() + 60 }, SECRET), 'bad_claims');
  await rejects(
    handMadeJwt(
      { alg: 'HS256' },
      { sub: 'a', room: 'r', perms: { publish: 'yes' }, exp: nowSeconds() + 60 },
      SECRET,
    ),
    'bad_claims',
  );
  await rejects(
    handMadeJwt({ alg: 'HS256' }, { sub: 7, room: 'r', exp: nowSeconds() + 60 }, SECRET),
    'bad_claims',
  );

  for (const garbage of [
    '',
    'abc',
    'a.b.c',
    '...',
    `${b64url('{}')}.${b64url('[]')}.xx`,
    '\u0000\uffff.é.😀',
  ]) {
    await assert.rejects(verifyToken(SECRET, garbage), TokenError, `garbage ${JSON.stringify(garbage)}`);
  }
});

test('verifyToken throws only TokenError for random inputs', { timeout: 20_000 }, async () => {
  const good = await issueToken(SECRET, { sub: 'fuzz', room: 'r' }, 60);
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let i = 0; i < 2000; i++) {
    const chars = good.split('');
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) {
      chars[Math.floor(random() * chars.length)] = String.fromCharCode(Math.floor(random() * 128));
    }
    const mutated = chars.join('');
    if (mutated === good) continue;
    try {
      const claims = await verifyToken(SECRET, mutated);
      // A mutation inside base64 padding bits can leave the token valid: then it must decode the same.
      assert.equal(claims.sub, 'fuzz');
    } catch (err) {
      assert.ok(err instanceof TokenError, `unexpected ${String(err)}`);
    }
  }
});

test('issueToken rejects an empty secret and a non-positive ttl', { timeout: 5000 }, async () => {
  await assert.rejects(issueToken('', { sub: 'a', room: 'r' }, 60), TypeError);
  await assert.rejects(issueToken(SECRET, { sub: 'a', room: 'r' }, 0), TypeError);
});
