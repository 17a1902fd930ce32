// The floor for any Node TURN relay: a bare dgram relay with the same traffic pattern as TURN
// ChannelData (client → listener → per-client relay socket → peer, and back with a 4-byte
// header), no TURN logic at all. bench/turn.ts runs it beside our TurnServer and coturn to show
// how much of our CPU per packet is Node's datagram path rather than our code.
// Usage: node --import tsx bench/turn-floor-relay.ts PORT PEER_PORT
import dgram from 'node:dgram';

const [port, peerPort] = process.argv.slice(2).map(Number) as [number, number];
const literal = (
  address: string,
  _family: unknown,
  cb: (e: Error | null, a: string, f: number) => void,
): void => cb(null, address, 4);
const listener = dgram.createSocket({ type: 'udp4', lookup: literal, recvBufferSize: 4 << 20 });
const relays = new Map<number, dgram.Socket>();

listener.on('message', (msg, rinfo) => {
  let relay = relays.get(rinfo.port);
  if (!relay) {
    const clientPort = rinfo.port;
    const created = dgram.createSocket({ type: 'udp4', lookup: literal, recvBufferSize: 1 << 20 });
    created.on('message', (data) => {
      const header = Buffer.allocUnsafe(4);
      header.writeUInt16BE(0x4000, 0);
      header.writeUInt16BE(data.length, 2);
      listener.send([header, data], clientPort, '127.0.0.1');
    });
    created.bind(0, '127.0.0.1');
    relays.set(clientPort, created);
    relay = created;
  }
  relay.send(msg.subarray(4), peerPort, '127.0.0.1');
});
listener.bind(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
