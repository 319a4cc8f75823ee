/**
 * Sweep throughput: 100 cells of 60 s simulated (one Cubic flow at 48 Mbit/s, 50 ms RTT) run with
 * `--jobs 1` and `--jobs 2`; prints cells per minute and the ratio (target ≥ 1.8× on an idle
 * 2-core machine). Never fails on timing.
 *
 *   node --import tsx bench/sweep/run.ts            100 cells
 *   node --import tsx bench/sweep/run.ts 20         fewer cells (quicker look)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpec, runSweep } from '../../src/sweep/index.ts';

const cells = Number(process.argv[2] ?? 100);
// the seeds make 100 distinct cells (ids differ); without random loss each simulates the same run
const spec = parseSpec(
  JSON.stringify({
    name: 'bench',
    fixed: { duration: '60s', link: '48mbps', rtt: '50ms', buffer: '1bdp' },
    algorithms: ['cubic'],
    seeds: cells,
  }),
);

async function measure(jobs: number): Promise<number> {
  const out = mkdtempSync(join(tmpdir(), 'portus-bench-sweep-'));
  try {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let cellMs = 0;
    const r = await runSweep(spec, { out, jobs, onProgress: (p) => (cellMs += p.outcome.wallMs) });
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (r.failed > 0) throw new Error(`${r.failed} cells failed`);
    const perMin = (r.cells / s) * 60;
    // CPU time of the whole process (all threads): on a busy machine, whether the threads got the
    // cores is the machine's business; whether a cell costs more CPU in parallel is ours
    const cpuPerCell = (cpu.user + cpu.system) / 1e6 / r.cells;
    console.log(
      `--jobs ${jobs}: ${r.cells} cells in ${s.toFixed(1)} s = ${perMin.toFixed(1)} cells/minute ` +
        `(${cpuPerCell.toFixed(2)} s of CPU per cell, ${((cpu.user + cpu.system) / 1e6 / s).toFixed(2)} cores busy on average; ` +
        `threads inside a cell ${((cellMs / 1000 / (jobs * s)) * 100).toFixed(0)}% of the time)`,
    );
    return perMin;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

console.log(
  `${cells} cells of 60 s simulated, one cubic flow at 48 Mbit/s; ${availableParallelism()} cores, ` +
    `load average ${loadavg()[0]!.toFixed(1)} at start`,
);
const one = await measure(1);
const two = await measure(2);
console.log(
  `ratio --jobs 2 / --jobs 1: ${(two / one).toFixed(2)}× (target ≥ 1.8× on an idle 2-core machine)`,
);
console.log(`load average ${loadavg()[0]!.toFixed(1)} at end`);
