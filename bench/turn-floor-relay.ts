// The floor for any Node TURN relay: a bare dgram relay with the same traffic pattern as TURN
// ChannelData (client → listener → per-client relay socket → peer, and back with a 4-byte
// header), no TURN logic at all. bench/turn.ts runs it beside our TurnServer and coturn to show
// how much of our CPU per packet is Node's datagram path rather than our code.
// With 'connected', every socket that talks to one address is connect()ed to it: the relay socket
// to the peer, and a per-client socket sharing the listening port (SO_REUSEADDR) to the client,
// so sends skip the per-send address handling and the kernel steers each client's datagrams to
// its own socket.
// Usage: node --import tsx bench/turn-floor-relay.ts PORT PEER_PORT [connected]
import dgram from 'node:dgram';

const [port, peerPort] = process.argv.slice(2).map(Number) as [number, number];
const mode = process.argv[4] ?? 'unconnected';
const connected = mode === 'connected';
const connectRelay = connected || mode === 'connected-relay';
const literal = (
  address: string,
  _family: unknown,
  cb: (e: Error | null, a: string, f: number) => void,
): void => cb(null, address, 4);
const listener = dgram.createSocket({
  type: 'udp4',
  lookup: literal,
  recvBufferSize: 4 << 20,
  reuseAddr: connected,
});

interface Client {
  port: number;
  relay: dgram.Socket;
  relayConnected: boolean;
  /** The client's own socket on the listening port, once connected to it. */
  own: dgram.Socket | undefined;
}
const clients = new Map<number, Client>();

function header(length: number): Buffer {
  const h = Buffer.allocUnsafe(4);
  h.writeUInt16BE(0x4000, 0);
  h.writeUInt16BE(length, 2);
  return h;
}

function clientFor(clientPort: number): Client {
  let client = clients.get(clientPort);
  if (client) return client;
  const relay = dgram.createSocket({ type: 'udp4', lookup: literal, recvBufferSize: 1 << 20 });
  const created: Client = { port: clientPort, relay, relayConnected: false, own: undefined };
  client = created;
  clients.set(clientPort, created);
  // A connected socket reports ICMP errors (peer gone) as socket errors; a relay ignores them.
  relay.on('error', () => {});
  relay.on('message', (data) => {
    if (created.own) created.own.send([header(data.length), data]);
    else listener.send([header(data.length), data], clientPort, '127.0.0.1');
  });
  relay.bind(0, '127.0.0.1', () => {
    if (connectRelay) relay.connect(peerPort, '127.0.0.1', () => (created.relayConnected = true));
  });
  if (connected) {
    const own = dgram.createSocket({
      type: 'udp4',
      lookup: literal,
      recvBufferSize: 1 << 20,
      reuseAddr: true,
    });
    own.on('error', () => {});
    own.bind(port, '127.0.0.1', () => {
      own.connect(clientPort, '127.0.0.1', () => {
        own.on('message', (msg) => toPeer(created, msg));
        created.own = own;
      });
    });
  }
  return created;
}

function toPeer(client: Client, msg: Buffer): void {
  const payload = msg.subarray(4);
  if (client.relayConnected) client.relay.send(payload);
  else client.relay.send(payload, peerPort, '127.0.0.1');
}

// Datagrams of clients without (or before) their own socket.
listener.on('message', (msg, rinfo) => toPeer(clientFor(rinfo.port), msg));
listener.bind(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
