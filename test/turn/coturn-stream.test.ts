import { after, before, test } from 'node:test';
import type { TurnServer } from '../../src/turn/index.js';
import { assertClean, startUclientFixture } from './uclient.js';

let server: TurnServer;
let uclient: Awaited<ReturnType<typeof startUclientFixture>>['uclient'];
let closeFixture: (() => Promise<void>) | undefined;

before(async () => {
  ({ server, uclient, close: closeFixture } = await startUclientFixture());
});

after(async () => {
  await closeFixture?.();
});

test('uclient over TCP, channels and indications', { timeout: 40000 }, async () => {
  assertClean(await uclient(['-t', '-u', 'alice', '-w', 'secret', '-c'], server.ports.tcp), 500);
  assertClean(await uclient(['-t', '-u', 'alice', '-w', 'secret', '-c', '-s'], server.ports.tcp), 500);
});

test('uclient over TLS', { timeout: 30000 }, async () => {
  assertClean(
    await uclient(['-t', '-S', '-u', 'alice', '-w', 'secret', '-c'], server.ports.tls!, 4, 30),
    120,
  );
});

test('uclient RTP/RTCP pairs: EVEN-PORT with reservation, then RESERVATION-TOKEN', {
  timeout: 30000,
}, async () => {
  assertClean(await uclient(['-u', 'alice', '-w', 'secret'], server.ports.udp, 4, 30), 120);
});
