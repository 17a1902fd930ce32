/**
 * WebRTC data channels through tureen/sfu: mediasoup-client 3.18.7 (unmodified, its Chrome
 * handler) in headless Chromium. Page A produces four data channels (ordered reliable, unordered
 * reliable, maxRetransmits 0, maxPacketLifeTime 3 s) on its send transport; pages B and C
 * consume all four on their receive transports. SCTP runs over our DTLS on each
 * WebRtcTransport; the SFU relays every message DataProducer → router → DataConsumers.
 * Also: a DirectTransport DataConsumer and DataProducer crossing with SCTP, stream reset on
 * close both ways, stats and sctpstatechange events.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Bridge, call, type DataHarness, openPage, sleep, startDataHarness, until } from './chromium-page.js';

const ORDERED_COUNT = 10_000;
const OTHER_COUNT = 2_000;
/** Sizes around one SCTP chunk (1132 bytes of payload per DATA chunk here), 64 KiB and the limit. */
const SIZES = [0, 1, 1131, 1132, 1133, 1500, 65_536, 262_144];

let harness: DataHarness;

before(
  async () => {
    harness = await startDataHarness([]);
  },
  { timeout: 60_000 },
);

after(async () => {
  await harness?.close();
});

test('Chromium mediasoup-client data channels through tureen/sfu: ordered/unordered, reliable/partial, strings and binary up to the limit, 10 000 in order, Direct crossings, close', {
  timeout: 240_000,
}, async () => {
  const bridge = new Bridge();
  const listenInfos = [{ protocol: 'udp' as const, ip: '127.0.0.1' }];
  const transportOptions = {
    listenInfos,
    enableSctp: true,
    numSctpStreams: { OS: 1024, MIS: 1024 },
    // The default (256 KiB, mediasoup's) refuses a 256 KiB message while anything else is queued,
    // and a burst of 10 000 can outrun a receiver on a loaded machine: this test wants no drops.
    sctpSendBufferSize: 16 << 20,
  };
  const sendTransport = await harness.router.createWebRtcTransport(transportOptions);
  const recvB = await harness.router.createWebRtcTransport(transportOptions);
  const recvC = await harness.router.createWebRtcTransport(transportOptions);
  for (const t of [sendTransport, recvB, recvC]) bridge.transports.set(t.id, t);
  const sctpStates: string[] = [];
  const observerStates: string[] = [];
  sendTransport.on('sctpstatechange', (s) => sctpStates.push(s));
  sendTransport.observer.on('sctpstatechange', (s) => observerStates.push(s));

  const pageA = await openPage(harness, bridge, sendTransport, 'send');
  const pageB = await openPage(harness, bridge, recvB, 'recv');
  const pageC = await openPage(harness, bridge, recvC, 'recv');

  const channels = {
    reliable: { ordered: true },
    unordered: { ordered: false },
    rexmit: { ordered: false, maxRetransmits: 0 },
    lifetime: { ordered: false, maxPacketLifeTime: 3000 },
  } as const;
  const producerIds: Record<string, string> = {};
  for (const [label, options] of Object.entries(channels)) {
    producerIds[label] = await call<string>(
      pageA,
      `window.produceData(${JSON.stringify(label)}, ${JSON.stringify(options)})`,
    );
  }
  assert.equal(sendTransport.sctpState, 'connected');
  assert.ok(sctpStates.includes('connected'), `sctpstatechange events: ${sctpStates}`);
  assert.ok(observerStates.includes('connected'), `observer sctpstatechange events: ${observerStates}`);
  const serverReliable = bridge.dataProducers.get('reliable')!;
  assert.equal(serverReliable.type, 'sctp');
  assert.equal(bridge.dataProducers.get('rexmit')!.sctpStreamParameters?.maxRetransmits, 0);
  assert.equal(bridge.dataProducers.get('lifetime')!.sctpStreamParameters?.maxPacketLifeTime, 3000);

  for (const page of [pageB, pageC]) {
    for (const label of Object.keys(channels)) {
      const c = await call<{
        label: string;
        ordered: boolean;
        maxRetransmits?: number;
        maxPacketLifeTime?: number;
      }>(page, `window.consumeData(${JSON.stringify(producerIds[label])})`);
      assert.equal(c.label, label);
      assert.equal(c.ordered, label === 'reliable', `${label} ordered`);
    }
  }
  assert.equal(recvB.sctpState, 'connected');
  assert.equal(recvC.sctpState, 'connected');
  // The negotiated limit Chromium applies is the transport's maxSctpMessageSize.
  assert.equal(await call<number>(pageA, 'window.maxMessageSize()'), 262_144);

  // A DirectTransport DataConsumer of A's reliable channel (SCTP → Direct).
  const direct = await harness.router.createDirectTransport({ maxMessageSize: 262_144 });
  const directConsumer = await direct.consumeData({ dataProducerId: producerIds.reliable! });
  const directLog: string[] = [];
  directConsumer.on('message', (data, ppid) => {
    const text = data.toString();
    directLog.push(ppid === 51 && /^[0-9]{1,12}$/.test(text) ? text : `${ppid}:${data.length}`);
  });

  // 10 000 ordered strings, then strings and binary of every size (including empty).
  const sized = SIZES.flatMap((len) => [
    { kind: 's', len },
    { kind: 'b', len },
  ]);
  await call(pageA, `window.sendIndices('reliable', ${ORDERED_COUNT})`);
  await call(pageA, `window.sendAll('reliable', ${JSON.stringify(sized)})`);

  const expectedSized = SIZES.flatMap((len) => [len === 0 ? 's:0:true' : `s:${len}:true`, `b:${len}:true`]);
  for (const page of [pageB, pageC]) {
    const total = ORDERED_COUNT + sized.length;
    await until(
      'the reliable channel',
      () => call<number>(page, "window.logLength('reliable')"),
      (n) => n >= total,
      90_000,
    );
    const log = await call<string[]>(page, "window.getLog('reliable')");
    assert.equal(log.length, total, 'no extra messages');
    for (let i = 0; i < ORDERED_COUNT; i++) {
      if (log[i] !== String(i)) assert.fail(`ordered message ${i} is ${log[i]}`);
    }
    assert.deepEqual(log.slice(ORDERED_COUNT), expectedSized);
  }

  // One kind of traffic at a time: partially reliable messages queued in Chromium behind
  // thousands of reliable ones expire there before they are sent.
  await call(pageA, `window.sendIndices('unordered', ${OTHER_COUNT})`);
  for (const page of [pageB, pageC]) {
    await until(
      'the unordered channel',
      () => call<number>(page, "window.logLength('unordered')"),
      (n) => n >= OTHER_COUNT,
      30_000,
    );
    const unordered = await call<string[]>(page, "window.getLog('unordered')");
    assert.deepEqual(
      [...unordered].map(Number).sort((a, b) => a - b),
      Array.from({ length: OTHER_COUNT }, (_, i) => i),
      'unordered reliable: every message exactly once',
    );
  }
  for (const label of ['rexmit', 'lifetime']) {
    await call(pageA, `window.sendPaced(${JSON.stringify(label)}, ${OTHER_COUNT})`);
    for (const page of [pageB, pageC]) {
      // Partially reliable: what Chromium's sender did not abandon reaches the SFU, which forwards
      // it with the same settings. Never twice, never corrupted; on loopback nearly everything.
      const serverProducer = bridge.dataProducers.get(label)!;
      const received = async () =>
        ((await serverProducer.getStats()) as { messagesReceived: number }[])[0]!.messagesReceived;
      const atSfu = await until(`${label} at the SFU`, received, (n) => n >= OTHER_COUNT * 0.5, 30_000);
      await until(
        label,
        () => call<number>(page, `window.logLength(${JSON.stringify(label)})`),
        (n) => n >= atSfu * 0.9,
        30_000,
      );
      await sleep(500);
      const values = (await call<string[]>(page, `window.getLog(${JSON.stringify(label)})`)).map(Number);
      console.log(
        `${label}: sent ${OTHER_COUNT}, SFU received ${await received()}, page received ${values.length}`,
      );
      assert.equal(new Set(values).size, values.length, `${label}: no duplicates`);
      assert.ok(
        values.every((v) => Number.isInteger(v) && v >= 0 && v < OTHER_COUNT),
        `${label}: valid`,
      );
    }
  }
  // Direct DataConsumer: same messages, same order, PPIDs kept (51 string, 53 binary, 56/57 empty).
  await until(
    'the Direct DataConsumer',
    async () => directLog.length,
    (n) => n >= ORDERED_COUNT + sized.length,
    30_000,
  );
  for (let i = 0; i < ORDERED_COUNT; i++)
    if (directLog[i] !== String(i)) assert.fail(`direct ${i}: ${directLog[i]}`);
  assert.deepEqual(
    directLog.slice(ORDERED_COUNT),
    SIZES.flatMap((len) => (len === 0 ? ['56:1', '57:1'] : [`51:${len}`, `53:${len}`])),
  );

  // Stats of the server objects.
  const [producerStats] = (await serverReliable.getStats()) as {
    messagesReceived: number;
    bytesReceived: number;
  }[];
  assert.equal(producerStats!.messagesReceived, ORDERED_COUNT + sized.length);
  const consumerB = bridge.dataConsumers.get(`${recvB.id}/reliable`)!;
  const [consumerStats] = (await consumerB.getStats()) as {
    messagesSent: number;
    bytesSent: number;
    bufferedAmount: number;
  }[];
  assert.equal(consumerStats!.messagesSent, ORDERED_COUNT + sized.length);
  assert.equal(consumerStats!.bytesSent, producerStats!.bytesReceived);
  assert.equal(await consumerB.getBufferedAmount(), 0);

  // Direct → SCTP: a DirectTransport DataProducer consumed by page B.
  const directProducer = await direct.produceData({ label: 'from-direct' });
  await call(pageB, `window.consumeData(${JSON.stringify(directProducer.id)})`);
  directProducer.send('hello');
  directProducer.send(Buffer.from(bytesOf(70_000)));
  directProducer.send('');
  await until(
    'Direct → page B',
    () => call<number>(pageB, "window.logLength('from-direct')"),
    (n) => n >= 3,
    15_000,
  );
  assert.deepEqual(await call<string[]>(pageB, "window.getLog('from-direct')"), [
    's:5:false',
    'b:70000:true',
    's:0:true',
  ]);

  // The SFU sends on a DataConsumer of its own (dataConsumer.send()).
  const consumerC = bridge.dataConsumers.get(`${recvC.id}/unordered`)!;
  await consumerC.send('4242');
  await until(
    'dataConsumer.send()',
    () => call<string[]>(pageC, "window.getLog('unordered')"),
    (l) => l.includes('4242'),
    10_000,
  );

  // Closing a server DataConsumer resets its stream: page C's channel closes.
  consumerC.close();
  await until(
    'page C channel closed',
    () => call<string>(pageC, "window.consumerState('unordered')"),
    (s) => s === 'closed',
    15_000,
  );
  // Page A closes a DataProducer: Chromium resets the stream, the SFU resets it back.
  await call(pageA, "window.closeProducer('lifetime')");
  await until(
    'page A lifetime channel closed',
    () => call<string>(pageA, "window.producerState('lifetime')"),
    (s) => s === 'closed',
    15_000,
  );
  // The app closes a server DataProducer: A's channel closes (its stream is reset), and so do
  // the consumers' channels on B and C (their DataConsumers close with it).
  let consumerClosedEvents = 0;
  for (const t of [recvB, recvC]) {
    bridge.dataConsumers.get(`${t.id}/rexmit`)!.on('dataproducerclose', () => consumerClosedEvents++);
  }
  bridge.dataProducers.get('rexmit')!.close();
  await until(
    'page A rexmit channel closed',
    () => call<string>(pageA, "window.producerState('rexmit')"),
    (s) => s === 'closed',
    15_000,
  );
  for (const page of [pageB, pageC]) {
    await until(
      'consumer rexmit channel closed',
      () => call<string>(page, "window.consumerState('rexmit')"),
      (s) => s === 'closed',
      15_000,
    );
  }
  assert.equal(consumerClosedEvents, 2);
  // The other channels keep working.
  await call(pageA, "window.sendAll('reliable', [123456])");
  await until(
    'after the closes',
    () => call<string[]>(pageC, "window.getLog('reliable')"),
    (l) => l.at(-1) === '123456',
    10_000,
  );

  for (const page of [pageA, pageB, pageC]) await page.close();
  for (const t of [sendTransport, recvB, recvC, direct]) t.close();
});

function bytesOf(len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let j = 0; j < len; j++) b[j] = (j * 31 + len) & 0xff;
  return b;
}
