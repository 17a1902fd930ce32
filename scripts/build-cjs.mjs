#!/usr/bin/env node
// Builds the CommonJS copy of tureen/sfu (and what it imports) into dist/cjs, which jest and
// require() users load: `node scripts/build-cjs.mjs`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tsc = join(root, 'node_modules', '.bin', 'tsc');
const result = spawnSync(tsc, ['-p', join(root, 'tsconfig.sfu-cjs.json')], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
mkdirSync(join(root, 'dist', 'cjs'), { recursive: true });
// The package is "type": "module"; this marks the copy as CommonJS.
writeFileSync(join(root, 'dist', 'cjs', 'package.json'), '{ "type": "commonjs" }\n');
