/**
 * BBR, as ccp-project/bbr (spec algorithms.md §3): PROBE_BW runs the pacing-gain cycle
 * (1.25, 0.75, then 1 for six min RTTs) inside the datapath and reports three times per cycle;
 * PROBE_RTT holds 4 packets in flight for max(200 ms, 1 RTT) whenever the minimum RTT has not
 * improved for `probe_rtt_interval`; the cwnd cap is 2 × bottleneck rate × min RTT. Departures
 * (docs/algorithms.md): a STARTUP/DRAIN phase in place of the one-shot init program, and a
 * windowed max filter for the bottleneck rate in place of the flow-lifetime maximum.
 * @module
 */
import type { Algorithm, DatapathHandle, DatapathInfo, Flow, Report } from '../agent/index.ts';
import { boolParam, checkParams, rangeParam, type Params } from './params.ts';

/** The original one-shot start: report the first RTT's rate and minimum RTT (`startup=false`). */
export const BBR_INIT_PROG = `(def (Report
    (volatile loss 0)
    (minrtt +infinity)
    (volatile rate 0)
    (pulseState 0)
))
(when true
    (:= Report.loss (+ Report.loss Ack.lost_pkts_sample))
    (:= Report.minrtt (min Report.minrtt Flow.rtt_sample_us))
    (:= Report.rate (max Report.rate (min Flow.rate_outgoing Flow.rate_incoming)))
    (:= Report.pulseState 5)
    (fallthrough)
)
(when (> Micros Report.minrtt)
    (report)
    (:= Micros 0)
)`;

/** STARTUP and DRAIN (a departure): acked bytes, min RTT, max delivery rate, inflight; per RTT. */
export const BBR_STARTUP_PROG = `(def (Report
    (volatile acked 0)
    (volatile loss 0)
    (volatile minrtt +infinity)
    (volatile rate 0)
    (volatile inflight 0)
))
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.loss (+ Report.loss Ack.lost_pkts_sample))
    (:= Report.minrtt (min Report.minrtt Flow.rtt_sample_us))
    (:= Report.rate (max Report.rate (min Flow.rate_outgoing Flow.rate_incoming)))
    (:= Report.inflight Flow.packets_in_flight)
    (fallthrough)
)
(when (> Micros Flow.rtt_sample_us)
    (report)
    (:= Micros 0)
)`;

/** PROBE_BW: the gain cycle runs in the datapath, one report per phase change. */
export const BBR_PROBE_BW_PROG = `(def
    (Report
        (volatile loss 0)
        (volatile minrtt +infinity)
        (volatile rate 0)
        (pulseState 0)
    )
    (pulseState 0)
    (cwndCap 0)
    (bottleRate 0)
    (threeFourthsRate 0)
    (fiveFourthsRate 0)
)
(when true
    (:= Report.loss (+ Report.loss Ack.lost_pkts_sample))
    (:= Report.minrtt (min Report.minrtt Flow.rtt_sample_us))
    (:= Report.rate (max Report.rate (min Flow.rate_outgoing Flow.rate_incoming)))
    (:= Report.pulseState pulseState)
    (fallthrough)
)
(when (&& (> Micros Report.minrtt) (== pulseState 0))
    (:= Rate threeFourthsRate)
    (:= pulseState 1)
    (report)
)
(when (&& (> Micros (* 2 Report.minrtt)) (== pulseState 1))
    (:= Rate bottleRate)
    (:= pulseState 2)
    (report)
)
(when (&& (> Micros (* 8 Report.minrtt)) (== pulseState 2))
    (:= pulseState 0)
    (:= Cwnd cwndCap)
    (:= Rate fiveFourthsRate)
    (:= Micros 0)
    (report)
)`;

/** PROBE_RTT: once inflight ≤ 4 packets, hold it for max(200 ms, 1 RTT), then report. */
export const BBR_PROBE_RTT_PROG = `(def
    (Report (volatile minrtt +infinity))
    (volatile reached 0)
)
(when true
    (:= Report.minrtt (min Report.minrtt Flow.rtt_sample_us))
    (fallthrough)
)
(when (&& (== reached 0) (< Flow.packets_in_flight 5))
    (:= reached 1)
    (:= Micros 0)
)
(when (&& (== reached 1) (&& (> Micros Flow.rtt_sample_us) (> Micros 200000)))
    (:= Micros 0)
    (report)
)`;

