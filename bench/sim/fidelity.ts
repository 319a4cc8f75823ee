/**
 * Fidelity and speed against ns-3: the same dumbbell scenarios run by ns-3 3.37 (bench/ns3/
 * fidelity.cc, TcpNewReno / TcpCubic, compiled here with g++ against Debian's libns3-dev into a
 * cache folder) and by `portus sim` three times — with the fidelity knobs off (the model before
 * them), with the defaults (access link, delayed ACKs, headers, loss after the queue), and with
 * the defaults and Reno/Cubic reporting on every ACK (`per_ack`, how in-kernel Reno and Cubic
 * react, where CCP's default is one report per RTT). Prints one
 * table, then simulated packets per wall second of each on the two-flow scenario and their ratio.
 * Random-loss scenarios are run with `--seeds` seeds (default 3) on both sides, and print the
 * median and the range: with one loss every few seconds, one seed says little.
 *
 *   node --import tsx bench/sim/fidelity.ts [--quick] [--seeds N] [--kernel kernel.json]
 *
 * `--kernel` adds the kernel column from the JSON written by bench/sim/kernel-anchor.ts
 * (`--out kernel.json`; Linux TCP on the same scenarios, which needs root, so it runs apart).
 * Needs g++ and libns3-dev (apt-get install g++ ns3 libns3-dev); without them only the portus
 * columns are printed. Numbers depend on machine load; the ratio is measured in the same run.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveScenario, runSimulation, type Scenario } from '../../src/sim/index.ts';
import { spread } from './stats.ts';

const root = resolve(import.meta.dirname, '..', '..');
const SRC = join(root, 'bench/ns3/fidelity.cc');
const HEADER = join(root, 'bench/ns3/dumbbell.h');
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

/** One scenario of the table (names as in bench/sim/kernel-anchor.ts). */
interface Case {
  name: string;
  alg: 'reno' | 'cubic';
  /**
   * HyStart: ns-3's TcpCubic attribute (on unless false); ours `hystart=true` in the two "now"
   * columns only where true (the other Cubic rows were measured without it).
   */
  hystart?: boolean;
  /**
   * ns-3's TcpLinuxReno instead of TcpNewReno: Reno counting the segments each ACK covers, as
   * Linux does (NewReno counts ACKs, so delayed ACKs halve its growth). Kernel and portus
   * columns are those of the plain Reno scenario.
   */
  linuxReno?: boolean;
  flows: number;
  loss: number;
  durationS: number;
  warmupS: number;
}

const CASES: Case[] = [
  { name: 'slow start, 1 Reno', alg: 'reno', flows: 1, loss: 0, durationS: 10, warmupS: 3 },
  {
    name: 'slow start, 1 Reno, ns-3 TcpLinuxReno',
    alg: 'reno',
    linuxReno: true,
    flows: 1,
    loss: 0,
    durationS: 10,
    warmupS: 3,
  },
  { name: 'slow start, 1 Cubic', alg: 'cubic', hystart: true, flows: 1, loss: 0, durationS: 10, warmupS: 3 },
  {
    name: 'slow start, 1 Cubic, HyStart off',
    alg: 'cubic',
    hystart: false,
    flows: 1,
    loss: 0,
    durationS: 10,
    warmupS: 3,
  },
  { name: '0.01% loss, 1 Reno', alg: 'reno', flows: 1, loss: 1e-4, durationS: 30, warmupS: 5 },
  {
    name: '0.01% loss, 1 Reno, ns-3 TcpLinuxReno',
    alg: 'reno',
    linuxReno: true,
    flows: 1,
    loss: 1e-4,
    durationS: 30,
    warmupS: 5,
  },
  { name: '0.01% loss, 1 Cubic', alg: 'cubic', flows: 1, loss: 1e-4, durationS: 30, warmupS: 5 },
  { name: 'steady, 2 Cubic', alg: 'cubic', flows: 2, loss: 0, durationS: 30, warmupS: 10 },
];

const LINK_MBPS = 48;
const RTT_MS = 50;
const BUFFER_PKTS = 200; // 1 BDP of 1500-byte packets
const SLOW_START_END_S = 3;

