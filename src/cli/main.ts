#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startTureen } from '../server/index.js';
import { issueToken } from '../signaling/tokens.js';
import { loadCommand } from './load-command.js';
import { options, roomMode, startOptions, UsageError, usage } from './options.js';

async function main(argv: string[]): Promise<number> {
  // `load` has its own options (src/cli/load-command.ts).
  if (argv[0] === 'load') return loadCommand(argv.slice(1));
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  const command = positionals[0];
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    console.log(pkg.version);
    return 0;
  }
  if (values.help || command === undefined || command === 'help') {
    console.log(usage);
    return 0;
  }
  if (command === 'start') {
    const server = await startTureen(startOptions(values, process.env));
    console.log(`Tureen is up: open ${server.httpUrl}`);
    if (server.devMode)
      console.log('development mode: tokens from /api/dev-token (set --secret for production)');
    const stop = () => {
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return -1;
  }
  if (command === 'token') {
    const secret = values.secret ?? process.env.TUREEN_SECRET;
    if (!secret || !values.room || !values.identity)
      throw new UsageError('token needs --secret, --room and --identity');
    const ttl = Number(values.ttl ?? 3600);
    if (!Number.isInteger(ttl) || ttl <= 0)
      throw new UsageError('--ttl must be a positive number of seconds');
    const token = await issueToken(
      secret,
      {
        sub: values.identity,
        room: values.room,
        ...(values.name ? { name: values.name } : {}),
        ...(values.mode ? { mode: roomMode(values.mode, '--mode') } : {}),
        perms: {
          publish: !values['no-publish'],
          subscribe: !values['no-subscribe'],
          publishData: !values['no-publish-data'],
        },
      },
      ttl,
    );
    console.log(token);
    return 0;
  }
  throw new UsageError(`unknown command '${command}'`);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    const usageError =
      err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    console.error(`tureen: ${err instanceof Error ? err.message : String(err)}`);
    if (usageError) console.error("run 'tureen --help' for usage");
    process.exitCode = usageError ? 2 : 1;
  },
);