/** BBR's configuration (`--param` names in brackets). */
export interface BbrConfig {
  /** Seconds without a lower min RTT before PROBE_RTT [probe_rtt_interval, default 10]. */
  probeRttIntervalS: number;
  /** STARTUP/DRAIN before PROBE_BW; false = the original one-shot init program [startup, default true]. */
  startup: boolean;
  /** Bottleneck-rate filter window in min RTTs; 0 = max over the flow's lifetime, as the original [bw_window_rtts, default 10]. */
  bwWindowRtts: number;
}

/** Parameter names `bbr` accepts. */
export const BBR_PARAMS = ['probe_rtt_interval', 'startup', 'bw_window_rtts'] as const;

/** Parse BBR parameters. */
export function bbrConfig(params: Params): BbrConfig {
  checkParams('bbr', params, BBR_PARAMS);
  return {
    probeRttIntervalS: rangeParam('bbr', params, 'probe_rtt_interval', 10, 0, 3600, true),
    startup: params.startup === undefined ? true : boolParam('bbr', params, 'startup'),
    bwWindowRtts: rangeParam('bbr', params, 'bw_window_rtts', 10, 0, 1e6),
  };
}

/** Linux BBR's high gain, 2/ln 2. */
const HIGH_GAIN = 2 / Math.LN2;
const NO_SAMPLE = 0xffffffff;

/** BBR's modes. */
export type BbrMode = 'STARTUP' | 'DRAIN' | 'PROBE_BW' | 'PROBE_RTT';

/** BBR's per-flow state (exported for tests). Rates in bytes/s, times in µs. */
export class BbrFlow implements Flow {
  mode: BbrMode;
  /** Bottleneck rate estimate (the filter's value). */
  bottleRate = 125_000;
  minRtt = 1_000_000;
  /** Agent time at which PROBE_RTT is due unless the min RTT improves. */
  minRttTimeout: number;
  /** Number of PROBE_RTT phases entered so far. */
  probeRtts = 0;
  private init = true;
  private cwnd: number;
  private fullBw = 0;
  private fullBwCount = 0;
  /** Rate samples of the window filter: agent times and values (oldest first). */
  private readonly bwT: number[] = [];
  private readonly bwV: number[] = [];
  private lifetimeMax = 0;
  private readonly mss: number;

  constructor(
    private readonly dp: DatapathHandle,
    info: DatapathInfo,
    private readonly cfg: BbrConfig,
  ) {
    this.mss = info.mss;
    this.cwnd = info.initCwnd;
    this.minRttTimeout = dp.now() + cfg.probeRttIntervalS * 1e6;
    if (cfg.startup) {
      this.mode = 'STARTUP';
      dp.setProgram('startup', { Cwnd: this.cwnd });
    } else {
      this.mode = 'PROBE_BW';
      dp.setProgram('init_program', { Cwnd: this.cwnd });
    }
  }

  onReport(r: Report): void {
    const name = r.programName();
    if (name === 'probe_rtt') {
      if (this.mode === 'PROBE_RTT') this.leaveProbeRtt(r);
      return;
    }
    if (name === 'startup') this.onStartupReport(r);
    else if (name === 'probe_bw' || name === 'init_program') this.onProbeBwReport(r);
  }

  /** Linux-like STARTUP (gain 2/ln 2 until the rate stops growing 25 % in 3 rounds), then DRAIN. */
  private onStartupReport(r: Report): void {
    if (this.mode !== 'STARTUP' && this.mode !== 'DRAIN') return;
    const now = this.dp.now();
    this.observeMinRtt(r.minrtt, now);
    const bw = this.filterRate(r.rate, now);
    if (bw <= 0 || this.minRtt >= NO_SAMPLE) return;
    const bdp = (bw * this.minRtt) / 1e6;
    if (this.mode === 'STARTUP') {
      if (bw >= this.fullBw * 1.25) {
        this.fullBw = bw;
        this.fullBwCount = 0;
      } else if (++this.fullBwCount >= 3) {
        this.mode = 'DRAIN';
      }
    }
    if (this.mode === 'STARTUP') {
      const target = HIGH_GAIN * bdp;
      if (this.cwnd < target) this.cwnd = Math.min(this.cwnd + r.acked, target);
      this.dp.updateFields({ Cwnd: this.capped(this.cwnd), Rate: Math.floor(HIGH_GAIN * bw) });
      return;
    }
    // DRAIN: pace below the bottleneck until the queue made in STARTUP is gone
    if (r.inflight * this.mss <= bdp) {
      this.enterProbeBw();
      return;
    }
    this.dp.updateFields({ Cwnd: this.capped(HIGH_GAIN * bdp), Rate: Math.floor(bw / HIGH_GAIN) });
  }

