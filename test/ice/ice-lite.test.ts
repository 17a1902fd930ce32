import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  IceLiteServer,
  type IceState,
  type IceTuple,
  UdpIceListener,
} from '../../src/transport/ice/index.js';
import { bindingRequest, UdpStunClient, waitFor } from './helpers.js';

const REMOTE_UFRAG = 'rmte';

async function setup(options: ConstructorParameters<typeof IceLiteServer>[0] = {}) {
  const listener = await UdpIceListener.listen({ address: '127.0.0.1' });
  const server = new IceLiteServer(options);
  listener.addServer(server);
  server.on('usernamefragmentchange', (old) => listener.renameServer(server, old));
  const states: IceState[] = [];
  const selections: (IceTuple | undefined)[] = [];
  server.on('statechange', (s) => states.push(s));
  server.on('selectedtuplechange', (t) => selections.push(t));
  const username = (): string => `${server.usernameFragment}:${REMOTE_UFRAG}`;
  return {
    listener,
    server,
    states,
    selections,
    username,
    close: () => {
      server.close();
      listener.close();
    },
  };
}

test('a valid check gets an authenticated success with our mapped address and selects the tuple', async () => {
  const ctx = await setup();
  const client = await UdpStunClient.open();
  try {
    const result = await client.check(ctx.listener.port, {
      username: ctx.username(),
      password: ctx.server.password,
    });
    assert.ok(result, 'a response');
    assert.equal(result.message.cls, 2, 'success response');
    assert.ok(result.integrityOk, 'MESSAGE-INTEGRITY with the local password');
    assert.ok(result.fingerprintOk, 'FINGERPRINT');
    assert.deepEqual(result.mapped, { family: 4, address: '127.0.0.1', port: client.port });
    assert.equal(ctx.server.state, 'connected');
    assert.equal(ctx.server.selectedTuple?.remotePort, client.port);
    const nominated = await client.check(ctx.listener.port, {
      username: ctx.username(),
      password: ctx.server.password,
      useCandidate: true,
    });
    assert.equal(nominated?.message.cls, 2);
    assert.deepEqual(ctx.states, ['connected', 'completed']);
    assert.equal(ctx.selections.length, 1, 'same tuple: no second selection event');
  } finally {
    client.close();
    ctx.close();
  }
});

test('bad credentials, missing integrity or fingerprint, and role conflicts never change state', async () => {
  const ctx = await setup();
  const client = await UdpStunClient.open();
  try {
    const port = ctx.listener.port;
    const wrongPassword = await client.check(port, {
      username: ctx.username(),
      password: 'x'.repeat(32),
      useCandidate: true,
    });
    assert.equal(wrongPassword?.errorCode, 401);
    assert.equal(wrongPassword?.integrityOk, false);
    const noIntegrity = await client.check(port, { username: ctx.username(), useCandidate: true });
    assert.equal(noIntegrity?.errorCode, 400);
    const wrongUfrag = await client.check(port, {
      username: `nope:${REMOTE_UFRAG}`,
      password: ctx.server.password,
      useCandidate: true,
    });
    assert.equal(wrongUfrag?.errorCode, 401);
    const noUsername = await client.check(port, { password: ctx.server.password, useCandidate: true });
    assert.equal(noUsername?.errorCode, 400);
    const noPriority = await client.check(port, {
      username: ctx.username(),
      password: ctx.server.password,
      priority: false,
      useCandidate: true,
    });
    assert.equal(noPriority?.errorCode, 400);
    const noFingerprint = await client.check(
      port,
      { username: ctx.username(), password: ctx.server.password, fingerprint: false, useCandidate: true },
      300,
    );
    assert.equal(noFingerprint?.errorCode, 400);
    const badFingerprint = bindingRequest({
      username: ctx.username(),
      password: ctx.server.password,
      useCandidate: true,
    });
    badFingerprint[badFingerprint.length - 1]! ^= 0xff;
    client.send(badFingerprint, port);
    assert.equal(await client.next(300), undefined, 'a bad FINGERPRINT is dropped silently');
    const controlled = await client.check(port, {
      username: ctx.username(),
      password: ctx.server.password,
      controlled: true,
      useCandidate: true,
    });
    assert.equal(controlled?.errorCode, 487);
    client.send(Buffer.from('not stun, not anything'), port);
    client.send(Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3]), port);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ctx.server.state, 'new');
    assert.equal(ctx.server.selectedTuple, undefined);
    assert.equal(ctx.server.tuples.length, 0);
    assert.deepEqual(ctx.states, []);
    assert.equal(ctx.listener.tupleCount, 0);
  } finally {
    client.close();
    ctx.close();
  }
});

test('the remote ufrag is enforced once known', async () => {
  const ctx = await setup({ remoteUsernameFragment: REMOTE_UFRAG });
  const client = await UdpStunClient.open();
  try {
    const other = await client.check(ctx.listener.port, {
      username: `${ctx.server.usernameFragment}:else`,
      password: ctx.server.password,
    });
    assert.equal(other?.errorCode, 401);
    const ok = await client.check(ctx.listener.port, {
      username: ctx.username(),
      password: ctx.server.password,
    });
    assert.equal(ok?.message.cls, 2);
  } finally {
    client.close();
    ctx.close();
  }
});

