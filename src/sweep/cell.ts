/**
 * Running one cell: resolve its scenario and algorithms, simulate, and reduce the result to the
 * metrics of a results.csv row plus the cell's report files. Used by worker threads (local runs)
 * and by `portus worker` (queue runs) alike, so both produce the same bytes.
 * @module
 */
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Algorithm } from '../agent/index.ts';
// Algorithm files load exactly as `portus sim --alg FILE` loads them.
import { resolveAlgorithm } from '../algorithms/index.ts';
import {
  htmlReport,
  parseTrace,
  resolveScenario,
  runSimulation,
  toJson,
  type SimResult,
} from '../sim/index.ts';
import { isAlgorithmFile, type CellTask } from './spec.ts';

/** The numbers of one cell that go into results.csv (raw; results.ts formats them). */
export interface CellMetrics {
  /** Mean per-flow throughput of the algorithm under test, bit/s. */
  algThroughputBps: number;
  /** Mean p95 queueing delay of its flows, ms. */
  algQueueDelayP95Ms: number;
  /** Mean p95 RTT of its flows, ms. */
  algRttP95Ms: number;
  linkThroughputBps: number;
  utilisation: number;
  jain: number;
  queueDelayP50Ms: number;
  queueDelayP95Ms: number;
  queueDelayP99Ms: number;
  sentPkts: number;
  retransPkts: number;
  timeouts: number;
  tailDrops: number;
  randomDrops: number;
  ecnMarks: number;
  flows: number;
}

/** The outcome of one cell: metrics, or the reason it failed. */
export interface CellOutcome {
  id: string;
  status: 'ok' | 'failed';
  metrics?: CellMetrics;
  error?: string;
  /** Wall-clock time of the simulation, ms (not part of results.csv). */
  wallMs: number;
  /**
   * The cell's report files (report.html, summary.json): gzip-compressed, base64 (for the queue,
   * where they travel through Redis), or the plain text when `plainFiles` is true (local threads:
   * a string crosses to the main thread as a copy, so compressing would only cost CPU twice).
   */
  files: Record<string, string>;
  plainFiles?: boolean;
}

const mean = (xs: number[]): number => {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
};

/** Reduce a simulation result to the row metrics; `testFlows` are the algorithm under test's flows. */
export function cellMetrics(r: SimResult, testFlows: readonly number[]): CellMetrics {
  const s = r.summary;
  const mine = testFlows.map((i) => s.flows[i]).filter((f) => f !== undefined);
  return {
    algThroughputBps: mean(mine.map((f) => f.throughputBps)),
    algQueueDelayP95Ms: mean(mine.map((f) => f.queueDelayMs.p95)),
    algRttP95Ms: mean(mine.map((f) => f.rttMs.p95)),
    linkThroughputBps: s.linkThroughputBps,
    utilisation: s.utilisation,
    jain: s.jain,
    queueDelayP50Ms: s.queueDelayMs.p50,
    queueDelayP95Ms: s.queueDelayMs.p95,
    queueDelayP99Ms: s.queueDelayMs.p99,
    sentPkts: s.flows.reduce((a, f) => a + f.sentPkts, 0),
    retransPkts: s.flows.reduce((a, f) => a + f.retransPkts, 0),
    timeouts: s.flows.reduce((a, f) => a + f.timeouts, 0),
    tailDrops: s.tailDrops,
    randomDrops: s.randomDrops,
    ecnMarks: s.ecnMarks,
    flows: s.flows.length,
  };
}

async function algorithmsOf(task: CellTask, sc: ReturnType<typeof resolveScenario>): Promise<Algorithm[]> {
  const byKey = new Map<string, Algorithm>();
  for (const f of sc.flows) {
    const key = `${f.alg}\0${JSON.stringify(f.params)}`;
    let a = byKey.get(key);
    if (a === undefined) {
      const spec = isAlgorithmFile(f.alg) ? resolve(task.baseDir, f.alg) : f.alg;
      a = await resolveAlgorithm(spec, f.params);
      byKey.set(key, a);
    }
    f.alg = a.name;
  }
  const algs = [...byKey.values()];
  const names = algs.map((a) => a.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined)
    throw new Error(`one agent serves every flow: '${dup}' appears with different params`);
  return algs;
}

const gzipBase64 = (text: string): string => gzipSync(text).toString('base64');

/**
 * Run one cell. Never throws: a failure is an outcome with `status: 'failed'`. `plainFiles`: return
 * the report files uncompressed (local threads).
 */
export async function runCell(task: CellTask, o: { plainFiles?: boolean } = {}): Promise<CellOutcome> {
  const pack = o.plainFiles === true ? (text: string): string => text : gzipBase64;
  const t0 = performance.now();
  try {
    const trace =
      task.traceText === undefined ? undefined : parseTrace(task.traceText, String(task.scenario.trace));
    const sc = resolveScenario(structuredClone(task.scenario), trace);
    const algorithms = await algorithmsOf(task, sc);
    const r = await runSimulation(sc, { algorithms });
    return {
      id: task.id,
      status: 'ok',
      metrics: cellMetrics(r, task.testFlows),
      wallMs: performance.now() - t0,
      ...(o.plainFiles === true ? { plainFiles: true } : {}),
      files: {
        'report.html': pack(htmlReport(r)),
        'summary.json': pack(JSON.stringify(toJson(r), null, 2) + '\n'),
      },
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { id: task.id, status: 'failed', error: msg, wallMs: performance.now() - t0, files: {} };
  }
}
