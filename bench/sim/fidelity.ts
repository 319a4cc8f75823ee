/**
 * Fidelity and speed against ns-3: the same dumbbell scenarios run by ns-3 3.37 (bench/ns3/
 * fidelity.cc, TcpNewReno / TcpCubic, compiled here with g++ against Debian's libns3-dev into a
 * cache folder) and by `portus sim` twice — with the fidelity knobs off (the model before them)
 * and with the defaults (access link, delayed ACKs, headers, loss after the queue). Prints one
 * table, then simulated packets per wall second of each on the two-flow scenario and their ratio.
 *
 *   node --import tsx bench/sim/fidelity.ts [--quick]
 *
 * Needs g++ and libns3-dev (apt-get install g++ ns3 libns3-dev); without them only the portus
 * columns are printed. Numbers depend on machine load; the ratio is measured in the same run.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveScenario, runSimulation, type Scenario } from '../../src/sim/index.ts';

const root = resolve(import.meta.dirname, '..', '..');
const SRC = join(root, 'bench/ns3/fidelity.cc');
const LIBS = ['core', 'network', 'internet', 'point-to-point', 'applications', 'traffic-control'];

/** The measurements compared. */
interface Outcome {
  /** Tail drops at the bottleneck in the first `slowStartEnd` seconds. */
  slowStartDrops: number;
  /** Per-flow goodput over [warmup, end], Mbit/s. */
  goodputMbps: number[];
  /** Packets sent by all senders, and the wall time, for speed. */
  sentPkts: number;
  wallS: number;
}

/** One scenario of the table. */
interface Case {
  name: string;
  alg: 'reno' | 'cubic';
  flows: number;
  loss: number;
  durationS: number;
  warmupS: number;
}

const CASES: Case[] = [
  { name: 'slow start, 1 Reno', alg: 'reno', flows: 1, loss: 0, durationS: 10, warmupS: 3 },
  { name: 'slow start, 1 Cubic', alg: 'cubic', flows: 1, loss: 0, durationS: 10, warmupS: 3 },
  { name: '0.01% loss, 1 Reno', alg: 'reno', flows: 1, loss: 1e-4, durationS: 30, warmupS: 5 },
  { name: '0.01% loss, 1 Cubic', alg: 'cubic', flows: 1, loss: 1e-4, durationS: 30, warmupS: 5 },
  { name: 'steady, 2 Cubic', alg: 'cubic', flows: 2, loss: 0, durationS: 30, warmupS: 10 },
];

const LINK_MBPS = 48;
const RTT_MS = 50;
const BUFFER_PKTS = 200; // 1 BDP of 1500-byte packets
const SLOW_START_END_S = 3;

/** Compile fidelity.cc once per source version; null if g++ or ns-3 is missing. */
function ns3Binary(): string | null {
  const hash = createHash('sha256').update(readFileSync(SRC)).digest('hex').slice(0, 16);
  const dir = join(root, 'node_modules/.cache/portus-sim-ns3', hash);
  const bin = join(dir, 'fidelity');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('g++', ['-std=c++17', '-O2', '-o', bin, SRC, ...LIBS.map((l) => `-lns3-${l}`)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    console.error(`ns-3 program not built (apt-get install g++ ns3 libns3-dev):\n${r.stderr ?? r.error}`);
    return null;
  }
  return bin;
}

function runNs3(bin: string, c: Case): Outcome {
  const args = [
    `--alg=${c.alg === 'reno' ? 'newreno' : 'cubic'}`,
    `--flows=${c.flows}`,
    `--rateMbps=${LINK_MBPS}`,
    `--rttMs=${RTT_MS}`,
    `--bufferPkts=${BUFFER_PKTS}`,
    `--loss=${c.loss}`,
    `--duration=${c.durationS}`,
    `--warmup=${c.warmupS}`,
    `--slowStartEnd=${SLOW_START_END_S}`,
  ];
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ns-3 failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    flows: { windowGoodputBps: number }[];
    slowStartDrops: number;
    sentPkts: number;
    wallS: number;
  };
  return {
    slowStartDrops: j.slowStartDrops,
    goodputMbps: j.flows.map((f) => f.windowGoodputBps / 1e6),
    sentPkts: j.sentPkts,
    wallS: j.wallS,
  };
}