test('USE-CANDIDATE moves the selection; renomination follows only higher NOMINATION values', async () => {
  const ctx = await setup();
  const a = await UdpStunClient.open();
  const b = await UdpStunClient.open();
  try {
    const port = ctx.listener.port;
    const creds = { username: ctx.username(), password: ctx.server.password };
    await a.check(port, { ...creds, useCandidate: true });
    assert.equal(ctx.server.selectedTuple?.remotePort, a.port);
    await b.check(port, creds);
    assert.equal(ctx.server.selectedTuple?.remotePort, a.port, 'a plain check does not steal the selection');
    assert.equal(ctx.server.tuples.length, 2);
    await b.check(port, { ...creds, useCandidate: true });
    assert.equal(ctx.server.selectedTuple?.remotePort, b.port, 'regular nomination: latest wins');
    await a.check(port, { ...creds, useCandidate: true, nomination: 5 });
    assert.equal(ctx.server.selectedTuple?.remotePort, a.port);
    await b.check(port, { ...creds, useCandidate: true, nomination: 4 });
    assert.equal(ctx.server.selectedTuple?.remotePort, a.port, 'a lower nomination is ignored');
    await b.check(port, { ...creds, useCandidate: true, nomination: 6 });
    assert.equal(ctx.server.selectedTuple?.remotePort, b.port);
    assert.equal(ctx.server.state, 'completed');
  } finally {
    a.close();
    b.close();
    ctx.close();
  }
});

test('non-STUN packets reach onPacket only from validated tuples', async () => {
  const ctx = await setup();
  const good = await UdpStunClient.open();
  const stranger = await UdpStunClient.open();
  const seen: number[] = [];
  ctx.server.onPacket = (buf, tuple) => seen.push(buf[0]!, tuple.remotePort);
  try {
    stranger.send(Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), ctx.listener.port);
    await good.check(ctx.listener.port, { username: ctx.username(), password: ctx.server.password });
    good.send(Buffer.from([23, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), ctx.listener.port);
    assert.ok(await waitFor(() => seen.length === 2, 1000));
    assert.deepEqual(seen, [23, good.port]);
  } finally {
    good.close();
    stranger.close();
    ctx.close();
  }
});

test('consent expires without authenticated refreshes: disconnected, then a check revives it', async () => {
  const ctx = await setup({ consentTimeout: 300 });
  const client = await UdpStunClient.open();
  try {
    const creds = { username: ctx.username(), password: ctx.server.password, useCandidate: true };
    await client.check(ctx.listener.port, creds);
    assert.equal(ctx.server.state, 'completed');
    // Unauthenticated traffic is not consent.
    for (let i = 0; i < 4; i++) {
      await client.check(ctx.listener.port, { ...creds, password: 'y'.repeat(24) }, 100);
    }
    assert.ok(await waitFor(() => ctx.server.state === 'disconnected', 2000), 'disconnected');
    assert.equal(ctx.server.selectedTuple, undefined);
    assert.equal(ctx.listener.tupleCount, 0);
    await client.check(ctx.listener.port, creds);
    assert.equal(ctx.server.state, 'completed');
    assert.deepEqual(ctx.states, ['completed', 'disconnected', 'completed']);
  } finally {
    client.close();
    ctx.close();
  }
});

test('ICE restart: old credentials stop working, new ones work, media tuple kept meanwhile', async () => {
  const ctx = await setup();
  const client = await UdpStunClient.open();
  try {
    const oldUsername = ctx.username();
    const oldPassword = ctx.server.password;
    await client.check(ctx.listener.port, {
      username: oldUsername,
      password: oldPassword,
      useCandidate: true,
    });
    const fresh = ctx.server.restart();
    assert.notEqual(fresh.usernameFragment, oldUsername.split(':')[0]);
    assert.equal(ctx.server.selectedTuple?.remotePort, client.port, 'selection survives the restart');
    const stale = await client.check(ctx.listener.port, { username: oldUsername, password: oldPassword });
    assert.equal(stale?.errorCode, 401);
    const ok = await client.check(ctx.listener.port, {
      username: `${fresh.usernameFragment}:${REMOTE_UFRAG}`,
      password: fresh.password,
      useCandidate: true,
    });
    assert.equal(ok?.message.cls, 2);
    assert.ok(ok?.integrityOk);
  } finally {
    client.close();
    ctx.close();
  }
});

test('close(): state closed, tuples released, no packets routed', async () => {
  const ctx = await setup();
  const client = await UdpStunClient.open();
  try {
    await client.check(ctx.listener.port, { username: ctx.username(), password: ctx.server.password });
    assert.equal(ctx.listener.tupleCount, 1);
    ctx.server.close();
    assert.equal(ctx.server.state, 'closed');
    assert.equal(ctx.listener.tupleCount, 0);
    assert.deepEqual(ctx.states, ['connected', 'closed']);
  } finally {
    client.close();
    ctx.listener.close();
  }
});
