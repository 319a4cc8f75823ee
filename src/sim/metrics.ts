/**
 * Metrics of a finished (or running) simulation: per-flow and aggregate throughput, link
 * utilisation, queueing delay and RTT percentiles, loss, retransmissions, Jain's fairness index.
 * @module
 */
import type { Network } from './network.ts';
import { countOpportunities } from './trace.ts';

/** p50 / p95 / p99 (and mean, max) of a set of samples, in ms. */
export interface Percentiles {
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Metrics of one flow. */
export interface FlowSummary {
  flow: number;
  /** Algorithm name (or controller label). */
  alg: string;
  startS: number;
  /** When the flow stopped or finished, else the end of the run. */
  endS: number;
  /** Propagation (base) RTT configured for the flow, ms. */
  propRttMs: number;
  /** Exceptions thrown by the flow's algorithm code (a run only continues past them with keepGoing). */
  algorithmErrors: number;
  /** Completion time of a sized flow (s), null for bulk flows or unfinished ones. */
  fctS: number | null;
  /** Unique bytes delivered to the receiver. */
  deliveredBytes: number;
  /** Goodput over the flow's active period, bit/s. */
  throughputBps: number;
  /** RTT samples, ms. */
  rttMs: Percentiles & { min: number };
  /** Queueing delay of this flow's packets at the bottleneck, ms. */
  queueDelayMs: Percentiles;
  sentPkts: number;
  retransPkts: number;
  /** Packets of this flow dropped at the bottleneck (tail drop + random loss). */
  droppedPkts: number;
  /** Packets the sender declared lost (dup-ACK, time or timeout). */
  lostPkts: number;
  timeouts: number;
  /** droppedPkts / sentPkts. */
  lossRate: number;
  /** Final congestion window, bytes. */
  cwndBytes: number;
}

/** Per-algorithm aggregate (the throughput-vs-delay scatter uses these). */
export interface AlgorithmSummary {
  alg: string;
  flows: number;
  /** Mean per-flow throughput, bit/s. */
  throughputBps: number;
  /** Mean of the flows' p95 queueing delay, ms. */
  queueDelayP95Ms: number;
  /** Mean of the flows' p95 RTT, ms. */
  rttP95Ms: number;
}

/** Everything a run reports. */
export interface Summary {
  durationS: number;
  /**
   * The metrics window, s: every figure below covers [fromS, toS] (fromS > 0 with `warmup`).
   * Per-flow start/end are clipped to it.
   */
  window: { fromS: number; toS: number };
  /** Average bottleneck capacity over the run, bit/s. */
  capacityBps: number;
  /** Bytes that left the bottleneck × 8 / duration. */
  linkThroughputBps: number;
  /** linkThroughput / capacity, in [0, 1]. */
  utilisation: number;
  /** Jain's fairness index of the throughputs of the flows that ran. */
  jain: number;
  queueDelayMs: Percentiles;
  maxQueueBytes: number;
  bufferBytes: number;
  tailDrops: number;
  randomDrops: number;
  ecnMarks: number;
  flows: FlowSummary[];
  algorithms: AlgorithmSummary[];
  /** Simulator events processed. */
  events: number;
  /** Packets sent by all flows. */
  packets: number;
}

/** Jain's fairness index (Σx)² / (n·Σx²); 1 for equal shares, 1/n when one flow takes all. */
export function jainIndex(xs: ArrayLike<number>): number {
  let s = 0;
  let s2 = 0;
  const n = xs.length;
  if (n === 0) return 1;
  for (let i = 0; i < n; i++) {
    s += xs[i]!;
    s2 += xs[i]! * xs[i]!;
  }
  return s2 === 0 ? 1 : (s * s) / (n * s2);
}

/** Nearest-rank percentile of ascending `sorted` (q in [0, 100]); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.ceil((q / 100) * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!;
}

/** Percentiles of µs samples, reported in ms. */
export function percentilesMs(sortedUs: ArrayLike<number>): Percentiles {
  const n = sortedUs.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sortedUs[i]!;
  return {
    mean: n ? sum / n / 1000 : NaN,
    p50: percentile(sortedUs, 50) / 1000,
    p95: percentile(sortedUs, 95) / 1000,
    p99: percentile(sortedUs, 99) / 1000,
    max: n ? sortedUs[n - 1]! / 1000 : NaN,
  };
}

/** Compute the summary of a network at its current time. `algs[i]` names flow i's algorithm. */
export function summarize(net: Network, algs: readonly string[]): Summary {
  const cfg = net.cfg;
  const now = net.now;
  const w = net.window;
  const from = w?.timeUs ?? 0;
  const durS = now / 1e6;
  let capacityBps: number;
  const tr = cfg.link.trace;
  if (tr) capacityBps = durS > 0 ? (countOpportunities(tr, now / 1000) * 1500 * 8) / durS : 0;
  else capacityBps = cfg.link.rateBps ?? 0;
  // capacity only counts from the first flow start (and the window): before it the link cannot be used
  const first = Math.max(from, Math.min(...cfg.flows.map((f) => f.startUs), now));
  let usableS = (now - first) / 1e6;
  if (tr) {
    const opp = countOpportunities(tr, now / 1000) - (first > 0 ? countOpportunities(tr, first / 1000) : 0);
    capacityBps = usableS > 0 ? (opp * 1500 * 8) / usableS : 0;
  }
  if (usableS <= 0) usableS = durS;
  const linkThroughputBps = usableS > 0 ? ((net.linkBytes - (w?.linkBytes ?? 0)) * 8) / usableS : 0;
  const flows: FlowSummary[] = net.flows.map((f, i) => {
    const m = w?.flows[i];
    const started = Number.isNaN(f.startedUs) ? f.cfg.startUs : f.startedUs;
    const start = Math.max(from, started);
    const end = Math.max(start, Number.isNaN(f.stoppedUs) ? now : f.stoppedUs);
    const activeS = Math.max(0, (end - start) / 1e6);
    const rtts = f.rttSamples.sorted(m?.rttSamples ?? 0);
    const rp = percentilesMs(rtts);
    const goodput = f.goodputBytes - (m?.goodputBytes ?? 0);
    const sent = f.sentPkts - (m?.sentPkts ?? 0);
    const dropped = f.droppedPkts - (m?.droppedPkts ?? 0);
    return {
      flow: i,
      alg: algs[i] ?? '',
      startS: start / 1e6,
      endS: end / 1e6,
      propRttMs: f.cfg.rttUs / 1000,
      algorithmErrors: 0,
      fctS: Number.isNaN(f.finishedUs) ? null : (f.finishedUs - started) / 1e6,
      deliveredBytes: goodput,
      throughputBps: activeS > 0 ? (goodput * 8) / activeS : 0,
      rttMs: { ...rp, min: rtts.length ? rtts[0]! / 1000 : NaN },
      queueDelayMs: percentilesMs(f.qdelaySamples.sorted(m?.qdelaySamples ?? 0)),
      sentPkts: sent,
      retransPkts: f.retransPkts - (m?.retransPkts ?? 0),
      droppedPkts: dropped,
      lostPkts: f.lostDetected - (m?.lostDetected ?? 0),
      timeouts: f.timeouts - (m?.timeouts ?? 0),
      lossRate: sent ? dropped / sent : 0,
      cwndBytes: f.cwndBytes,
    };
  });
  const byAlg = new Map<string, FlowSummary[]>();
  for (const f of flows) {
    const l = byAlg.get(f.alg);
    if (l) l.push(f);
    else byAlg.set(f.alg, [f]);
  }
  const mean = (xs: number[]): number => {
    const v = xs.filter((x) => Number.isFinite(x));
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
  };
  const algorithms: AlgorithmSummary[] = [...byAlg].map(([alg, fs]) => ({
    alg,
    flows: fs.length,
    throughputBps: mean(fs.map((f) => f.throughputBps)),
    queueDelayP95Ms: mean(fs.map((f) => f.queueDelayMs.p95)),
    rttP95Ms: mean(fs.map((f) => f.rttMs.p95)),
  }));
  return {
    durationS: durS,
    window: { fromS: from / 1e6, toS: now / 1e6 },
    capacityBps,
    linkThroughputBps,
    utilisation: capacityBps > 0 ? linkThroughputBps / capacityBps : 0,
    // flows that never ran (start after the end) do not count towards fairness
    jain: jainIndex(flows.filter((f) => f.endS > f.startS).map((f) => f.throughputBps)),
    queueDelayMs: percentilesMs(net.qdelaySamples.sorted(w?.qdelaySamples ?? 0)),
    maxQueueBytes: net.maxQueue,
    bufferBytes: cfg.bufferBytes,
    tailDrops: net.tailDrops - (w?.tailDrops ?? 0),
    randomDrops: net.randomDrops - (w?.randomDrops ?? 0),
    ecnMarks: net.ecnMarks - (w?.ecnMarks ?? 0),
    flows,
    algorithms,
    events: net.eventsProcessed,
    packets: flows.reduce((a, f) => a + f.sentPkts, 0),
  };
}
