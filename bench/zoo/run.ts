/**
 * Fidelity of the zoo against ns-3 (issue 11): for BBR, Vegas and DCTCP, run ns-3's own
 * implementation (TcpBbr, TcpVegas, TcpDctcp with RED/ECN marking at K) on a dumbbell
 * (bench/ns3/zoo.cc, compiled here with g++ against Debian's libns3-dev 3.37 into a cache folder)
 * and `portus sim` with our built-in on the same scenario, and print throughput, queueing delay,
 * drops/marks and cwnd statistics side by side with their ratio (portus ÷ ns-3). Statistics cover
 * [warmup, duration]. Not a test: it never fails on the numbers.
 *
 *   node --import tsx bench/zoo/run.ts [bbr|vegas|dctcp ...] [--duration 20]
 * @module
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachInProcessAgent, Network, resolveScenario, type Scenario } from '../../src/sim/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(root, 'bench/ns3/zoo.cc');
const HEADER = join(root, 'bench/ns3/dumbbell.h');
const LIBS = ['core', 'network', 'internet', 'point-to-point', 'applications', 'traffic-control'];

interface Case {
  alg: 'bbr' | 'vegas' | 'dctcp';
  rateMbps: number;
  rttMs: number;
  bufferPkts: number;
  ecnK?: number;
  what: string;
}

const CASES: Case[] = [
  { alg: 'bbr', rateMbps: 48, rttMs: 50, bufferPkts: 800, what: '48 Mbit/s, 50 ms, 4 × BDP buffer' },
  { alg: 'vegas', rateMbps: 48, rttMs: 20, bufferPkts: 80, what: '48 Mbit/s, 20 ms, 1 × BDP buffer' },
  {
    alg: 'dctcp',
    rateMbps: 48,
    rttMs: 10,
    bufferPkts: 200,
    ecnK: 20,
    what: '48 Mbit/s, 10 ms, 200 packets, K = 20',
  },
];

interface Stats {
  goodputMbps: number;
  utilisation: number;
  qdelayMeanMs: number;
  qdelayP95Ms: number;
  queueMeanPkts: number;
  drops: number;
  marks: number;
  cwndMeanPkts: number;
  cwndP5Pkts: number;
  cwndP95Pkts: number;
}

/** Compile bench/ns3/zoo.cc once per source version; null if g++ or ns-3 is missing. */
function buildNs3(): string | null {
  const hash = createHash('sha256')
    .update(readFileSync(SRC))
    .update(readFileSync(HEADER))
    .digest('hex')
    .slice(0, 12);
  const dir = join(root, 'node_modules/.cache/portus-zoo-ns3', hash);
  const bin = join(dir, 'zoo');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const args = ['-std=c++17', '-O1', '-o', bin, SRC, ...LIBS.map((l) => `-lns3-${l}`)];
  const r = spawnSync('g++', args, { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(
      `cannot build the ns-3 program (apt-get install g++ ns3 libns3-dev):\n${r.stderr ?? r.error}`,
    );
    return null;
  }
  return bin;
}

function runNs3(bin: string, c: Case, duration: number, warmup: number): Stats {
  const args = [
    `--alg=${c.alg}`,
    `--rateMbps=${c.rateMbps}`,
    `--rttMs=${c.rttMs}`,
    `--bufferPkts=${c.bufferPkts}`,
    `--ecnK=${c.ecnK ?? 0}`,
    `--duration=${duration}`,
    `--warmup=${warmup}`,
  ];
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ns-3 ${c.alg} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Stats;
}

const pct = (sorted: ArrayLike<number>, q: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))]! : NaN;

