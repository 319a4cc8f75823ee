// `npm run build`: compile src/ to dist/ (ES modules, .d.ts, source maps) with tsconfig.build.json.
// The sources import each other with `.ts` specifiers (they run directly under tsx and in tests);
// tsc's `rewriteRelativeImportExtensions` turns them into `.js` in the emitted JavaScript, but
// leaves declaration files alone (TypeScript issue #61037), so this script rewrites the relative
// specifiers of the emitted `.d.ts` files, copies the one plain-JavaScript source (the CLI's module
// hooks), and then verifies that no emitted file still refers to a `.ts` module.
// Last, it sets dist/cli/main.js's modification time to the moment the build started (before tsc
// read src/): bin/portus.js, in a checkout, runs the sources instead of a dist/ older than any file
// under src/, and a file saved while tsc ran counts as newer than the build.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');

/** Relative module specifiers in import/export/`import()`/triple-slash positions. */
const SPECIFIER =
  /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\/\/\/\s*<reference\s+path=)(['"])(\.\.?\/[^'"]*?)\.(m?)ts\2/g;

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

rmSync(DIST, { recursive: true, force: true });
const started = new Date();
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

copyFileSync(join(ROOT, 'src/algorithms/module-hooks.mjs'), join(DIST, 'algorithms/module-hooks.mjs'));

const files = walk(DIST);
let rewritten = 0;
for (const f of files.filter((f) => f.endsWith('.d.ts'))) {
  const text = readFileSync(f, 'utf8');
  const out = text.replace(SPECIFIER, (_m, pre, q, path, m) => `${pre}${q}${path}.${m}js${q}`);
  if (out !== text) {
    writeFileSync(f, out);
    rewritten++;
  }
}

const bad = [];
for (const f of files.filter((f) => /\.(m?js|d\.ts)$/.test(f))) {
  const text = readFileSync(f, 'utf8');
  for (const m of text.matchAll(SPECIFIER)) bad.push(`${relative(ROOT, f)}: ${m[0]}`);
}
if (bad.length > 0) {
  console.error(`build: ${bad.length} emitted import(s) still name a .ts module:\n${bad.join('\n')}`);
  process.exit(1);
}
utimesSync(join(DIST, 'cli/main.js'), started, started);
console.log(
  `build: ${files.length} files in dist/ (${rewritten} declaration files rewritten to .js imports)`,
);
