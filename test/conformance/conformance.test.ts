// Runs mediasoup 3.14.7's API test suite (jest, @mafalda-sfu/mediasoup-node-tests) against the
// CommonJS build of tureen/sfu and enforces test/conformance/known-failures.json: any other
// failure fails this test, and so does a listed test that now passes (update the list).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');

interface KnownFailures {
  implementationIndependent: string[];
  failures: { test: string; reason: string }[];
}

interface JestReport {
  numTotalTests: number;
  testResults: { assertionResults: { fullName: string; status: string }[] }[];
}

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(signal ? 1 : (code ?? 1)));
  });
}

test('mediasoup conformance suite: no failures beyond known-failures.json', {
  timeout: 400_000,
}, async () => {
  assert.equal(
    await run(process.execPath, [join(root, 'test', 'conformance', 'build-cjs.mjs')]),
    0,
    'CommonJS build failed',
  );
  const dir = mkdtempSync(join(tmpdir(), 'tureen-conformance-'));
  try {
    const output = join(dir, 'jest.json');
    await run(process.execPath, [
      join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
      '-c',
      join(root, 'test', 'conformance', 'jest.config.cjs'),
      '--json',
      '--outputFile',
      output,
    ]);
    const report = JSON.parse(readFileSync(output, 'utf8')) as JestReport;
    const known = JSON.parse(
      readFileSync(join(import.meta.dirname, 'known-failures.json'), 'utf8'),
    ) as KnownFailures;
    const allowed = new Set(known.failures.map((f) => f.test));
    const independent = new Set(known.implementationIndependent);
    const results = report.testResults.flatMap((r) => r.assertionResults);
    const failed = results.filter((r) => r.status === 'failed').map((r) => r.fullName);
    const passed = new Set(results.filter((r) => r.status === 'passed').map((r) => r.fullName));
    const dependent = results.filter((r) => !independent.has(r.fullName));
    const dependentPassed = dependent.filter((r) => r.status === 'passed').length;
    console.log(
      `conformance: ${passed.size} passed, ${failed.length} failed, ${report.numTotalTests} total; ` +
        `implementation-dependent: ${dependentPassed} / ${dependent.length} passed`,
    );
    assert.equal(report.numTotalTests, 175, 'the suite should hold 175 tests');
    assert.deepEqual(
      failed.filter((name) => !allowed.has(name)),
      [],
      'tests failed that are not in known-failures.json',
    );
    assert.deepEqual(
      [...allowed].filter((name) => passed.has(name)),
      [],
      'tests in known-failures.json now pass: remove them from the list',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
