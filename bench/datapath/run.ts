/**
 * Benchmark: nanoseconds per `invoke` of the datapath machine for an AIMD-style and a Cubic-style
 * program, against a baseline measured in the same run (the same loop filling the primitives and
 * calling a no-op function). Target: under 1 µs per invoke.
 *
 *   node --import tsx bench/datapath/run.ts [--iterations N]
 */
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

function setup(source: string): Setup {
  const prog = compile(source, { uid: 1 });
  const clock = { t: 1000 };
  const stats = { reports: 0, cwnd: 0 };
  const dp = createDatapath({
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

const base = baseline();
const aimd = setup(AIMD_PROGRAM);
const aimdNs = measure('aimd', aimd);
const cubic = setup(CUBIC_PROGRAM);
const cubicNs = measure('cubic', cubic);
const base2 = baseline();
const b = Math.min(base, base2);
const fmt = (x: number): string => x.toFixed(1).padStart(8);
console.log(`datapath invoke benchmark (${N} invocations each, node ${process.version})`);
console.log(`  baseline (fill prims + no-op call): ${fmt(b)} ns`);
for (const [name, ns, s] of [
  ['aimd ', aimdNs, aimd],
  ['cubic', cubicNs, cubic],
] as const) {
  console.log(
    `  ${name} invoke: ${fmt(ns)} ns   ${(ns / b).toFixed(1)}x baseline   ${((ns / 1000) * 100).toFixed(0)}% of the 1 µs target` +
      `   (${s.stats.reports} reports, final cwnd ${s.stats.cwnd})  ${ns < 1000 ? 'OK' : 'OVER TARGET'}`,
  );
}
