// Runs every test file under test/ with Node's built-in test runner, TypeScript loaded through tsx.
// (Node 20's `--test` does not expand globs itself, hence this small launcher.)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = collect('test');
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// `portus-source` (package.json exports): 'portus' imports, and every `bin/portus.js` a test spawns,
// run the sources, never a possibly stale dist/. NODE_OPTIONS passes it on to child processes.
const NODE_OPTIONS = [process.env.NODE_OPTIONS, '--conditions=portus-source'].filter(Boolean).join(' ');
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS },
});
process.exit(r.status ?? 1);
