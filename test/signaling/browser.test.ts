// Headless Chromium as the peer: its WebSocket client (framing, automatic pongs, close codes) and
// its RTCPeerConnection's real offers, answers and candidates, relayed through our server.
// No ICE checks run: descriptions and candidates are relayed and applied, never connected.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { SignalingServer } from '../../src/signaling/index.js';
import { launchChromium } from '../helpers/browser.js';
import { eventually, startServer, token } from './helpers.js';

/** The messages the page sees, loosely typed for the fields these tests read. */
interface Msg {
  type: string;
  id?: number;
  method?: string;
  ok?: boolean;
  error?: { code: string };
  data: {
    peerId: string;
    from: string;
    description: RTCSessionDescriptionInit;
    candidate: RTCIceCandidateInit | null;
  };
}

let server: SignalingServer;
let browser: Browser;
let page: Page;

before(async () => {
  server = await startServer({ pingIntervalMs: 100, maxMessageBytes: 32 * 1024, reconnectGraceMs: 200 });
  browser = await launchChromium();
  page = await browser.newPage();
  // tsx compiles these callbacks with esbuild's keepNames, which calls a `__name` helper.
  await page.evaluate('globalThis.__name = (fn) => fn');
  // A tiny protocol client inside the page, on the browser's own WebSocket.
  await page.evaluate(() => {
    const w = window as unknown as Record<string, unknown>;
    w.connect = (url: string) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        const state = { ws, received: [] as unknown[], closed: null as null | { code: number }, nextId: 1 };
        ws.onmessage = (e) => state.received.push(JSON.parse(e.data as string));
        ws.onclose = (e) => {
          state.closed = { code: e.code };
        };
        ws.onopen = () => resolve(state);
        ws.onerror = () => reject(new Error('websocket error'));
      });
    w.request = (
      state: { ws: WebSocket; received: Array<{ type: string; id?: number }>; nextId: number },
      method: string,
      data: unknown,
    ) =>
      new Promise((resolve, reject) => {
        const id = state.nextId++;
        state.ws.send(JSON.stringify({ type: 'request', id, method, data }));
        const started = Date.now();
        const poll = () => {
          const response = state.received.find((m) => m.type === 'response' && m.id === id);
          if (response !== undefined) resolve(response);
          else if (Date.now() - started > 5000) reject(new Error(`no response to ${method}`));
          else setTimeout(poll, 5);
        };
        poll();
      });
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('a real offer, answer and candidates from Chromium cross the server intact', {
  timeout: 30_000,
}, async () => {
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const [aliceToken, bobToken] = await Promise.all([token('alice', 'chromium'), token('bob', 'chromium')]);
  const result = await page.evaluate(
    async ({ url, aliceToken, bobToken }) => {
      type State = { ws: WebSocket; received: Msg[]; closed: unknown };
      const w = window as unknown as {
        connect(url: string): Promise<State>;
        request(s: State, method: string, data: unknown): Promise<Msg>;
      };
      const alice = await w.connect(url);
      const bob = await w.connect(url);
      const aliceJoin = await w.request(alice, 'join', { token: aliceToken });
      const bobJoin = await w.request(bob, 'join', { token: bobToken });
      const aliceId = aliceJoin.data.peerId;
      const bobId = bobJoin.data.peerId;

      const nextSignal = (s: State, taken: number) =>
        new Promise<Msg['data']>((resolve, reject) => {
          const started = Date.now();
          const poll = () => {
            const signals = s.received.filter((m) => m.type === 'notification' && m.method === 'signal');
            if (signals.length > taken) resolve(signals[taken]!.data);
            else if (Date.now() - started > 5000) reject(new Error('no signal'));
            else setTimeout(poll, 5);
          };
          poll();
        });

      const pcA = new RTCPeerConnection();
      const pcB = new RTCPeerConnection();
      pcA.createDataChannel('chat');
      pcA.addTransceiver('audio');
      pcA.addTransceiver('video');
      const candidatesSent: unknown[] = [];
      const gathered = new Promise<void>((resolve) => {
        pcA.onicecandidate = async (e) => {
          const candidate = e.candidate === null ? null : e.candidate.toJSON();
          candidatesSent.push(candidate);
          const response = await w.request(alice, 'signal', { to: bobId, candidate });
          if (!response.ok) throw new Error(JSON.stringify(response.error));
          if (candidate === null) resolve();
        };
      });
      const offer = await pcA.createOffer();
      await pcA.setLocalDescription(offer);
      const sentOffer = { type: offer.type, sdp: offer.sdp };
      const offerResponse = await w.request(alice, 'signal', { to: bobId, description: sentOffer });

      const gotOffer = await nextSignal(bob, 0);
      await pcB.setRemoteDescription(gotOffer.description);
      const answer = await pcB.createAnswer();
      await pcB.setLocalDescription(answer);
      await w.request(bob, 'signal', { to: aliceId, description: { type: answer.type, sdp: answer.sdp } });
      const gotAnswer = await nextSignal(alice, 0);
      await pcA.setRemoteDescription(gotAnswer.description);

      await gathered;
      const candidatesReceived: unknown[] = [];
      for (let i = 1; i <= candidatesSent.length; i++)
        candidatesReceived.push((await nextSignal(bob, i)).candidate);

      const out = {
        aliceId,
        bobId,
        offerOk: offerResponse.ok,
        offerFrom: gotOffer.from,
        offerIntact: gotOffer.description.sdp === offer.sdp,
        offerBytes: offer.sdp?.length ?? 0,
        answerIntact: gotAnswer.description.sdp === answer.sdp,
        states: [pcA.signalingState, pcB.signalingState],
        candidatesSent,
        candidatesReceived,
      };
      pcA.close();
      pcB.close();
      alice.ws.close();
      bob.ws.close();
      return out;
    },
    { url, aliceToken, bobToken },
  );
  assert.equal(result.offerOk, true);
  assert.equal(result.offerFrom, result.aliceId);
  assert.ok(result.offerIntact, 'the SDP offer arrived byte for byte');
  assert.ok(result.offerBytes > 1000, `a real multi-section offer (${result.offerBytes} bytes)`);
  assert.ok(result.answerIntact);
  assert.deepEqual(result.states, ['stable', 'stable'], 'both sides applied the relayed descriptions');
  assert.ok(result.candidatesSent.length >= 2, 'at least one candidate and the end-of-candidates null');
  assert.deepEqual(result.candidatesReceived, result.candidatesSent);
});

test('Chromium answers pings and stays; oversize and flood close it 1009 / 1008', {
  timeout: 30_000,
}, async () => {
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const joinToken = await token('carol', 'chromium-limits');
  const result = await page.evaluate(
    async ({ url, joinToken }) => {
      type State = { ws: WebSocket; received: Msg[]; closed: null | { code: number } };
      const w = window as unknown as {
        connect(url: string): Promise<State>;
        request(s: State, method: string, data: unknown): Promise<Msg>;
      };
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const idle = await w.connect(url);
      const joined = await w.request(idle, 'join', { token: joinToken });
      await sleep(1000); // ten ping intervals: Chromium must have answered every ping
      const idleOpen = idle.ws.readyState === WebSocket.OPEN;
      const afterIdle = await w.request(idle, 'leave', {});

      const big = await w.connect(url);
      big.ws.send('x'.repeat(40 * 1024));
      const flood = await w.connect(url);
      for (let i = 0; i < 400; i++) flood.ws.send(JSON.stringify({ type: 'request', id: i, method: 'nope' }));
      for (let i = 0; i < 200 && (big.closed === null || flood.closed === null); i++) await sleep(10);
      const limited = flood.received.filter((m) => m.error?.code === 'rate_limited').length;
      idle.ws.close();
      return {
        joinedOk: joined.ok,
        idleOpen,
        afterIdleOk: afterIdle.ok,
        big: big.closed,
        flood: flood.closed,
        limited,
      };
    },
    { url, joinToken },
  );
  assert.equal(result.joinedOk, true);
  assert.equal(result.idleOpen, true);
  assert.equal(result.afterIdleOk, true);
  assert.deepEqual(result.big, { code: 1009 });
  assert.deepEqual(result.flood, { code: 1008 });
  assert.ok(result.limited > 0);
  await eventually(() => server.stats().peers === 0 && server.stats().sockets === 0, 3000, 'all peers gone');
});
