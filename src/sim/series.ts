/**
 * The network's time series: per-flow and link values sampled every `sampleIntervalUs`, and the
 * counters remembered when the metrics window opens.
 * @module
 */
import { EV_SAMPLE } from './events.ts';
import type { FlowConfig } from './flow.ts';
import type { Network } from './network.ts';

/** Time series sampled every `sampleIntervalUs` (index k is time (k + 1) × interval). */
export interface TimeSeries {
  /** Sample times in seconds. */
  t: Float64Array;
  /** Per flow: congestion window in bytes. */
  cwnd: Float64Array[];
  /** Per flow: pacing rate in bit/s (0 = not paced). */
  rate: Float64Array[];
  /**
   * Per flow: the slow-start threshold as the simulator can see it — the window right after the
   * latest cut (what Reno and Cubic set ssthresh to); NaN before the first cut.
   */
  ssthresh: Float64Array[];
  /** Per flow: the rate the flow is sending at — its pacing rate if set, else cwnd / smoothed RTT, bit/s. */
  sendRate: Float64Array[];
  /** Per flow: goodput over the interval in bit/s (NaN before the flow starts and after it is done). */
  throughput: Float64Array[];
  /** Per flow: mean RTT sample in the interval, ms (NaN if none). */
  rtt: Float64Array[];
  /** Queue occupancy at the sample time, bytes. */
  queueBytes: Float64Array;
  /** Mean queueing delay of packets entering service in the interval, ms (NaN if none). */
  queueDelay: Float64Array;
  /** Link throughput over the interval in bit/s. */
  linkThroughput: Float64Array;
  /** Number of samples taken so far. */
  length: number;
}

/** Counters at the start of the metrics window (see {@link Network.markWindow}). */
export interface WindowMark {
  timeUs: number;
  linkBytes: number;
  tailDrops: number;
  randomDrops: number;
  ecnMarks: number;
  qdelaySamples: number;
  flows: {
    goodputBytes: number;
    sentPkts: number;
    retransPkts: number;
    droppedPkts: number;
    lostDetected: number;
    timeouts: number;
    rttSamples: number;
    qdelaySamples: number;
  }[];
}

/** Empty series with room for `n` samples of each of `flows`. */
export function createSeries(flows: FlowConfig[], n: number): TimeSeries {
  const per = (): Float64Array[] => flows.map(() => new Float64Array(n));
  return {
    t: new Float64Array(n),
    cwnd: per(),
    rate: per(),
    ssthresh: per(),
    sendRate: per(),
    throughput: per(),
    rtt: per(),
    queueBytes: new Float64Array(n),
    queueDelay: new Float64Array(n),
    linkThroughput: new Float64Array(n),
    length: 0,
  };
}

/** Take sample number `k` (EV_SAMPLE; it closes the interval ending now) and queue the next. */
export function takeSample(net: Network, k: number): void {
  const s = net.series;
  const idx = k - 1;
  if (idx >= s.t.length) return;
  const dt = net.cfg.sampleIntervalUs / 1e6;
  s.t[idx] = net.now / 1e6;
  for (let i = 0; i < net.flows.length; i++) {
    const f = net.flows[i]!;
    s.cwnd[i]![idx] = f.active ? f.cwndBytes : NaN;
    s.rate[i]![idx] = f.active ? f.rateBytesPerSec * 8 : NaN;
    s.ssthresh[i]![idx] = f.active ? f.lastCutTo : NaN;
    s.sendRate[i]![idx] = !f.active
      ? NaN
      : f.rateBytesPerSec > 0
        ? f.rateBytesPerSec * 8
        : f.srtt > 0
          ? (f.cwndBytes * 8e6) / f.srtt
          : NaN;
    // no value before the flow starts, nor after it stopped once its last packets are in
    s.throughput[i]![idx] = !f.started || (f.stopped && f.ivGoodput === 0) ? NaN : (f.ivGoodput * 8) / dt;
    s.rtt[i]![idx] = f.ivRttN > 0 ? f.ivRttSum / f.ivRttN / 1000 : NaN;
    f.ivGoodput = 0;
    f.ivRttSum = 0;
    f.ivRttN = 0;
  }
  const link = net.link;
  s.queueBytes[idx] = link.queueBytes;
  s.queueDelay[idx] = link.ivQdN > 0 ? link.ivQdSum / link.ivQdN / 1000 : NaN;
  s.linkThroughput[idx] = (link.ivLinkBytes * 8) / dt;
  link.ivQdSum = 0;
  link.ivQdN = 0;
  link.ivLinkBytes = 0;
  s.length = k;
  if (k < s.t.length) net.q.push((k + 1) * net.cfg.sampleIntervalUs, EV_SAMPLE, k + 1);
}
