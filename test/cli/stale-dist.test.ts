// bin/portus.js picks dist/ or the sources: the real bin, copied into a temporary package whose
// dist/cli/main.js and src/cli/main.ts say which one ran, with modification times set by utimes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'portus-stale-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const HOUR_AGO = new Date(Date.now() - 3600_000);
const DAY_AGO = new Date(Date.now() - 86400_000);

/** A package laid out as a checkout (bin/, src/, dist/, package.json) under `dir`. */
function pkg(dir: string, parts: { src?: boolean; dist?: boolean }): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(join(repo, 'bin/portus.js'), join(dir, 'bin/portus.js'));
  copyFileSync(join(repo, 'package.json'), join(dir, 'package.json'));
  if (parts.dist === true) {
    mkdirSync(join(dir, 'dist/cli'), { recursive: true });
    writeFileSync(
      join(dir, 'dist/cli/main.js'),
      "export async function main(argv) { process.stdout.write('dist ' + argv.join(' ')); return 0; }\n",
    );
  }
  if (parts.src === true) {
    mkdirSync(join(dir, 'src/cli'), { recursive: true });
    writeFileSync(join(dir, 'src/index.ts'), 'export const x: number = 1;\n');
    writeFileSync(
      join(dir, 'src/cli/main.ts'),
      "export async function main(argv: string[]): Promise<number> {\n  process.stdout.write('src ' + argv.join(' '));\n  return 0;\n}\n",
    );
  }
  return dir;
}

/** Set the modification time of `path`. */
function touch(path: string, when: Date): void {
  utimesSync(path, when, when);
}

/** Run the copied bin as an installed command does (without the tests' portus-source condition). */
function portus(dir: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [join(dir, 'bin/portus.js'), '--version'], {
    cwd: dir,
    env: { ...process.env, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** A checkout: the tsx of this repository resolves from it. */
function checkout(name: string, parts: { src?: boolean; dist?: boolean }): string {
  const dir = pkg(join(tmp, name), parts);
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

test('a dist/ older than a file under src/ is not run: the sources run, with one line on stderr', () => {
  const dir = checkout('stale', { src: true, dist: true });
  touch(join(dir, 'src/index.ts'), DAY_AGO);
  touch(join(dir, 'dist/cli/main.js'), HOUR_AGO); // built an hour ago; src/cli/main.ts edited now
  const r = portus(dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'src --version');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0],
    /^portus: dist\/ is older than src\/ \(src\/cli\/main\.ts changed .*run `npm run build`$/,
  );
});

test('a dist/ newer than every file under src/ is run, silently', () => {
  const dir = checkout('fresh', { src: true, dist: true });
  touch(join(dir, 'src/index.ts'), DAY_AGO);
  touch(join(dir, 'src/cli/main.ts'), DAY_AGO);
  touch(join(dir, 'dist/cli/main.js'), HOUR_AGO);
  const r = portus(dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'dist --version');
  assert.equal(r.stderr, '');
});

test('without src/ (an installed package) dist/ is run without any check, whatever its age', () => {
  const dir = checkout('no-src', { dist: true });
  touch(join(dir, 'dist/cli/main.js'), DAY_AGO);
  const r = portus(dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'dist --version');
  assert.equal(r.stderr, '');
});

test('under node_modules dist/ is run even beside a newer src/ (no tree walk per start)', () => {
  const dir = pkg(join(tmp, 'app/node_modules/portus'), { src: true, dist: true });
  touch(join(dir, 'dist/cli/main.js'), DAY_AGO);
  const r = portus(dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'dist --version');
  assert.equal(r.stderr, '');
});

test('without dist/ the sources run, silently', () => {
  const dir = checkout('no-dist', { src: true });
  const r = portus(dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'src --version');
  assert.equal(r.stderr, '');
});
