/**
 * Summarises a V8 .cpuprofile: self time per function (top N) and the share of total samples.
 *   npx tsx bench/lib/cpuprofile-top.ts <file.cpuprofile> [N]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: cpuprofile-top.ts <file.cpuprofile> [N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const self = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const n = hits.get(node.id) ?? 0;
  total += n;
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(src|bench|node_modules)\//, '$1/')}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + n);
}
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((s, [, n]) => s + n, 0);
console.log(`samples ${total}, idle ${((idle / total) * 100).toFixed(1)} %`);
for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg) || 40))
  console.log(`${((n / (total - idle)) * 100).toFixed(1).padStart(5)} %  ${key}`);
