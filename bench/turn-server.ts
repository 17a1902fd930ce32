// Our TurnServer as a standalone process, so bench/turn.ts can measure its CPU from /proc like coturn's.
// Usage: node --import tsx bench/turn-server.ts PORT MIN_RELAY_PORT MAX_RELAY_PORT
import { createLogger, type LogLevel } from '../src/common/logger.js';
import { TurnServer } from '../src/turn/index.js';

const [port, minPort, maxPort] = process.argv.slice(2).map(Number);
const server = await TurnServer.start({
  udpPort: port,
  tcpPort: port,
  relayPortRange: [minPort!, maxPort!],
  users: { u: 'p' },
  realm: 'tureen',
  allowLoopbackPeers: true,
  maxAllocationsPerUser: 10_000,
  logger: createLogger((process.env.TURN_BENCH_LOG ?? 'warn') as LogLevel),
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
