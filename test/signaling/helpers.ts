// Test helpers: a server on an ephemeral loopback port and a `ws`-library client that speaks the
// protocol and records everything it receives.
import WebSocket from 'ws';
import {
  type IceServer,
  issueToken,
  SignalingServer,
  type SignalingServerOptions,
} from '../../src/signaling/index.js';

export const SECRET = 'test-secret-0123456789abcdef';

export function iceServersFor(identity: string, ttlSeconds: number): IceServer[] {
  return [
    { urls: ['stun:127.0.0.1:3478'] },
    { urls: ['turn:127.0.0.1:3478?transport=udp'], username: `${ttlSeconds}:${identity}`, credential: 'x' },
  ];
}

export async function startServer(opts: Partial<SignalingServerOptions> = {}): Promise<SignalingServer> {
  return SignalingServer.start({
    port: 0,
    host: '127.0.0.1',
    secret: SECRET,
    iceServers: iceServersFor,
    ...opts,
  });
}

export function token(
  sub: string,
  room: string,
  extra: { name?: string; ttl?: number; secret?: string } = {},
) {
  return issueToken(extra.secret ?? SECRET, { sub, room, name: extra.name }, extra.ttl ?? 60);
}

export interface Received {
  type: string;
  id?: number | null;
  ok?: boolean;
  method?: string;
  data?: Record<string, unknown> & { [key: string]: unknown };
  error?: { code: string; message: string };
}

/** A protocol client over the `ws` library; every wait is bounded by a timeout. */
export class TestClient {
  readonly received: Received[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextId = 1;
  private waiters: Array<{ match: (m: Received) => boolean; resolve: (m: Received) => void }> = [];
  private cursor = 0;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Received;
      this.received.push(message);
      const index = this.waiters.findIndex((w) => w.match(message));
      if (index !== -1) this.waiters.splice(index, 1)[0]!.resolve(message);
    });
  }

  static async connect(
    port: number,
    options: WebSocket.ClientOptions = {},
    path = '/ws',
  ): Promise<TestClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false, ...options });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new TestClient(ws);
  }

  /** Waits for the first message (received earlier or later) that matches. */
  waitFor(match: (m: Received) => boolean, timeoutMs = 3000, what = 'message'): Promise<Received> {
    const earlier = this.received.find(match);
    if (earlier !== undefined) return Promise.resolve(earlier);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: Received) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The next notification of this method not yet taken by an earlier call. */
  async notification(method: string, timeoutMs = 3000): Promise<Received> {
    const start = this.cursor;
    const message = await this.waitFor(
      (m) => m.type === 'notification' && m.method === method && this.received.indexOf(m) >= start,
      timeoutMs,
      `notification ${method}`,
    );
    this.cursor = this.received.indexOf(message) + 1;
    return message;
  }

  notifications(method: string): Received[] {
    return this.received.filter((m) => m.type === 'notification' && m.method === method);
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Sends a request and resolves with its response (ok or not). */
  request(method: string, data?: unknown, timeoutMs = 3000): Promise<Received> {
    const id = this.nextId++;
    this.send({ type: 'request', id, method, data });
    return this.waitFor(
      (m) => m.type === 'response' && m.id === id,
      timeoutMs,
      `response to ${method}#${id}`,
    );
  }

  async join(tokenValue: string, extra: { displayName?: string; sessionId?: string } = {}) {
    const response = await this.request('join', { token: tokenValue, ...extra });
    if (!response.ok) throw new Error(`join failed: ${JSON.stringify(response.error)}`);
    return response.data as {
      peerId: string;
      sessionId: string;
      roomId: string;
      mode: string;
      peers: Array<{ peerId: string; displayName: string }>;
      iceServers: IceServer[];
      permissions: Record<string, boolean>;
    };
  }

  close(): Promise<unknown> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    this.ws.close();
    return this.closed;
  }

  terminate(): Promise<unknown> {
    this.ws.terminate();
    return this.closed;
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` is true or the time runs out. */
export async function eventually(check: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}
