#!/usr/bin/env node
// Entry point of the `portus` command. It runs the compiled JavaScript in dist/ (built by
// `npm run build`, which `npm install` runs through `prepare`); a user's TypeScript algorithm file
// gets its loader later, only when one is imported (src/cli/user-module.ts).
//
// From the sources instead, through tsx, when
//  - dist/ is missing (a checkout that has not been built), or
//  - dist/ is stale: in a checkout (src/ beside dist/, not inside node_modules), a file under src/
//    was modified after the last build started (`npm run build` sets dist/cli/main.js's mtime to
//    that moment). A developer who edited src/ gets the code they wrote, plus one line on stderr
//    asking for `npm run build` (the sources start slower). An installed package never checks:
//    it has no src/, and under node_modules the check is skipped before any file is touched.
//  - the process resolves this package with the `portus-source` condition
//    (NODE_OPTIONS=--conditions=portus-source, as `npm test` sets), so tests never run a stale dist/.
import { readdirSync, statSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Node 22.1+: cache compiled bytecode of the modules below between runs (no-op on Node 20).
module.enableCompileCache?.();

/** The first file under `dir` modified after `since` (ms), relative to `dir`, or null. */
function modifiedSince(dir, since) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      const inner = modifiedSince(join(dir, e.name), since);
      if (inner !== null) return join(e.name, inner);
    } else if (statSync(join(dir, e.name)).mtimeMs > since) return e.name;
  }
  return null;
}

/** Why dist/ must not run ('' if it may). */
function distProblem(root) {
  const built = statSync(join(root, 'dist/cli/main.js'), { throwIfNoEntry: false });
  if (built === undefined) return 'missing';
  if (root.includes('/node_modules/')) return '';
  const src = join(root, 'src');
  if (statSync(src, { throwIfNoEntry: false })?.isDirectory() !== true) return '';
  try {
    const changed = modifiedSince(src, built.mtimeMs);
    if (changed !== null) {
      process.stderr.write(
        `portus: dist/ is older than src/ (src/${changed} changed since the last build); ` +
          'running the sources through tsx: run `npm run build`\n',
      );
      return 'stale';
    }
  } catch {
    // An unreadable src/ is not ours to judge: run dist/.
  }
  return '';
}

const root = fileURLToPath(new URL('..', import.meta.url));
let entry = new URL('../dist/cli/main.js', import.meta.url).href;
if (import.meta.resolve('portus').endsWith('.ts') || distProblem(root) !== '') {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/main.ts', import.meta.url).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
