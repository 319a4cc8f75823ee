/**
 * `npm run bench`: runs every benchmark, each in its own process (so one's JIT state and heap do not
 * colour another's), with `--expose-gc` for the heap-growth figures. Benchmarks print numbers and
 * ratios against baselines measured in the same run; they never fail on timing.
 *
 *   npm run bench                 all of them
 *   npm run bench -- compile sim  only those whose path contains one of the words
 *   npm run bench -- kernel       opt-in benchmarks (not in "all") run only when named like this
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHES = [
  'bench/compile/run.ts',
  'bench/wire/codec.ts',
  'bench/datapath/run.ts',
  'bench/ipc/dispatch.ts',
  'bench/ipc/run.ts',
  'bench/sim/run.ts',
  'bench/bpf/run.ts',
  'bench/cli/startup.ts',
  'bench/zoo/run.ts',
  'bench/sweep/run.ts',
  'bench/dashboard/run.ts',
];
/** Run only when a filter word names them: they boot a VM (bench/kernel, minutes). */
const OPT_IN = ['bench/kernel/three-way.ts'];

const filter = process.argv.slice(2);
const chosen =
  filter.length === 0 ? BENCHES : [...BENCHES, ...OPT_IN].filter((b) => filter.some((f) => b.includes(f)));
const root = fileURLToPath(new URL('..', import.meta.url));
let failed = 0;
for (const bench of chosen) {
  console.log(`\n=== ${bench}`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', bench], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.log(`(${bench} exited with ${r.status ?? r.signal})`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