  /** §3.3, a report in PROBE_BW (or from the original init program). */
  private onProbeBwReport(r: Report): void {
    if (this.mode !== 'PROBE_BW') return;
    const now = this.dp.now();
    if (this.observeMinRtt(r.minrtt, now) && !this.init) {
      this.dp.updateField('cwndCap', this.cwndCap());
    }
    if (now > this.minRttTimeout) {
      this.mode = 'PROBE_RTT';
      this.probeRtts++;
      this.minRtt = 0x7fffffff;
      this.dp.setProgram('probe_rtt', { Cwnd: 4 * this.mss });
      return;
    }
    const before = this.bottleRate;
    this.filterRate(r.rate, now);
    if (this.bottleRate !== before && !this.init) this.dp.updateFields(this.rateFields());
    if (this.init) this.enterProbeBw();
  }

  private leaveProbeRtt(r: Report): void {
    const now = this.dp.now();
    if (r.minrtt > 0 && r.minrtt < NO_SAMPLE) this.minRtt = r.minrtt;
    this.minRttTimeout = now + this.cfg.probeRttIntervalS * 1e6;
    this.enterProbeBw();
  }

  private enterProbeBw(): void {
    this.mode = 'PROBE_BW';
    this.init = false;
    const f = this.rateFields();
    this.dp.setProgram('probe_bw', { ...f, Cwnd: f.cwndCap, Rate: f.fiveFourthsRate });
  }

  /** A lower min RTT than known: take it and push the PROBE_RTT deadline. True if it changed. */
  private observeMinRtt(minrtt: number, now: number): boolean {
    if (minrtt > 0 && minrtt < NO_SAMPLE && minrtt < this.minRtt) {
      this.minRtt = minrtt;
      this.minRttTimeout = now + this.cfg.probeRttIntervalS * 1e6;
      return true;
    }
    return false;
  }

  /** Add a rate sample to the max filter; returns (and stores) the filter's value. */
  private filterRate(rate: number, now: number): number {
    if (this.cfg.bwWindowRtts === 0) {
      // the original: maximum over the flow's lifetime, starting from 1 Mbit/s
      if (rate > this.bottleRate) this.bottleRate = rate;
      return this.bottleRate;
    }
    if (rate > 0 && rate < NO_SAMPLE) {
      this.bwT.push(now);
      this.bwV.push(rate);
      if (rate > this.lifetimeMax) this.lifetimeMax = rate;
    }
    const horizon = now - this.cfg.bwWindowRtts * Math.min(this.minRtt, 1_000_000);
    // keep at least the newest sample
    while (this.bwT.length > 1 && this.bwT[0]! < horizon) {
      this.bwT.shift();
      this.bwV.shift();
    }
    let m = 0;
    for (const v of this.bwV) if (v > m) m = v;
    if (m > 0) this.bottleRate = m;
    return this.bottleRate;
  }

  private cwndCap(): number {
    return this.capped((2 * this.bottleRate * this.minRtt) / 1e6);
  }

  private capped(bytes: number): number {
    return Math.max(4 * this.mss, Math.floor(bytes));
  }

  private rateFields(): {
    cwndCap: number;
    bottleRate: number;
    threeFourthsRate: number;
    fiveFourthsRate: number;
  } {
    const b = this.bottleRate;
    return {
      cwndCap: this.cwndCap(),
      bottleRate: Math.floor(b),
      threeFourthsRate: Math.floor(b * 0.75),
      fiveFourthsRate: Math.floor(b * 1.25),
    };
  }
}

/**
 * BBR (ccp-project's simplified BBR v1). Parameters: `probe_rtt_interval` (s, default 10),
 * `startup` (default true), `bw_window_rtts` (min RTTs, default 10; 0 = lifetime max).
 */
export function bbr(params: Params = {}): Algorithm {
  const cfg = bbrConfig(params);
  const programs: Record<string, string> = {
    probe_bw: BBR_PROBE_BW_PROG,
    probe_rtt: BBR_PROBE_RTT_PROG,
  };
  if (cfg.startup) programs.startup = BBR_STARTUP_PROG;
  else programs.init_program = BBR_INIT_PROG;
  return {
    name: 'bbr',
    datapathPrograms: () => ({ ...programs }),
    newFlow: (dp: DatapathHandle, info: DatapathInfo): Flow => new BbrFlow(dp, info, cfg),
  };
}