/** Compile fidelity.cc once per source version; null if g++ or ns-3 is missing. */
function ns3Binary(): string | null {
  const hash = createHash('sha256')
    .update(readFileSync(SRC))
    .update(readFileSync(HEADER))
    .digest('hex')
    .slice(0, 16);
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

function runNs3(bin: string, c: Case, seed: number): Outcome {
  const args = [
    `--seed=${seed}`,
    `--hystart=${c.hystart === false ? 0 : 1}`,
    `--alg=${c.alg === 'cubic' ? 'cubic' : c.linuxReno === true ? 'linuxreno' : 'newreno'}`,
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

/** Reports on every ACK (generic-cong-avoid's `per_ack`), as in-kernel Reno and Cubic react. */
const PER_ACK = { per_ack: 'true' };

/** Our Cubic's opt-in HyStart, for the scenarios where ns-3 and Linux run theirs. */
const HYSTART = { hystart: 'true' };

async function runPortus(
  c: Case,
  knobs: Partial<Scenario>,
  seed: number,
  params: Record<string, string> = {},
): Promise<Outcome> {
  const sc = resolveScenario({
    seed,
    link: `${LINK_MBPS}mbps`,
    rtt: `${RTT_MS}ms`,
    buffer: `${BUFFER_PKTS}pkts`,
    duration: `${c.durationS}s`,
    loss: c.loss,
    flows: [{ alg: c.alg, count: c.flows, params }],
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

/** The figures of one column: drops, or each flow's goodput, over the runs (seeds). */
function fmt(
  runs: { slowStartDrops: number; goodputMbps: number[] }[] | null,
  what: 'drops' | 'goodput',
): string {
  if (runs === null || runs.length === 0) return '-';
  if (what === 'drops')
    return spread(
      runs.map((o) => o.slowStartDrops),
      0,
    );
  return runs[0]!.goodputMbps
    .map((_, i) =>
      spread(
        runs.map((o) => o.goodputMbps[i]!),
        1,
      ),
    )
    .join(' + ');
}

/** bench/sim/kernel-anchor.ts's JSON: runs per scenario name. */
function readKernel(
  file: string | undefined,
): Map<string, { slowStartDrops: number; goodputMbps: number[] }[]> | null {
  if (file === undefined) return null;
  const j = JSON.parse(readFileSync(file, 'utf8')) as {
    results: { case: { name: string }; runs: { slowStartDrops: number; goodputMbps: number[] }[] }[];
  };
  return new Map(j.results.map((r) => [r.case.name, r.runs]));
}

async function main(): Promise<void> {
  const { values: opts } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      seeds: { type: 'string', default: '3' },
      kernel: { type: 'string' },
    },
  });
  const cases = opts.quick ? CASES.filter((c) => c.flows === 2) : CASES;
  const kernel = readKernel(opts.kernel);
  const bin = ns3Binary();
  const head = [
    'scenario',
    'metric',
    'ns-3 3.37',
    ...(kernel ? ['Linux'] : []),
    'portus before',
    'portus now',
    'now, per_ack',
  ];
  const rows: string[][] = [head];
  let speed: { ns3: Outcome | null; now: Outcome } | null = null;
  for (const c of cases) {
    const seeds = c.loss > 0 ? Array.from({ length: Number(opts.seeds) }, (_, i) => i + 1) : [1];
    const ns3: Outcome[] | null = bin === null ? null : seeds.map((s) => runNs3(bin, c, s));
    const before: Outcome[] = [];
    const now: Outcome[] = [];
    const perAck: Outcome[] = [];
    for (const s of seeds) {
      if (c.linuxReno === true) break; // the same as the plain Reno row
      before.push(await runPortus(c, BEFORE, s));
      const hs = c.hystart === true ? HYSTART : {};
      now.push(await runPortus(c, {}, s, hs));
      perAck.push(await runPortus(c, {}, s, { ...PER_ACK, ...hs }));
    }
    const k = c.linuxReno === true ? null : (kernel?.get(c.name) ?? null);
    const cols = (what: 'drops' | 'goodput'): string[] => [
      fmt(ns3, what),
      ...(kernel ? [fmt(k, what)] : []),
      fmt(before, what),
      fmt(now, what),
      fmt(perAck, what),
    ];
    const metric: 'drops' | 'goodput' = c.name.startsWith('slow start') ? 'drops' : 'goodput';
    rows.push([
      c.name,
      metric === 'drops' ? `drops in first ${SLOW_START_END_S} s` : 'goodput (Mbit/s)',
      ...cols(metric),
    ]);
    if (metric === 'drops') rows.push(['', 'goodput (Mbit/s)', ...cols('goodput')]);
    if (c.flows === 2) speed = { ns3: ns3?.[0] ?? null, now: now[0]! };
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(
    `${LINK_MBPS} Mbit/s, ${RTT_MS} ms, ${BUFFER_PKTS}-packet buffer; goodput over [warmup, end]; ` +
      `random loss: median (min–max) over seeds 1–${opts.seeds}\n`,
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
