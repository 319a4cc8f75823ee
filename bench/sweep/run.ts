/**
 * Sweep throughput: 100 cells of 60 s simulated (one Cubic flow at 48 Mbit/s, 50 ms RTT) run with
 * `--jobs 1` and `--jobs 2`; prints cells per minute and the ratio (target ≥ 1.8× on an idle
 * 2-core machine). Never fails on timing.
 *
 * Wall-clock ratios mean little on a loaded machine, so each run also prints the CPU time per
 * cell (user + system of every thread of the process), split into the cells' threads (the
 * worker threads and their module loaders), V8's and libuv's helper threads (background
 * compilation, GC helpers) and the main thread; and, once, the bytes the JavaScript heap
 * allocates per simulated packet in one cell.
 *
 *   node --import tsx bench/sweep/run.ts            100 cells
 *   node --import tsx bench/sweep/run.ts 20         fewer cells (quicker look)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GCProfiler } from 'node:v8';
import { resolveScenario, runSimulation } from '../../src/sim/index.ts';
import { parseSpec, runSweep } from '../../src/sweep/index.ts';

const cells = Number(process.argv[2] ?? 100);
const FIXED = { duration: '60s', link: '48mbps', rtt: '50ms', buffer: '1bdp' };
// the seeds make 100 distinct cells (ids differ); without random loss each simulates the same run
const spec = parseSpec(JSON.stringify({ name: 'bench', fixed: FIXED, algorithms: ['cubic'], seeds: cells }));

/** CPU seconds of each thread of this process (Linux /proc; empty elsewhere). */
function threadCpu(): Map<string, number> {
  const m = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return m;
  }
  for (const tid of tids) {
    try {
      const s = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      m.set(tid, (Number(f[11]) + Number(f[12])) / 100); // utime + stime, in USER_HZ (100/s)
    } catch {
      // the thread ended between readdir and read
    }
  }
  return m;
}

interface Run {
  perMin: number;
  cpuPerCell: number;
}

async function measure(jobs: number): Promise<Run> {
  const out = mkdtempSync(join(tmpdir(), 'portus-bench-sweep-'));
  const before = threadCpu();
  // worker threads end with the pool: sample while it runs to keep their last figures
  const seen = new Map<string, number>();
  const sample = (): void => {
    for (const [tid, s] of threadCpu()) seen.set(tid, s);
  };
  const timer = setInterval(sample, 250);
  try {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let cellMs = 0;
    const r = await runSweep(spec, {
      out,
      jobs,
      onProgress: (p) => {
        cellMs += p.outcome.wallMs;
        sample();
      },
    });
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(timer);
    sample();
    if (r.failed > 0) throw new Error(`${r.failed} cells failed`);
    const perMin = (r.cells / s) * 60;
    // CPU time of the whole process (all threads): on a busy machine, whether the threads got the
    // cores is the machine's business; whether a cell costs more CPU in parallel is ours
    const total = (cpu.user + cpu.system) / 1e6;
    const cpuPerCell = total / r.cells;
    let main = 0;
    let cellThreads = 0;
    let helpers = 0;
    for (const [tid, v] of seen) {
      const d = v - (before.get(tid) ?? 0);
      if (tid === String(process.pid)) main += d;
      else if (before.has(tid)) helpers += d;
      else cellThreads += d;
    }
    const ms = (v: number): string => `${((v / r.cells) * 1000).toFixed(0)} ms`;
    console.log(
      `--jobs ${jobs}: ${r.cells} cells in ${s.toFixed(1)} s = ${perMin.toFixed(1)} cells/minute; ` +
        `CPU per cell ${cpuPerCell.toFixed(3)} s (${(total / s).toFixed(2)} cores busy on average; ` +
        `threads inside a cell ${((cellMs / 1000 / (jobs * s)) * 100).toFixed(0)}% of the time)`,
    );
    if (seen.size > 0)
      console.log(
        `    per cell: cell threads ${ms(cellThreads)}, V8/libuv helper threads ${ms(helpers)}, main thread ${ms(main)}`,
      );
    return { perMin, cpuPerCell };
  } finally {
    clearInterval(timer);
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * Bytes the JS heap allocates per simulated packet in one cell, after three warm-up cells (until V8
 * has optimised the stack, unoptimised code boxes every double it computes).
 */
async function allocationPerPacket(): Promise<number> {
  const sc = () => resolveScenario({ ...FIXED, flows: [{ alg: 'cubic' }] });
  for (let i = 0; i < 3; i++) await runSimulation(sc());
  const prof = new GCProfiler();
  const used0 = process.memoryUsage().heapUsed;
  prof.start();
  const r = await runSimulation(sc());
  const used1 = process.memoryUsage().heapUsed;
  const stats = prof.stop()?.statistics ?? [];
  // allocated = growth between collections + what each collection found allocated since the last
  let allocated = 0;
  let after = used0;
  for (const g of stats) {
    allocated += g.beforeGC.heapStatistics.usedHeapSize - after;
    after = g.afterGC.heapStatistics.usedHeapSize;
  }
  allocated += used1 - after;
  return allocated / r.summary.packets;
}

console.log(
  `${cells} cells of 60 s simulated, one cubic flow at 48 Mbit/s; ${availableParallelism()} cores, ` +
    `load average ${loadavg()[0]!.toFixed(1)} at start`,
);
const one = await measure(1);
const two = await measure(2);
console.log(
  `ratio --jobs 2 / --jobs 1: ${(two.perMin / one.perMin).toFixed(2)}× cells/minute (target ≥ 1.8× on an idle ` +
    `2-core machine); CPU per cell ${one.cpuPerCell.toFixed(3)} s → ${two.cpuPerCell.toFixed(3)} s ` +
    `(${((two.cpuPerCell / one.cpuPerCell - 1) * 100).toFixed(0)}% more with two cells at once)`,
);
console.log(
  `allocation in one cell: ${(await allocationPerPacket()).toFixed(1)} bytes of JS heap per simulated packet`,
);
console.log(`load average ${loadavg()[0]!.toFixed(1)} at end`);