/** The knobs off: the model before them (no access link, ACK every packet, no headers, loss before the queue). */
const BEFORE: Partial<Scenario> = {
  access: 'none',
  delayedAck: 'off',
  headers: 0,
  lossPlacement: 'before-queue',
};

async function runPortus(c: Case, knobs: Partial<Scenario>): Promise<Outcome> {
  const sc = resolveScenario({
    link: `${LINK_MBPS}mbps`,
    rtt: `${RTT_MS}ms`,
    buffer: `${BUFFER_PKTS}pkts`,
    duration: `${c.durationS}s`,
    loss: c.loss,
    flows: [{ alg: c.alg, count: c.flows }],
    ...knobs,
  });
  let ssDrops = -1;
  let atWarmup: number[] = [];
  const r = await runSimulation(sc, {
    chunkUs: 100_000,
    onProgress(_f, net) {
      if (ssDrops < 0 && net.now >= SLOW_START_END_S * 1e6) ssDrops = net.tailDrops;
      if (atWarmup.length === 0 && net.now >= c.warmupS * 1e6)
        atWarmup = net.flows.map((f) => f.goodputBytes);
    },
  });
  return {
    slowStartDrops: ssDrops,
    goodputMbps: r.summary.flows.map(
      (f, i) => ((f.deliveredBytes - atWarmup[i]!) * 8) / (c.durationS - c.warmupS) / 1e6,
    ),
    sentPkts: r.summary.packets,
    wallS: r.wallMs / 1000,
  };
}

const fmt = (o: Outcome | null, what: 'drops' | 'goodput'): string => {
  if (o === null) return '-';
  if (what === 'drops') return String(o.slowStartDrops);
  return o.goodputMbps.map((g) => g.toFixed(1)).join(' + ');
};

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const cases = quick ? CASES.filter((c) => c.flows === 2) : CASES;
  const bin = ns3Binary();
  const rows: string[][] = [['scenario', 'metric', 'ns-3 3.37', 'portus before', 'portus now']];
  let speed: { ns3: Outcome | null; now: Outcome } | null = null;
  for (const c of cases) {
    const ns3 = bin === null ? null : runNs3(bin, c);
    const before = await runPortus(c, BEFORE);
    const now = await runPortus(c, {});
    const metric: 'drops' | 'goodput' = c.name.startsWith('slow start') ? 'drops' : 'goodput';
    rows.push([
      c.name,
      metric === 'drops' ? `drops in first ${SLOW_START_END_S} s` : 'goodput (Mbit/s)',
      fmt(ns3, metric),
      fmt(before, metric),
      fmt(now, metric),
    ]);
    if (metric === 'drops') {
      rows.push(['', 'goodput (Mbit/s)', fmt(ns3, 'goodput'), fmt(before, 'goodput'), fmt(now, 'goodput')]);
    }
    if (c.flows === 2) speed = { ns3, now };
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(
    `${LINK_MBPS} Mbit/s, ${RTT_MS} ms, ${BUFFER_PKTS}-packet buffer; goodput over [warmup, end]\n`,
  );
  for (const r of rows) console.log(r.map((v, i) => v.padEnd(widths[i]!)).join('  '));
  if (speed !== null) {
    const pps = (o: Outcome): number => o.sentPkts / o.wallS;
    console.log(`\nspeed (steady, 2 Cubic): portus ${Math.round(pps(speed.now))} packets/s`);
    if (speed.ns3 !== null) {
      console.log(
        `ns-3 ${Math.round(pps(speed.ns3))} packets/s; ratio ${(pps(speed.now) / pps(speed.ns3)).toFixed(1)}× (target ≥ 30×)`,
      );
    }
  }
}

await main();
