/**
 * Compiler benchmark: microseconds per `compile()` of the example datapath programs (AIMD,
 * Reno/Cubic-style generic-cong-avoid, BBR-style with many fields), against the 20 µs target for
 * AIMD, and against a baseline measured in the same run: `JSON.parse` of a JSON document of the
 * same text (one string scan of the same length), which is about the least any parser can do.
 *
 * Run: `node --import tsx bench/compile/run.ts`
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compile } from '../../src/lang/index.ts';

/** Target for the AIMD program (issue 2). */
export const TARGET_US = 20;

/** One benchmarked program. */
export interface CompileBenchRow {
  name: string;
  chars: number;
  instructions: number;
  /** Median CPU µs per compile. */
  usPerCompile: number;
  /** Fastest batch, wall-clock µs per compile. */
  wallMinUs: number;
  /** Median CPU µs per JSON.parse of the same text. */
  usPerJsonParse: number;
}

/**
 * Median µs per call of `fn`, over `rounds` batches of `batch` calls after a warm-up. Time is the
 * process' CPU time (user + system), so that other processes on a busy machine do not count;
 * the minimum of the batches' wall-clock times is reported alongside.
 */
function timeUs(fn: () => unknown, batch = 2000, rounds = 15): { cpu: number; wallMin: number } {
  for (let i = 0; i < batch * 3; i++) fn();
  const samples: number[] = [];
  let wallMin = Infinity;
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    const wall = Number(process.hrtime.bigint() - t0) / 1000 / batch;
    const c = process.cpuUsage(c0);
    samples.push((c.user + c.system) / batch);
    wallMin = Math.min(wallMin, wall);
  }
  samples.sort((a, b) => a - b);
  return { cpu: samples[samples.length >> 1]!, wallMin };
}

const PROGRAMS: [string, string][] = [
  ['aimd', 'examples/programs/aimd.ccp'],
  ['reno/cubic (DatapathIntervalRTTProg)', 'examples/programs/reno.ccp'],
  ['bbr-style probe_bw', 'examples/programs/bbr.ccp'],
];

/** Measure every program; returns one row each. */
export function runCompileBench(): CompileBenchRow[] {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  return PROGRAMS.map(([name, file]) => {
    const source = readFileSync(root + file, 'utf8');
    const json = JSON.stringify(source);
    const instructions = compile(source).instructions.length;
    const c = timeUs(() => compile(source));
    const j = timeUs(() => JSON.parse(json), 20000);
    return {
      name,
      chars: source.length,
      instructions,
      usPerCompile: c.cpu,
      wallMinUs: c.wallMin,
      usPerJsonParse: j.cpu,
    };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = runCompileBench();
  console.log('compile() — CPU µs per compile (median of 15 batches of 2000; wall = fastest batch)\n');
  console.log(
    `${'program'.padEnd(38)} ${'chars'.padStart(5)} ${'instrs'.padStart(6)} ${'µs/compile'.padStart(10)} ${'wall µs'.padStart(8)} ${'vs 20µs'.padStart(8)} ${'JSON.parse µs'.padStart(13)} ${'ratio'.padStart(6)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(38)} ${String(r.chars).padStart(5)} ${String(r.instructions).padStart(6)} ${r.usPerCompile.toFixed(2).padStart(10)} ${r.wallMinUs.toFixed(2).padStart(8)} ${(r.usPerCompile / TARGET_US).toFixed(2).padStart(8)} ${r.usPerJsonParse.toFixed(3).padStart(13)} ${(r.usPerCompile / r.usPerJsonParse).toFixed(1).padStart(6)}`,
    );
  }
  const aimd = rows[0]!;
  console.log(
    `\nAIMD: ${aimd.usPerCompile.toFixed(2)} µs per compile = ${((aimd.usPerCompile / TARGET_US) * 100).toFixed(0)}% of the ${TARGET_US} µs target (${aimd.usPerCompile < TARGET_US ? 'met' : 'NOT met'}).`,
  );
  console.log('Baseline: JSON.parse of the same text as one JSON string, measured in this run.');
}
