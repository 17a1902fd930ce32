// The layering rule of ARCHITECTURE.md, checked on the source: a layer imports only from layers
// below it (and src/common); the browser client takes only types from the server side.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** Lowest first, as in ARCHITECTURE.md; equal ranks may not import each other. */
const RANK: Record<string, number> = {
  common: 0,
  wire: 1,
  transport: 2,
  // TURN sits beside the media stack, on the STUN codec only.
  turn: 2.5,
  media: 3,
  'sfu/engine': 4,
  sfu: 5,
  signaling: 6,
  rooms: 7,
  load: 7,
  server: 8,
  cli: 9,
  client: 10,
};

/** The layer of a path under src/: `sfu/engine` is below the rest of `sfu`. */
function layerOf(path: string): string {
  const parts = relative(SRC, path).split('/');
  return parts[0] === 'sfu' && parts[1] === 'engine' ? 'sfu/engine' : parts[0]!;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative module specifiers of every import/export ... from, with whether it is type-only. */
function importsOf(file: string): { specifier: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const found: { specifier: string; typeOnly: boolean }[] = [];
  for (const match of text.matchAll(/(?:^|;)\s*(import|export)\s+(type\s+)?[^;]*?\bfrom\s+'(\.[^']+)'/gm)) {
    found.push({ specifier: match[3]!, typeOnly: match[2] !== undefined });
  }
  // Side-effect and dynamic imports.
  for (const match of text.matchAll(/\bimport\s*\(?\s*'(\.[^']+)'/g)) {
    found.push({ specifier: match[1]!, typeOnly: false });
  }
  return found;
}

const files = sourceFiles(SRC);

test('every directory of src/ has a rank', () => {
  const layers = new Set(files.map(layerOf));
  for (const layer of layers) assert.ok(layer in RANK, `no rank for src/${layer}`);
  assert.ok(files.length > 100, `only ${files.length} source files found`);
});

test('no layer imports a higher one (or a sibling of its rank)', () => {
  const violations: string[] = [];
  let checked = 0;
  for (const file of files) {
    const layer = layerOf(file);
    for (const { specifier } of importsOf(file)) {
      const target = layerOf(resolve(dirname(file), specifier));
      checked++;
      if (target !== layer && RANK[target]! >= RANK[layer]!) {
        violations.push(`src/${relative(SRC, file)} (${layer}) imports ${specifier} (${target})`);
      }
    }
  }
  assert.ok(checked > 300, `only ${checked} imports seen: the pattern missed them`);
  assert.deepEqual(violations, []);
});

test('the browser client imports only types from outside src/client', () => {
  const violations: string[] = [];
  for (const file of files.filter((f) => layerOf(f) === 'client')) {
    for (const { specifier, typeOnly } of importsOf(file)) {
      if (layerOf(resolve(dirname(file), specifier)) !== 'client' && !typeOnly) {
        violations.push(`src/${relative(SRC, file)} imports ${specifier}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
