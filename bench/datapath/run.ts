/**
 * Benchmark: nanoseconds per `invoke` of the datapath machine for an AIMD-style and a Cubic-style
 * program, against a baseline measured in the same run (the same loop filling the primitives and
 * calling a no-op function). Target: under 1 µs per invoke.
 *
 * Also prints heap growth per invoke over a short run (≈ 0 B when nothing is allocated; meaningful
 * with --expose-gc) and the number of garbage collections during the timed loop.
 *
 * Each (program, engine) pair is measured in a fresh child process (clean JIT state), and once
 * more all in one process, as a simulator running several algorithms would.
 *
 *   node --expose-gc --import tsx bench/datapath/run.ts [--iterations N]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { compile } from '../../src/lang/index.ts';
import { encodeChangeProg, encodeInstall } from '../../src/wire/index.ts';
import { createDatapath, type Connection } from '../../src/datapath/index.ts';
import { AIMD_PROGRAM, CUBIC_PROGRAM } from './programs.ts';

const argIdx = process.argv.indexOf('--iterations');
const N = argIdx > 0 ? Number(process.argv[argIdx + 1]) : 2_000_000;

interface Setup {
  invoke: () => number;
  conn: Connection;
  clock: { t: number };
  stats: { reports: number; cwnd: number };
}

type Engine = 'compiled' | 'interpreted';

function setup(source: string, engine: Engine = 'compiled'): Setup {
  const prog = compile(source, { uid: 1 });
  const clock = { t: 1000 };
  const stats = { reports: 0, cwnd: 0 };
  const dp = createDatapath({
    engine,
    now: () => clock.t,
    send: (m) => {
      if (m[0] === 1) stats.reports++;
      return 0;
    },
    setCwnd: (c, v) => {
      c.prims.sndCwnd = v;
      stats.cwnd = v;
    },
    setRate: () => {},
  });
  dp.init();
  if (dp.receive(encodeInstall(1, prog.events, prog.instructions)) !== 0) throw new Error('install failed');
  const conn = dp.startConnection({
    initCwnd: 14480,
    mss: 1448,
    srcIp: 0,
    srcPort: 0,
    dstIp: 0,
    dstPort: 0,
    congAlg: '',
  })!;
  dp.receive(encodeChangeProg(conn.sid, 1, []));
  conn.prims.sndCwnd = 14480;
  return { invoke: () => dp.invoke(conn), conn, clock, stats };
}

/** One ACK's primitives, as a datapath would fill them. */
function fill(conn: Connection, clock: { t: number }, i: number): void {
  clock.t += 10;
  const p = conn.prims;
  p.bytesAcked = 1448;
  p.packetsAcked = 1;
  p.rttSampleUs = 10000 + (i & 7) * 100;
  p.lostPktsSample = (i & 4095) === 0 ? 1 : 0;
  p.packetsInFlight = p.sndCwnd / 1448;
  p.bytesInFlight = p.sndCwnd;
}

let gcCount = 0;
new PerformanceObserver((list) => (gcCount += list.getEntries().length)).observe({ entryTypes: ['gc'] });

/** Heap growth per invoke over 20k invocations (after warm-up). */
function heapPerInvoke(s: Setup): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  const n = 20_000;
  gc?.();
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) {
    fill(s.conn, s.clock, i);
    s.invoke();
  }
  const h1 = process.memoryUsage().heapUsed;
  return Math.max(0, h1 - h0) / n;
}

function measure(name: string, s: Setup): number {
  const { conn, clock } = s;
  const invoke = s.invoke;
  let bad = 0;
  for (let i = 0; i < 200_000; i++) {
    fill(conn, clock, i);
    if (invoke() !== 0) bad++;
  }
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    fill(conn, clock, i);
    if (invoke() !== 0) bad++;
  }
  const ns = Number(process.hrtime.bigint() - t0) / N;
  if (bad > 0) throw new Error(`${name}: ${bad} invocations failed`);
  return ns;
}

function baseline(): number {
  const s = setup(AIMD_PROGRAM);
  let sink = 0;
  const noop = (c: Connection): number => (c.prims.bytesAcked > 0 ? 0 : 1);
  const { conn, clock } = s;
  for (let i = 0; i < 200_000; i++) {
    fill(conn, clock, i);
    sink += noop(conn);
  }
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    fill(conn, clock, i);
    sink += noop(conn);
  }
  const ns = Number(process.hrtime.bigint() - t0) / N;
  if (sink !== 0) throw new Error('baseline sink');
  return ns;
}

const PROGRAMS = { aimd: AIMD_PROGRAM, cubic: CUBIC_PROGRAM } as const;
type Name = keyof typeof PROGRAMS;

interface Result {
  ns: number;
  heap: number;
  gcs: number;
  reports: number;
  cwnd: number;
}

function run(name: Name, engine: Engine): Result {
  const s = setup(PROGRAMS[name], engine);
  const g0 = gcCount;
  const ns = measure(name, s);
  const gcs = gcCount - g0;
  return { ns, gcs, heap: heapPerInvoke(s), reports: s.stats.reports, cwnd: s.stats.cwnd };
}

const fmt = (x: number): string => x.toFixed(1).padStart(8);

const onlyIdx = process.argv.indexOf('--only');
if (onlyIdx > 0) {
  const [name, engine] = process.argv[onlyIdx + 1]!.split(':') as [Name, Engine];
  console.log(JSON.stringify(run(name, engine)));
} else {
  const base = baseline();
  const rows: Array<[string, Result]> = [];
  for (const name of ['aimd', 'cubic'] as const) {
    for (const engine of ['compiled', 'interpreted'] as const) {
      const r = spawnSync(
        process.execPath,
        [
          ...process.execArgv,
          fileURLToPath(import.meta.url),
          '--iterations',
          String(N),
          '--only',
          `${name}:${engine}`,
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`child ${name}:${engine} failed: ${r.stderr}`);
      rows.push([
        `${name} ${engine} (own process)`,
        JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Result,
      ]);
    }
  }
  for (const name of ['aimd', 'cubic'] as const)
    rows.push([`${name} compiled (shared process)`, run(name, 'compiled')]);
  const b = Math.min(base, baseline());
  console.log(`datapath invoke benchmark (${N} invocations each, node ${process.version})`);
  console.log(`  baseline (fill prims + no-op call, same run): ${fmt(b)} ns`);
  for (const [label, r] of rows) {
    console.log(
      `  ${label.padEnd(34)} ${fmt(r.ns)} ns  ${(r.ns / b).toFixed(1).padStart(6)}x baseline  ` +
        `${((r.ns / 1000) * 100).toFixed(0).padStart(3)}% of the 1 µs target ${r.ns < 1000 ? 'OK  ' : 'OVER'}` +
        `  heap ${r.heap.toFixed(1)} B/invoke, ${r.gcs} GCs timed  (${r.reports} reports, final cwnd ${r.cwnd})`,
    );
  }
}
