/**
 * Vegas, as ccp-project/vegas (spec algorithms.md §5): once per RTT, estimate the packets this
 * flow keeps queued, `cwnd · (rtt − base_rtt) / (rtt · MSS)`, and move the window by one MSS to
 * keep that between α and β packets. Departures (docs/algorithms.md): the per-RTT minimum RTT
 * instead of the latest sample, slow start with Linux's γ exit, Reno's reaction to loss and
 * timeouts, and a window floor of 2 MSS.
 * @module
 */
import type { Algorithm, DatapathHandle, DatapathInfo, Flow, Report } from '../agent/index.ts';
import { ErrorCodes, PortusError } from '../errors.ts';
import { boolParam, checkParams, rangeParam, type Params } from './params.ts';

/** The program: acked bytes, the latest and the minimum RTT, losses; reported once per RTT. */
export const VEGAS_PROG = `(def (Report
    (volatile acked 0)
    (volatile rtt 0)
    (volatile minrtt +infinity)
    (volatile loss 0)
    (volatile timeout false)
))
(when true
    (:= Report.acked (+ Report.acked Ack.bytes_acked))
    (:= Report.rtt Flow.rtt_sample_us)
    (:= Report.minrtt (min Report.minrtt Flow.rtt_sample_us))
    (:= Report.loss (+ Report.loss Ack.lost_pkts_sample))
    (:= Report.timeout Flow.was_timeout)
    (fallthrough)
)
(when (&& Report.timeout true)
    (report)
    (:= Micros 0)
)
(when (> Micros Flow.rtt_sample_us)
    (report)
    (:= Micros 0)
)`;

/** Vegas' configuration (`--param` names in brackets). */
export interface VegasConfig {
  /** Grow while fewer than this many packets are queued [alpha, default 2]. */
  alpha: number;
  /** Shrink while more than this many packets are queued [beta, default 4]. */
  beta: number;
  /** Leave slow start once more than this many packets are queued [gamma, default 1]. */
  gamma: number;
  /** Slow start at flow start and after a timeout [slow_start, default true]. */
  slowStart: boolean;
  /** Use the last RTT sample of the interval, as the original, instead of the minimum [last_rtt]. */
  lastRtt: boolean;
}

/** Parameter names `vegas` accepts. */
export const VEGAS_PARAMS = ['alpha', 'beta', 'gamma', 'slow_start', 'last_rtt'] as const;

/** Parse Vegas parameters. */
export function vegasConfig(params: Params): VegasConfig {
  checkParams('vegas', params, VEGAS_PARAMS);
  const cfg: VegasConfig = {
    alpha: rangeParam('vegas', params, 'alpha', 2, 0, 1e6),
    beta: rangeParam('vegas', params, 'beta', 4, 0, 1e6),
    gamma: rangeParam('vegas', params, 'gamma', 1, 0, 1e6),
    slowStart: params.slow_start === undefined ? true : boolParam('vegas', params, 'slow_start'),
    lastRtt: boolParam('vegas', params, 'last_rtt'),
  };
  if (cfg.beta <= cfg.alpha) {
    throw new PortusError(
      ErrorCodes.ALGORITHM,
      `vegas: beta (${cfg.beta}) must be above alpha (${cfg.alpha})`,
    );
  }
  return cfg;
}

/** Sentinel the datapath reports for "no sample" (+infinity is serialized as u32 max). */
const NO_SAMPLE = 0xffffffff;

/** Vegas' per-flow state (exported for tests). Windows in bytes, times in µs. */
export class VegasFlow implements Flow {
  cwnd: number;
  baseRtt = Infinity;
  ssthresh = Infinity;
  /** Packets this flow keeps queued, as last estimated. */
  inQueue = 0;
  private lastCut = -Infinity;
  private inEpisode = false;
  private readonly mss: number;
  private readonly initCwnd: number;

  constructor(
    private readonly dp: DatapathHandle,
    info: DatapathInfo,
    private readonly cfg: VegasConfig,
  ) {
    this.mss = info.mss;
    this.initCwnd = info.initCwnd;
    this.cwnd = info.initCwnd;
    if (!cfg.slowStart) this.ssthresh = 0;
    dp.setProgram('vegas', { Cwnd: this.cwnd });
  }

  onReport(r: Report): void {
    const mss = this.mss;
    const now = this.dp.now();
    if (r.timeout === 1) {
      // as Reno: remember half the window, restart from the initial window
      this.ssthresh = this.cfg.slowStart ? Math.max(this.cwnd / 2, 2 * mss) : 0;
      this.cwnd = this.initCwnd;
      this.lastCut = now;
      this.inEpisode = true;
      this.push();
      return;
    }
    const sample = this.cfg.lastRtt ? r.rtt : r.minrtt;
    if (sample <= 0 || sample >= NO_SAMPLE) return;
    const rtt = sample;
    if (r.minrtt > 0 && r.minrtt < NO_SAMPLE && r.minrtt < this.baseRtt) this.baseRtt = r.minrtt;
    if (rtt < this.baseRtt) this.baseRtt = rtt;
    // loss episodes as generic-cong-avoid's: a reduction opens one, the first report whose last
    // RTT sample is of a packet sent after the reduction closes it (its losses still belong to it)
    const mayCut = !this.inEpisode;
    if (this.inEpisode && r.rtt > 0 && now - r.rtt > this.lastCut) this.inEpisode = false;
    if (r.loss > 0) {
      // as Reno: halve once per loss episode
      if (mayCut) {
        this.cwnd = Math.max(this.cwnd / 2, 2 * mss);
        this.ssthresh = this.cwnd;
        this.lastCut = now;
        this.inEpisode = true;
        this.push();
      }
      return;
    }
    this.inQueue = (this.cwnd * (rtt - this.baseRtt)) / (rtt * mss);
    if (this.cwnd < this.ssthresh) {
      if (this.inQueue > this.cfg.gamma) {
        // Linux tcp_vegas: leave slow start at the window that would just fill the pipe, + 1
        const target = (this.cwnd * this.baseRtt) / rtt + mss;
        this.cwnd = Math.max(Math.min(this.cwnd, target), 2 * mss);
        this.ssthresh = this.cwnd;
      } else {
        this.cwnd += r.acked;
      }
    } else if (this.inQueue <= this.cfg.alpha) {
      this.cwnd += mss;
    } else if (this.inQueue >= this.cfg.beta) {
      this.cwnd = Math.max(this.cwnd - mss, 2 * mss);
    }
    this.push();
  }

  private push(): void {
    this.dp.updateField('Cwnd', Math.floor(this.cwnd));
  }
}

/**
 * TCP Vegas. Parameters: `alpha` (packets, default 2), `beta` (packets, default 4), `gamma`
 * (packets, default 1), `slow_start` (default true), `last_rtt` (default false).
 */
export function vegas(params: Params = {}): Algorithm {
  const cfg = vegasConfig(params);
  return {
    name: 'vegas',
    datapathPrograms: () => ({ vegas: VEGAS_PROG }),
    newFlow: (dp: DatapathHandle, info: DatapathInfo): Flow => new VegasFlow(dp, info, cfg),
  };
}
