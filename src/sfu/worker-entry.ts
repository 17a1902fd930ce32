import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Directory of this module, found without `import.meta` (which CommonJS output cannot carry) and
 * without relying on `__dirname` alone (which ES modules lack): CommonJS has `__filename`; ES
 * modules read their own URL from a stack frame.
 */
function moduleDirectory(): string {
  if (typeof __filename === 'string') return dirname(__filename);
  const stack = new Error().stack ?? '';
  // "at moduleDirectory (file:///.../worker-entry.js:12:34)", or a plain path when source-mapped.
  const match = /((?:file:\/\/)?\/[^\s()]+?)(?::\d+){1,2}\)?\s*$/.exec(stack.split('\n')[1] ?? '');
  if (!match) throw new Error('cannot locate the SFU worker entry script');
  const location = match[1]!;
  return dirname(location.startsWith('file://') ? fileURLToPath(location) : location);
}

/** The worker process entry script: compiled JavaScript, or the TypeScript source when run with tsx. */
export function locateWorkerEntry(): string {
  const dir = moduleDirectory();
  const js = join(dir, 'worker', 'main.js');
  if (existsSync(js)) return js;
  return join(dir, 'worker', 'main.ts');
}
