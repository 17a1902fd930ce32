// The compiled module works as shipped: an ES module build and the CommonJS build each find
// their worker script (workerBin) and start workers without tsx.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code: signal ? 1 : (code ?? 1), stdout, stderr }));
  });
}

const SCRIPT = `
  const started = performance.now();
  const worker = await sfu.createWorker();
  const startMs = performance.now() - started;
  const router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }] });
  console.log(JSON.stringify({ workerBin: sfu.workerBin, codecs: router.rtpCapabilities.codecs.length, startMs }));
  worker.close();
`;

function check(result: { code: number; stdout: string; stderr: string }, entry: string): void {
  assert.equal(result.code, 0, result.stderr);
  const { workerBin, codecs, startMs } = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
  assert.equal(workerBin, entry);
  assert.equal(codecs, 1);
  assert.ok(startMs < 3000, `worker start-up took ${startMs} ms`);
}

test('the ES module build starts workers from its own worker/main.js', { timeout: 60_000 }, async () => {
  const out = join(root, '.test-artifacts', 'sfu-esm');
  rmSync(out, { recursive: true, force: true });
  const build = await run(tsc, [
    '-p',
    'tsconfig.sfu-cjs.json',
    '--module',
    'NodeNext',
    '--moduleResolution',
    'NodeNext',
    '--verbatimModuleSyntax',
    '--declaration',
    'false',
    '--outDir',
    out,
  ]);
  assert.equal(build.code, 0, build.stdout + build.stderr);
  const index = join(out, 'sfu', 'index.js');
  const result = await run(process.execPath, [
    '--input-type=module',
    '-e',
    `import * as sfu from ${JSON.stringify(index)};${SCRIPT}`,
  ]);
  check(result, join(out, 'sfu', 'worker', 'main.js'));
  rmSync(out, { recursive: true, force: true });
});

test('the CommonJS build starts workers from its own worker/main.js', { timeout: 60_000 }, async () => {
  // Same configuration as scripts/build-cjs.mjs, in a directory of its own so that it
  // never rewrites dist/cjs under a concurrently running conformance suite.
  const out = join(root, '.test-artifacts', 'sfu-cjs');
  rmSync(out, { recursive: true, force: true });
  const build = await run(tsc, ['-p', 'tsconfig.sfu-cjs.json', '--declaration', 'false', '--outDir', out]);
  assert.equal(build.code, 0, build.stdout + build.stderr);
  writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
  const index = join(out, 'sfu', 'index.js');
  const result = await run(process.execPath, [
    '-e',
    `const sfu = require(${JSON.stringify(index)}); (async () => {${SCRIPT}})();`,
  ]);
  check(result, join(out, 'sfu', 'worker', 'main.js'));
  rmSync(out, { recursive: true, force: true });
});
