/**
 * Cold start of the `portus` command, as a ratio to bare `node -e 0` measured in the same run:
 * `portus --help`, `portus --version` and `portus compile` of one small program, each a fresh
 * process of the compiled CLI (dist/, built first if missing or older than src/). Runs are
 * interleaved (one of each command per round) so that load from other processes affects all of
 * them alike; the figure is the median wall time of each. Target (issue #10): ≤ 2× bare node. Never fails on timing.
 * It runs in the checkout, so the figures include bin/portus.js's stale-dist check (one stat per
 * file under src/, 3-6 ms of CPU), which an installed package (no src/) does not pay.
 *
 *   node --import tsx bench/cli/startup.ts [rounds]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const rounds = Number(process.argv[2] ?? 15);

// The bin says so on stderr when it runs the sources because dist/ is older than src/.
const stale = (): boolean =>
  /dist\/ is older than src\//.test(
    spawnSync(process.execPath, ['bin/portus.js', '--version'], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '' },
      encoding: 'utf8',
    }).stderr,
  );
if (!existsSync(`${root}/dist/cli/main.js`) || stale()) {
  const b = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}

// The compiled CLI, as an installed package runs it: without the tests' portus-source condition.
const env = { ...process.env, NODE_OPTIONS: '' };
const cases: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'portus --help': ['bin/portus.js', '--help'],
  'portus --version': ['bin/portus.js', '--version'],
  'portus compile aimd.ccp': ['bin/portus.js', 'compile', 'examples/programs/aimd.ccp'],
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));

function once(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return ms;
}

for (const args of Object.values(cases)) once(args); // warm the file cache
for (let i = 0; i < rounds; i++) for (const [k, args] of Object.entries(cases)) times[k].push(once(args));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(times['node -e 0']);
console.log(`cold start, median of ${rounds} interleaved runs (Node ${process.version})`);
for (const [k, xs] of Object.entries(times)) {
  const m = median(xs);
  console.log(`  ${k.padEnd(26)} ${m.toFixed(1).padStart(7)} ms  ${(m / base).toFixed(2)}× node -e 0`);
}
