// Entry of a bot child process (`tureen load --processes N`): a BotGroup driven over IPC by the
// runner in the parent. Messages are a few per bot per run (add, snapshot), never per packet.
import { BotGroup, type BotSpec, type GroupConfig } from './bot-group.js';

type Request =
  | { id: number; op: 'add'; specs: BotSpec[] }
  | { id: number; op: 'snapshot' }
  | { id: number; op: 'vanish'; name: string }
  | { id: number; op: 'removeRoom'; room: string }
  | { id: number; op: 'close' };

const config = JSON.parse(process.argv[2] ?? '{}') as GroupConfig;
const group = new BotGroup(config);

const reply = (id: number, result: unknown, error?: string) => process.send?.({ id, result, error });

process.on('message', (message: Request) => {
  const handle = async (): Promise<unknown> => {
    switch (message.op) {
      case 'add':
        return group.add(message.specs);
      case 'snapshot':
        return group.snapshot();
      case 'vanish':
        return group.vanish(message.name);
      case 'removeRoom':
        return group.removeRoom(message.room);
      case 'close':
        await group.close();
        return true;
    }
  };
  handle().then(
    (result) => {
      reply(message.id, result);
      if (message.op === 'close') process.disconnect();
    },
    (err: unknown) => reply(message.id, undefined, err instanceof Error ? err.message : String(err)),
  );
});
// The parent went away: the bots go too.
process.on('disconnect', () => {
  group.close().finally(() => process.exit(0));
});
process.send?.({ id: 0, result: 'ready' });