function runPortus(c: Case, duration: number, warmup: number): Stats {
  const sc: Scenario = {
    link: `${c.rateMbps}mbps`,
    rtt: `${c.rttMs}ms`,
    buffer: `${c.bufferPkts}pkts`,
    duration: `${duration}s`,
    sampleInterval: '10ms',
    flows: [{ alg: c.alg }],
    ...(c.ecnK ? { ecnThreshold: `${c.ecnK}pkts` } : {}),
  };
  const rs = resolveScenario(sc);
  const net = new Network(rs.net);
  const link = attachInProcessAgent(net, rs.flows, rs.ipcDelayUs);
  net.runUntil(warmup * 1e6);
  const at = {
    bytes: net.linkBytes,
    good: net.flows[0]!.goodputBytes,
    drops: net.tailDrops,
    marks: net.ecnMarks,
  };
  const qd0 = net.qdelaySamples.length;
  net.runUntil(duration * 1e6);
  void link.close();
  const secs = duration - warmup;
  const qd = net.qdelaySamples.data.slice(qd0, net.qdelaySamples.length).sort();
  const s = net.series;
  const cw: number[] = [];
  const q: number[] = [];
  for (let k = 0; k < s.length; k++) {
    if (s.t[k]! <= warmup) continue;
    cw.push(s.cwnd[0]![k]! / 1500);
    q.push(s.queueBytes[k]! / 1500);
  }
  const cws = Float64Array.from(cw).sort();
  const mean = (xs: ArrayLike<number>): number => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
  return {
    goodputMbps: ((net.flows[0]!.goodputBytes - at.good) * 8) / secs / 1e6,
    utilisation: ((net.linkBytes - at.bytes) * 8) / secs / (c.rateMbps * 1e6),
    qdelayMeanMs: mean(qd) / 1000,
    qdelayP95Ms: pct(qd, 95) / 1000,
    queueMeanPkts: mean(q),
    drops: net.tailDrops - at.drops,
    marks: net.ecnMarks - at.marks,
    cwndMeanPkts: mean(cws),
    cwndP5Pkts: pct(cws, 5),
    cwndP95Pkts: pct(cws, 95),
  };
}

const ROWS: [keyof Stats, string][] = [
  ['goodputMbps', 'goodput, Mbit/s'],
  ['utilisation', 'utilisation (wire bytes)'],
  ['qdelayMeanMs', 'queueing delay mean, ms'],
  ['qdelayP95Ms', 'queueing delay p95, ms'],
  ['queueMeanPkts', 'queue mean, packets'],
  ['drops', 'drops'],
  ['marks', 'ECN marks'],
  ['cwndMeanPkts', 'cwnd mean, packets'],
  ['cwndP5Pkts', 'cwnd p5, packets'],
  ['cwndP95Pkts', 'cwnd p95, packets'],
];

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(Math.abs(x) >= 100 ? 1 : 3);
}

function main(): void {
  const argv = process.argv.slice(2);
  const di = argv.indexOf('--duration');
  const duration = di >= 0 ? Number(argv[di + 1]) : 20;
  const names = argv.filter((a, i) => !a.startsWith('--') && (di < 0 || i !== di + 1));
  const warmup = 5;
  const bin = buildNs3();
  if (bin === null) return;
  for (const c of CASES.filter((x) => names.length === 0 || names.includes(x.alg))) {
    const t0 = performance.now();
    const ns = runNs3(bin, c, duration, warmup);
    const t1 = performance.now();
    const po = runPortus(c, duration, warmup);
    const t2 = performance.now();
    console.log(`\n${c.alg}: ${c.what}; ${duration} s, statistics over ${warmup}–${duration} s`);
    console.log(
      `${'metric'.padEnd(28)}${'ns-3'.padStart(12)}${'portus sim'.padStart(12)}${'ratio'.padStart(9)}`,
    );
    for (const [k, label] of ROWS) {
      const a = ns[k];
      const b = po[k];
      const ratio = a === 0 ? (b === 0 ? '1' : '—') : (b / a).toFixed(2);
      console.log(`${label.padEnd(28)}${fmt(a).padStart(12)}${fmt(b).padStart(12)}${ratio.padStart(9)}`);
    }
    console.log(
      `wall time: ns-3 ${((t1 - t0) / 1000).toFixed(1)} s, portus sim ${((t2 - t1) / 1000).toFixed(1)} s`,
    );
  }
}

main();
